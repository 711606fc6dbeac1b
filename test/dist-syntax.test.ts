/**
 * The built files must run in the mini program runtime: ES2015 syntax only (no async/await,
 * ?., ??, class fields), no Node built-ins, no DOM globals, tslib helpers once.
 * `npm test` builds first, so this reads what would be published.
 */
import * as acorn from 'acorn'
import * as fs from 'fs'
import * as path from 'path'

const root = path.join(__dirname, '..')
const files: Array<[string, 'module' | 'script']> = [
  ['dist/index.mjs', 'module'],
  ['dist/core.mjs', 'module'],
  ['dist/shared.mjs', 'module'],
  ['dist/platforms.mjs', 'module'],
  ['dist/hosts.mjs', 'module'],
  ['dist/open.mjs', 'module'],
  ['dist/components.mjs', 'module'],
  ['dist/storage.mjs', 'module'],
  ['dist/jwt.mjs', 'module'],
  ['dist/testing.mjs', 'module'],
  ['dist/index.cjs', 'script'],
  ['dist/core.cjs', 'script'],
  ['dist/shared.cjs', 'script'],
  ['dist/platforms.cjs', 'script'],
  ['dist/hosts.cjs', 'script'],
  ['dist/open.cjs', 'script'],
  ['dist/components.cjs', 'script'],
  ['dist/storage.cjs', 'script'],
  ['dist/jwt.cjs', 'script'],
  ['dist/testing.cjs', 'script'],
  ['miniprogram_dist/index.js', 'script'],
  ['miniprogram_dist/core.js', 'script'],
  ['miniprogram_dist/shared.js', 'script'],
  ['miniprogram_dist/platforms.js', 'script'],
  ['miniprogram_dist/hosts.js', 'script'],
  ['miniprogram_dist/open.js', 'script'],
  ['miniprogram_dist/storage.js', 'script'],
  ['miniprogram_dist/jwt.js', 'script'],
  // The components: their JS runs in the same runtime.
  ['miniprogram_dist/components/index.js', 'script'],
  ['miniprogram_dist/components/common.js', 'script'],
  ['miniprogram_dist/components/profile-form/index.js', 'script'],
  ['miniprogram_dist/components/phone-button/index.js', 'script'],
  ['miniprogram_dist/components/privacy-popup/index.js', 'script'],
  ['miniprogram_dist/components/login-panel/index.js', 'script'],
]
/** What each built file may import: tslib (dist only) and the package's own chunks. */
const OWN_CHUNKS = ['mjs', 'cjs', 'js']
  .reduce((all: string[], ext) => all.concat(['./shared.', './hosts.', './platforms.', './core.', './index.', './open.'].map((name) => name + ext)), [])
  // components/<name>/index.js, components/common.js and components/index.js (weapp-auth/components,
  // where provideAuth keeps the app's instance): the SDK's open.js and shared.js, and each other.
  .concat(['../../open.js', '../../shared.js', '../common.js', '../index.js', '../open.js', '../shared.js', './index.js'])
const FORBIDDEN_GLOBALS = ['window', 'document', 'process', 'Buffer', 'global', 'globalThis', 'atob', 'btoa', 'URL', 'AbortController', 'navigator', 'localStorage']

type Node = { type: string; [k: string]: unknown }

function walk(node: unknown, visit: (n: Node, parent: Node | null) => void, parent: Node | null = null): void {
  if (!node || typeof node !== 'object') return
  if (Array.isArray(node)) return node.forEach((n) => walk(n, visit, parent))
  const n = node as Node
  if (typeof n.type !== 'string') return
  visit(n, parent)
  for (const key of Object.keys(n)) if (key !== 'type') walk(n[key], visit, n)
}

/** Identifiers used as free variables (roughly: not property names, not declarations). */
function freeIdentifiers(ast: Node): Set<string> {
  const declared = new Set<string>()
  const used = new Set<string>()
  walk(ast, (n, parent) => {
    if (n.type === 'VariableDeclarator' || n.type === 'FunctionDeclaration' || n.type === 'ClassDeclaration') {
      const id = n.id as Node | null
      if (id && id.type === 'Identifier') declared.add(id.name as string)
    }
    if (n.type === 'Identifier' && parent) {
      const isProp = parent.type === 'MemberExpression' && parent.property === n && !parent.computed
      const isKey = parent.type === 'Property' && parent.key === n && !parent.computed
      if (!isProp && !isKey) used.add(n.name as string)
    }
  })
  return new Set(Array.from(used).filter((u) => !declared.has(u)))
}

