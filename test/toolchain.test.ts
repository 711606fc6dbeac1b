/**
 * WeChat's own toolchain, offline: the packed SDK is installed into a copy of the example,
 * miniprogram-ci's packNpmManually builds miniprogram_npm (as DevTools' "build npm" does), and
 * getCompiledResult compiles the whole mini program with its TypeScript plugin. Offline recipe:
 * ../shared/notes/miniprogram-ci-offline.md. `npm test` builds dist first.
 */
import { execFileSync } from 'child_process'
import * as crypto from 'crypto'
import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'

const root = path.join(__dirname, '..')
jest.setTimeout(300000)

let work: string
let project: string

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-ci-'))
  // 1. npm pack: exactly what users install.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))
  const tarball = path.join(work, packed[0].filename)
  // 2. A copy of the example (without its server and e2e runner), the tarball installed into it.
  project = path.join(work, 'example')
  for (const entry of ['miniprogram', 'project.config.json', 'package.json', 'tsconfig.json']) {
    fs.cpSync(path.join(root, 'example-miniprogram', entry), path.join(project, entry), { recursive: true })
  }
  const pkgPath = path.join(project, 'package.json')
  const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8'))
  pkg.dependencies['weapp-auth'] = 'file:' + tarball
  fs.writeFileSync(pkgPath, JSON.stringify(pkg, null, 2))
  const target = path.join(project, 'node_modules', 'weapp-auth')
  fs.mkdirSync(target, { recursive: true })
  execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'])
  // tslib is the package's only dependency (miniprogram_dist bundles the helpers it uses).
  fs.cpSync(path.join(root, 'node_modules', 'tslib'), path.join(project, 'node_modules', 'tslib'), { recursive: true })
  fs.mkdirSync(path.join(project, 'miniprogram', 'images'), { recursive: true })
})

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true })
})

test('miniprogram-ci builds npm and compiles the example; the output runs in the mini program runtime', () => {
  const started = Date.now()
  const out = execFileSync(process.execPath, [path.join(__dirname, 'toolchain', 'compile-example.js'), project], {
    // miniprogram-ci leaves an empty cache folder (an md5 name) in its working directory: the temp one, removed after.
    cwd: work,
    encoding: 'utf8',
    timeout: 240000,
  })
  const result = JSON.parse(out.trim().split('\n').pop() as string) as { npmIndex: boolean; files: string[]; js: number; parseErrors: string[] }
  console.log(`toolchain: ${result.files.length} files compiled (${result.js} JavaScript) in ${Date.now() - started} ms`)
  // "build npm" put the SDK where the mini program's require finds it
  expect(result.npmIndex).toBe(true)
  expect(result.files.some((n) => /miniprogram_npm\/weapp-auth\/index\.js$/.test(n))).toBe(true)
  // …with the core chunk index.js requires, and the open abilities' entry the pages require as 'weapp-auth/open'
  expect(result.files.some((n) => /miniprogram_npm\/weapp-auth\/core\.js$/.test(n))).toBe(true)
  expect(result.files.some((n) => /miniprogram_npm\/weapp-auth\/open\.js$/.test(n))).toBe(true)
  // the drop-in components the profile and phone pages name in usingComponents, from miniprogram_npm
  // (a page naming a component that cannot be found fails the compile), with their templates and
  // styles, and weapp-auth/components (provideAuth) that app.ts imports and the components require
  for (const c of ['profile-form', 'phone-button', 'privacy-popup', 'login-panel']) {
    for (const ext of ['js', 'json', 'wxml', 'wxss']) {
      expect(result.files.some((n) => n.endsWith(`miniprogram_npm/weapp-auth/components/${c}/index.${ext}`))).toBe(true)
    }
  }
  expect(result.files.some((n) => /miniprogram_npm\/weapp-auth\/components\/index\.js$/.test(n))).toBe(true)
  // every page of app.json (and app.ts) was compiled from TypeScript
  for (const page of ['pages/home/index.js', 'pages/profile/index.js', 'pages/phone/index.js', 'pages/settings/index.js', 'app.js']) {
    expect(result.files.some((n) => n.endsWith(page))).toBe(true)
  }
  // and nothing in the compiled output is past what the runtime parses
  expect(result.parseErrors).toEqual([])
})
