/**
 * `npm run prepare`: builds what the package publishes (`dist/` and `miniprogram_dist/`, through
 * `npm run build`) unless both are already newer than everything they are built from.
 *
 * npm runs `prepare` after `npm install` and `npm ci` in a checkout, when it installs the package
 * from git (`npm install github:owner/weapp-auth`, `git+file://…`: npm clones it, installs its
 * devDependencies, runs prepare, then packs `files`), and before `npm pack` / `npm publish`.
 * `npm test` goes through it as well, so a fresh clone in CI builds once (during `npm ci`), not a
 * second time in `npm test`; after a change to `src/` it builds again.
 *
 * Built from: src/, rollup.config.mjs, tsconfig.json, package.json and package-lock.json.
 * Up to date: every file package.json points at (main, module, types, exports, the `miniprogram`
 * folder's index.js) exists and is newer than the newest of those inputs (one build writes them
 * all; files a build no longer writes are not looked at).
 *
 *   node scripts/prepare.mjs            build if needed
 *   node scripts/prepare.mjs --force    build anyway
 *   node scripts/prepare.mjs --check    only say whether a build is needed (exit 1 if it is)
 *   --root DIR                          another checkout (tests)
 *
 * It writes to stderr only: `npm pack --json` runs prepare, and its stdout must stay JSON.
 */
import { spawnSync } from 'child_process'
import * as fs from 'fs'
import { createRequire } from 'module'
import * as path from 'path'
import { fileURLToPath } from 'url'

const args = process.argv.slice(2)
const at = args.indexOf('--root')
const root = at >= 0 ? path.resolve(args[at + 1]) : path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const INPUTS = ['src', 'rollup.config.mjs', 'tsconfig.json', 'package.json', 'package-lock.json']

/** Every file under `p` (or `p` itself), with its mtime. */
function files(p, out = []) {
  let stat
  try {
    stat = fs.statSync(p)
  } catch (_) {
    return out
  }
  if (!stat.isDirectory()) out.push({ file: p, mtime: stat.mtimeMs })
  else for (const name of fs.readdirSync(p)) files(path.join(p, name), out)
  return out
}

/** The files package.json says the package has. */
function declared(pkg) {
  const out = []
  const walk = (v) => {
    if (typeof v === 'string') out.push(v)
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k])
  }
  walk([pkg.main, pkg.module, pkg.types, pkg.exports])
  if (pkg.miniprogram) out.push(path.join(pkg.miniprogram, 'index.js'))
  return out.filter((f) => f !== './package.json').map((f) => path.join(root, f))
}

/** Why a build is needed, or null when dist/ and miniprogram_dist/ are up to date. */
function staleness() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const outputs = declared(pkg)
  const missing = outputs.find((f) => !fs.existsSync(f))
  if (missing) return `${path.relative(root, missing)} is missing`
  const built = outputs.reduce((all, f) => files(f, all), [])
  const oldest = built.reduce((a, b) => (b.mtime < a.mtime ? b : a))
  const inputs = INPUTS.reduce((all, p) => files(path.join(root, p), all), [])
  const newest = inputs.reduce((a, b) => (b.mtime > a.mtime ? b : a))
  return newest.mtime >= oldest.mtime ? `${path.relative(root, newest.file)} changed since the last build` : null
}

const why = args.includes('--force') ? 'asked to (--force)' : staleness()
if (!why) {
  console.error('weapp-auth: dist/ and miniprogram_dist/ are up to date; not building (--force builds anyway).')
  process.exit(0)
}
if (args.includes('--check')) {
  console.error(`weapp-auth: a build is needed: ${why}.`)
  process.exit(1)
}
try {
  createRequire(path.join(root, 'package.json')).resolve('rollup/package.json')
} catch (_) {
  // `npm install ./path/to/a/checkout` links the folder and runs prepare there, without its devDependencies.
  console.error(
    `weapp-auth: cannot build dist/ and miniprogram_dist/ (${why}): rollup, a development dependency, is not installed in ${root}. ` +
      'Run npm install there first, or install from git (npm install git+file://…), which installs them.',
  )
  process.exit(1)
}
console.error(`weapp-auth: building dist/ and miniprogram_dist/ (${why}).`)
const started = Date.now()
// Everything goes to stderr: `npm pack --json` runs prepare, and its stdout must stay JSON.
const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 2, 2], shell: process.platform === 'win32' })
if (r.status !== 0) process.exit(r.status === null ? 1 : r.status)
console.error(`weapp-auth: built in ${((Date.now() - started) / 1000).toFixed(1)} s.`)
