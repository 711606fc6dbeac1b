/**
 * Issue 7: what would be published. `npm test` builds first, so `npm pack --dry-run` sees the
 * real dist. The tarball holds only dist, miniprogram_dist, the READMEs, LICENSE and
 * package.json; the only runtime dependency allowed is tslib; `npm audit --omit=dev` is clean.
 */
import { spawnSync } from 'child_process'
import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'

const root = path.join(__dirname, '..')
const pkg = require('../package.json') as Record<string, unknown>

function npm(args: string[], timeoutMs: number) {
  const r = spawnSync('npm', args, { cwd: root, encoding: 'utf8', timeout: timeoutMs, env: Object.assign({}, process.env, { npm_config_update_notifier: 'false', npm_config_fund: 'false' }) })
  return { status: r.status, stdout: r.stdout || '', stderr: r.stderr || '', error: r.error as (Error & { code?: string }) | undefined }
}

const ALLOWED = [/^dist\//, /^miniprogram_dist\//, /^README(\.[A-Za-z-]+)?\.md$/, /^LICENSE$/, /^package\.json$/]

describe('npm pack', () => {
  const packed = npm(['pack', '--dry-run', '--json', '--ignore-scripts'], 60000)
  const files: string[] = packed.status === 0 ? (JSON.parse(packed.stdout)[0].files as Array<{ path: string }>).map((f) => f.path) : []

  test('the tarball holds only dist, miniprogram_dist, README files, LICENSE and package.json', () => {
    expect(packed.stderr.replace(/npm warn[^\n]*\n?/gi, '')).toBe('')
    expect(packed.status).toBe(0)
    expect(files.filter((f) => !ALLOWED.some((re) => re.test(f)))).toEqual([])
  })

  test('the entry points it declares are in it (run `npm run build` first when running jest alone)', () => {
    for (const f of [
      'package.json', 'LICENSE', 'README.md',
      'dist/index.cjs', 'dist/index.mjs', 'dist/index.d.ts', 'dist/core.mjs', 'dist/core.cjs',
      'dist/open.cjs', 'dist/open.mjs', 'dist/open/index.d.ts',
      'dist/storage.cjs', 'dist/storage.mjs', 'dist/storage/index.d.ts',
      'dist/jwt.cjs', 'dist/jwt.mjs', 'dist/jwt/index.d.ts',
      'dist/testing.cjs', 'dist/testing/index.d.ts',
      'miniprogram_dist/index.js', 'miniprogram_dist/core.js', 'miniprogram_dist/open.js', 'miniprogram_dist/storage.js', 'miniprogram_dist/jwt.js',
    ]) {
      expect(files).toContain(f)
    }
    expect(files.some((f) => /\.(ts|tsx)$/.test(f) && !/\.d\.ts$/.test(f))).toBe(false) // no sources, no tests
    expect(files.some((f) => /(^|\/)(test|bench|src|node_modules)\//.test(f))).toBe(false)
  })
})

describe('dependencies', () => {
  test('runtime dependencies are at most tslib', () => {
    expect(Object.keys((pkg.dependencies as object) || {}).filter((d) => d !== 'tslib')).toEqual([])
    for (const field of ['peerDependencies', 'optionalDependencies', 'bundleDependencies', 'bundledDependencies']) {
      expect(Object.keys((pkg[field] as object) || {})).toEqual([])
    }
  })

  test('npm audit --omit=dev reports nothing (skipped with a message when the audit service cannot be reached)', () => {
    const r = npm(['audit', '--omit=dev', '--json'], 90000)
    const out = r.stdout + '\n' + r.stderr + '\n' + (r.error ? String(r.error.code || r.error.message) : '')
    if (/ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ENETUNREACH/.test(out)) {
      console.warn('[package.test] npm audit skipped: the registry cannot be reached (' + (out.match(/ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ENETUNREACH/) || [''])[0] + ').')
      return
    }
    let report: { metadata?: { vulnerabilities?: Record<string, number> }; statusCode?: number; uri?: string; error?: { code?: string } }
    try {
      report = JSON.parse(r.stdout)
    } catch (_) {
      throw new Error('npm audit failed without a JSON report:\n' + out.slice(0, 2000))
    }
    // A registry or mirror without the audit API (npmmirror, some proxies) answers the bulk advisory
    // endpoint with 404/405/501: there is nothing to audit against, which is not a clean result either.
    const status = report.statusCode || Number(((report.error && report.error.code) || '').replace(/^E/, ''))
    if (!report.metadata && [404, 405, 501].indexOf(status) >= 0 && /advisories|audit/.test(String(report.uri || '') + JSON.stringify(report.error || ''))) {
      console.warn(`[package.test] npm audit skipped: the registry does not offer the audit API (HTTP ${status} from ${report.uri || 'the audit endpoint'}). Run \`npm audit --omit=dev\` against registry.npmjs.org before publishing.`)
      return
    }
    expect(report.metadata && report.metadata.vulnerabilities).toBeDefined()
    expect(report.metadata!.vulnerabilities).toMatchObject({ total: 0 })
    expect(r.status).toBe(0)
  })
})

describe('installing from git: the prepare script builds what the package publishes', () => {
  const scripts = pkg.scripts as Record<string, string>
  const prepare = (dir: string, ...args: string[]) => spawnSync(process.execPath, [path.join(root, 'scripts', 'prepare.mjs'), '--root', dir, ...args], { encoding: 'utf8' })

  test('npm runs prepare when it installs from git (and on npm ci, npm pack); npm test builds through the same guard', () => {
    expect(scripts.prepare).toBe('node scripts/prepare.mjs')
    expect(scripts.test.startsWith('npm run prepare && ')).toBe(true)
    expect(scripts.build).toBe('rollup -c')
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'miniprogram_dist']))
  })

  test('it builds when an entry point is missing or a source is newer than the build, and skips a build that is up to date', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-prepare-'))
    try {
      const write = (file: string, when: number) => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
        fs.writeFileSync(path.join(dir, file), '')
        fs.utimesSync(path.join(dir, file), when, when)
      }
      const t = Math.floor(Date.now() / 1000) - 1000
      for (const f of ['src/index.ts', 'rollup.config.mjs', 'tsconfig.json', 'package-lock.json']) write(f, t)
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg))
      fs.utimesSync(path.join(dir, 'package.json'), t, t)
      let r = prepare(dir, '--check')
      expect([r.status, r.stderr.trim()]).toEqual([1, 'weapp-auth: a build is needed: dist/index.cjs is missing.'])
      // Every file package.json points at, built after the sources.
      const targets: string[] = [pkg.main, pkg.module, pkg.types, path.join(pkg.miniprogram as string, 'index.js')] as string[]
      const walk = (v: unknown): void => {
        if (typeof v === 'string') targets.push(v)
        else if (v && typeof v === 'object') Object.values(v).forEach(walk)
      }
      walk(pkg.exports)
      for (const f of targets.filter((f) => f !== './package.json')) write(f, t + 10)
      r = prepare(dir, '--check')
      expect([r.status, r.stderr.trim()]).toEqual([0, 'weapp-auth: dist/ and miniprogram_dist/ are up to date; not building (--force builds anyway).'])
      write('src/platforms/qq.ts', t + 20) // a source edited after the build
      r = prepare(dir, '--check')
      expect([r.status, r.stderr.trim()]).toEqual([1, 'weapp-auth: a build is needed: src/platforms/qq.ts changed since the last build.'])
      expect(prepare(dir, '--check', '--force').status).toBe(1)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
