/**
 * `npm run check:imports` (part of `npm test`): the layers' import rules, read by madge from the
 * TypeScript sources, type-only imports included.
 *
 * The SDK's layers (src/), lowest first; a file imports its own folder and the layers below it,
 * never one beside or above it:
 *   0 base/        errors, the host interface (platform), abort, url, redact: what every layer uses
 *   1 net/         http (one request to the host), limiter, request types, hooks, token-origin trust
 *   1 platforms/   the host adapters and the detection
 *   2 core/        the auth instance, session, login, request wrapper and dispatch, token store,
 *                  config, events, session record and storage I/O
 *   3 core.ts      the `weapp-auth/core` entry (and any other entry file at the root but index.ts)
 *   3 storage/, jwt/   the `weapp-auth/storage` and `weapp-auth/jwt` entries
 *   4 open/        the open abilities (`weapp-auth/open`)
 *   5 components/  UI components
 *   6 index.ts     the `weapp-auth` entry
 *   6 testing/     the fakes (`weapp-auth/testing`)
 * A file in a folder not listed here fails the check until it is given a layer.
 *
 * So, in particular: no import circle in `src/` or in `server/src/` (weapp-auth-server); the core
 * (core/, net/, base/ and core.ts) never imports `open/`, `components/` or `testing/`; `open/`
 * never imports `components/` or `testing/`.
 *
 * Exits 1 with every broken rule named (file → file), 0 otherwise.
 */
import madge from 'madge'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const options = (tsConfig) => ({
  fileExtensions: ['ts'],
  tsConfig: path.join(root, tsConfig),
  detectiveOptions: { ts: { skipTypeImports: false }, es6: { skipTypeImports: false } },
})

const problems = []

async function graphOf(dir, tsConfig) {
  const result = await madge(path.join(root, dir), options(tsConfig))
  for (const circle of result.circular()) problems.push(`circle in ${dir}: ${[...circle, circle[0]].join(' → ')}`)
  return result.obj()
}

const sdk = await graphOf('src', 'tsconfig.json')
await graphOf('server/src', 'server/tsconfig.json')

/** The layer of a file (a path relative to src/): its folder, or the root file itself. */
const RANK = { base: 0, net: 1, platforms: 1, core: 2, 'core.ts': 3, storage: 3, jwt: 3, open: 4, components: 5, 'index.ts': 6, testing: 6 }
const layerOf = (file) => {
  const top = file.split('/')[0]
  return file.indexOf('/') < 0 && file !== 'index.ts' ? 'core.ts' : top
}
const named = (layer) => (layer.endsWith('.ts') ? layer : layer + '/')
for (const [from, tos] of Object.entries(sdk)) {
  const a = layerOf(from)
  if (RANK[a] === undefined) {
    problems.push(`${from} is in no layer: give src/${a}/ a rank in scripts/check-imports.mjs`)
    continue
  }
  for (const to of tos) {
    const b = layerOf(to)
    if (a === b || RANK[b] < RANK[a]) continue
    const where = RANK[b] === undefined ? 'a folder with no layer' : RANK[b] === RANK[a] ? 'a layer beside it' : 'a layer above it'
    problems.push(`${named(a)} imports ${named(b)}, ${where}: ${from} → ${to}`)
  }
}

if (problems.length > 0) {
  console.error(`import rules broken (${problems.length}):\n` + problems.map((p) => '  ' + p).join('\n'))
  process.exit(1)
}
console.log(`imports: no circle in src/ (${Object.keys(sdk).length} files) or server/src/; every src/ file imports only its own folder and the layers below it (base/ < net/, platforms/ < core/ < core.ts, storage/, jwt/ < open/ < components/ < index.ts, testing/)`)
