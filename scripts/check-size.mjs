/**
 * `npm run size` (part of `npm test`): what an app pays for weapp-auth, measured the way an app
 * bundles it. Each check bundles a tiny entry against the BUILT package (dist/*.mjs) with
 * esbuild, minifies it, gzips it (level 9) and compares the bytes to a budget; the
 * miniprogram_dist check gzips what `require('weapp-auth')` loads in a DevTools build (index.js
 * and the core chunk it requires). Prints a table; exits 1 when any budget is exceeded.
 *
 * Lower a budget for one run to see it fail: `node scripts/check-size.mjs --budget core=5000`.
 */
import * as esbuild from 'esbuild'
import * as fs from 'fs'
import * as path from 'path'
import * as zlib from 'zlib'
import { fileURLToPath } from 'url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const gzip = (bytes) => zlib.gzipSync(bytes, { level: 9 }).length

const checks = [
  { name: 'core', what: "import { createAuth } from 'weapp-auth'", budget: 7000, entry: "import { createAuth } from 'weapp-auth'\nconsole.log(createAuth)" },
  { name: 'open', what: "all of 'weapp-auth/open'", budget: 3000, entry: "import * as open from 'weapp-auth/open'\nconsole.log(open)" },
  { name: 'miniprogram', what: 'miniprogram_dist/index.js (+ the core.js it requires)', budget: 8000, files: ['miniprogram_dist/index.js', 'miniprogram_dist/core.js'] },
]

function parseBudgets(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--budget') continue
    const [name, value] = String(argv[++i] || '').split('=')
    if (!checks.some((c) => c.name === name) || !/^\d+$/.test(value || '')) {
      console.error(`--budget needs name=bytes with name one of ${checks.map((c) => c.name).join(', ')}; got "${argv[i]}".`)
      process.exit(2)
    }
    out[name] = Number(value)
  }
  return out
}

async function measure(check) {
  if (check.files) {
    const missing = check.files.filter((f) => !fs.existsSync(path.join(root, f)))
    if (missing.length) throw new Error(`${missing.join(', ')} missing: run \`npm run build\` first.`)
    const bytes = Buffer.concat(check.files.map((f) => fs.readFileSync(path.join(root, f))))
    return { min: bytes.length, gz: gzip(bytes) }
  }
  const result = await esbuild.build({
    stdin: { contents: check.entry, resolveDir: root, loader: 'js' },
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    target: 'es2015',
    logLevel: 'silent',
    // Resolve the package by its name and exports map, from the built files, as an app would.
    alias: { 'weapp-auth/open': path.join(root, 'dist/open.mjs'), 'weapp-auth': path.join(root, 'dist/index.mjs') },
    nodePaths: [path.join(root, 'node_modules')],
  })
  const bytes = result.outputFiles[0].contents
  return { min: bytes.length, gz: gzip(bytes) }
}

const overrides = parseBudgets(process.argv.slice(2))
const rows = []
let failed = false
for (const check of checks) {
  const budget = overrides[check.name] !== undefined ? overrides[check.name] : check.budget
  let m
  try {
    m = await measure(check)
  } catch (err) {
    console.error(`size check "${check.name}" could not bundle: ${err.message}`)
    process.exit(1)
  }
  const ok = m.gz <= budget
  if (!ok) failed = true
  rows.push([check.name, check.what, String(m.min), String(m.gz), String(budget), ok ? 'ok' : `OVER by ${m.gz - budget} B`])
}
const head = ['check', 'what', 'minified B', 'gzip B', 'budget B', 'result']
const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
const line = (r) => '| ' + r.map((c, i) => c.padEnd(width[i])).join(' | ') + ' |'
console.log(line(head))
console.log('|' + width.map((w) => '-'.repeat(w + 2)).join('|') + '|')
for (const r of rows) console.log(line(r))
if (failed) {
  console.error('\nsize check failed: a bundle is over its budget (esbuild --minify, gzip -9).')
  process.exit(1)
}