describe.each(files)('%s', (file, sourceType) => {
  const code = fs.readFileSync(path.join(root, file), 'utf8')

  test('parses as ES2015', () => {
    expect(() => acorn.parse(code, { ecmaVersion: 2015, sourceType })).not.toThrow()
  })

  test('uses no Node built-ins or DOM globals', () => {
    const ast = acorn.parse(code, { ecmaVersion: 2015, sourceType }) as unknown as Node
    const free = freeIdentifiers(ast)
    expect(FORBIDDEN_GLOBALS.filter((g) => free.has(g))).toEqual([])
    const required: string[] = []
    walk(ast, (n) => {
      if (n.type === 'CallExpression' && (n.callee as Node).type === 'Identifier' && (n.callee as Node).name === 'require') {
        required.push(String(((n.arguments as Node[])[0] as Node).value))
      }
      if (n.type === 'ImportDeclaration') required.push(String((n.source as Node).value))
    })
    const allowed = (file.startsWith('miniprogram_dist') ? [] : ['tslib']).concat(OWN_CHUNKS)
    expect(required.filter((r) => allowed.indexOf(r) < 0)).toEqual([])
  })

  test('tslib helpers are present at most once', () => {
    for (const helper of ['__awaiter', '__rest', '__generator']) {
      const defs = code.split(new RegExp('function ' + helper + '\\b')).length - 1
      expect(defs).toBeLessThanOrEqual(file.startsWith('miniprogram_dist') ? 1 : 0)
    }
    const imports = (code.match(/from 'tslib'|require\('tslib'\)/g) || []).length
    expect(imports).toBeLessThanOrEqual(1)
  })
})

test('a syntax past ES2015 would be caught (the check itself works)', () => {
  for (const snippet of ['async function f() {}', 'a?.b', 'a ?? b', 'class A { x = 1 }', 'for await (const x of y) {}']) {
    expect(() => acorn.parse(snippet, { ecmaVersion: 2015, sourceType: 'module' })).toThrow()
  }
})

test('package.json points at files the build produced', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  for (const p of [
    pkg.main, pkg.module, pkg.types, pkg.miniprogram + '/index.js', pkg.miniprogram + '/open.js', pkg.miniprogram + '/core.js', pkg.miniprogram + '/platforms.js',
    pkg.exports['./core'].types, pkg.exports['./core'].require, pkg.exports['./core'].import, pkg.typesVersions['*'].core[0],
    pkg.exports['./platforms'].types, pkg.exports['./platforms'].require, pkg.exports['./platforms'].import, pkg.typesVersions['*'].platforms[0],
    pkg.exports['./testing'].types, pkg.exports['./testing'].require,
    pkg.exports['./open'].types, pkg.exports['./open'].require, pkg.exports['./open'].import, pkg.typesVersions['*'].open[0],
  ]) {
    expect(fs.existsSync(path.join(root, p))).toBe(true)
  }
  expect(Object.keys(pkg.dependencies)).toEqual(['tslib'])
})

describe('layering: weapp-auth/core carries no host adapter but WeChat\'s tag', () => {
  test.each(['dist/core.mjs', 'dist/shared.mjs', 'dist/core.cjs', 'dist/shared.cjs', 'miniprogram_dist/core.js', 'miniprogram_dist/shared.js'])('%s', (file) => {
    const code = fs.readFileSync(path.join(root, file), 'utf8')
    // Each marker is a name only one adapter (or the detection) uses; the login-call names in
    // messages (my.getAuthCode, tt.login) are text, not adapters.
    for (const marker of ['auth_base', 'errNo', 'uniPlatform', 'getEnv', 'detectPlatform', 'typeof tt', 'typeof my']) expect(code).not.toContain(marker)
    expect(code).not.toMatch(/require\(["']\.\/(platforms|hosts|index)|from ["']\.\/(platforms|hosts|index)/)
  })
})

describe('layering: the core never loads the open abilities', () => {
  const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8')
  test.each(['dist/index.mjs', 'dist/core.mjs', 'dist/shared.mjs', 'dist/index.cjs', 'dist/core.cjs', 'dist/shared.cjs', 'miniprogram_dist/index.js', 'miniprogram_dist/core.js', 'miniprogram_dist/shared.js'])('%s has no open ability and requires no open file', (file) => {
    const code = read(file)
    for (const name of ['bindPhoneNumber', 'uploadAvatar', 'ensureScope', 'getPrivacySetting', 'scope.writePhotosAlbum']) expect(code).not.toContain(name)
    expect(code).not.toMatch(/require\(["']\.\/open|from ["']\.\/open/)
  })

  test.each(['miniprogram_dist/index.js', 'miniprogram_dist/core.js', 'miniprogram_dist/shared.js', 'miniprogram_dist/open.js'])('%s loads none of the components (a page that uses none pays nothing)', (file) => {
    const code = read(file)
    expect(code).not.toMatch(/require\(["']\.\/components/)
    expect(code).not.toContain('auth-profile-form')
  })

  test.each(['dist/open.mjs', 'dist/open.cjs', 'miniprogram_dist/open.js'])('%s gets the core from the shared chunk, not a copy of its own', (file) => {
    const code = read(file)
    expect(code).toMatch(/from ["']\.\/shared\.mjs["']|require\(["']\.\/shared\.c?js["']\)/)
    expect(code).not.toMatch(/class \w+ extends Error|extends Error\b/)
  })
})
