/**
 * `npm run check:imports` (part of `npm test`): the layers' import rules, read by madge from the
 * TypeScript sources, type-only imports included.
 *
 * - No import circle in `src/` (the SDK) or in `server/src/` (weapp-auth-server).
 * - The core never imports `open/` (the open abilities), `components/` (the drop-in components,
 *   provideAuth, the guard), nor `testing/` (the fakes): only the entries that publish those reach
 *   them. `open/` never imports `components/` or `testing/`; `components/` never imports `testing/`.
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

const layer = (file) => (file.startsWith('open/') ? 'open' : file.startsWith('testing/') ? 'testing' : file.startsWith('components/') ? 'components' : 'core')
for (const [from, tos] of Object.entries(sdk)) {
  for (const to of tos) {
    const a = layer(from)
    const b = layer(to)
    if (a === 'core' && b !== 'core') problems.push(`the core imports ${b}/: ${from} → ${to}`)
    if (a === 'open' && (b === 'testing' || b === 'components')) problems.push(`open/ imports ${b}/: ${from} → ${to}`)
    if (a === 'components' && b === 'testing') problems.push(`components/ imports testing/: ${from} → ${to}`)
  }
}

if (problems.length > 0) {
  console.error(`import rules broken (${problems.length}):\n` + problems.map((p) => '  ' + p).join('\n'))
  process.exit(1)
}
console.log(`imports: no circle in src/ (${Object.keys(sdk).length} files) or server/src/; the core imports neither open/, components/ nor testing/; open/ imports no components/`)
