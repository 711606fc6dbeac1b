/**
 * The reference pages cannot miss what the code has: every error code the SDK and the server can
 * produce has a row on the troubleshooting page, and every environment variable the ready-made
 * server reads has a row in the server guide's settings, in English and in Chinese. The lists are
 * read from the sources (the SDK's error code types, the server's ERROR_STATUS table, the variables
 * the server's sources read from the environment), so a new code or setting without documentation fails here.
 */
import * as fs from 'fs'
import * as path from 'path'
import { ERROR_STATUS } from '../server/src/errors'

const root = path.join(__dirname, '..')
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8')

/** The string literals of a `type Name = 'A' | 'B' …` declaration in a source file. */
function literalsOf(source: string, typeName: string): string[] {
  const at = source.indexOf(`export type ${typeName} =`)
  expect(at).toBeGreaterThanOrEqual(0)
  const declaration = source.slice(at, source.indexOf('\n\n', at))
  return [...declaration.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/'([A-Z_]+)'/g)].map((m) => m[1])
}

const errors = read('src/base/errors.ts')
const clientCodes = [...literalsOf(errors, 'AuthErrorCode'), ...literalsOf(errors, 'ErrorCode')]
const serverCodes = Object.entries(ERROR_STATUS) as Array<[string, number]>

/** The server's source files, but its test doubles (server/src/testing/ reads the fakes' own variables). */
function serverSources(dir = 'server/src'): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'testing' ? [] : serverSources(`${dir}/${e.name}`)) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
  )
}

/** Every variable the ready-made server reads: `env.NAME` anywhere in its sources, and the names its readers take as strings. */
function settingsRead(): string[] {
  const files = serverSources()
  const names = new Set<string>()
  for (const file of files) {
    const source = read(file)
    for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) names.add(m[1])
    // Helpers taking the environment and a variable's name: positiveInt(env, 'X'), set(env, 'X'), group(env, ['X', …]).
    for (const m of source.matchAll(/\(env, (?:'([A-Z][A-Z0-9_]+)'|\[([^\]]*)\])/g)) {
      if (m[1]) names.add(m[1])
      for (const n of (m[2] ?? '').matchAll(/'([A-Z][A-Z0-9_]+)'/g)) names.add(n[1])
    }
  }
  return [...names].sort()
}

const PAGES = { en: 'docs/guide', zh: 'docs/zh/guide' }

test('the sources have the codes and settings this test reads (its parsing still works)', () => {
  expect(clientCodes).toEqual(expect.arrayContaining(['WX_LOGIN_FAILED', 'LOGIN_REJECTED', 'STORAGE_CORRUPT', 'HTTP_ERROR', 'BAD_RESPONSE']))
  expect(clientCodes.length).toBeGreaterThanOrEqual(22)
  expect(serverCodes.length).toBeGreaterThanOrEqual(40)
  expect(settingsRead()).toEqual(expect.arrayContaining(['WX_APPID', 'JWT_SECRET', 'SQLITE_PATH', 'UPSTREAM_TIMEOUT_MS', 'DOUYIN_PRIVATE_KEY', 'ALIPAY_AES_KEY', 'METRICS_PORT']))
})

describe.each(Object.entries(PAGES))('%s', (_, dir) => {
  const troubleshooting = read(`${dir}/troubleshooting.md`)
  const rows = troubleshooting.split('\n').filter((line) => line.startsWith('|'))

  test.each(clientCodes)('troubleshooting has a row for the SDK code %s', (code) => {
    expect(rows.filter((row) => row.startsWith(`| \`${code}\` |`))).toHaveLength(1)
  })

  test.each(serverCodes)('troubleshooting has a row for the server code %s with its status', (code, status) => {
    expect(rows.filter((row) => new RegExp(`^\\| \\d{3} \\| \`${code}\` \\|`).test(row))).toEqual([expect.stringMatching(new RegExp(`^\\| ${status} \\|`))])
  })

  test('the server guide has a settings row for every variable the ready-made server reads', () => {
    const server = read(`${dir}/server.md`)
    const table = server.split('\n').filter((line) => line.startsWith('| `'))
    const missing = settingsRead().filter((name) => !table.some((row) => row.split('|')[1].includes(`\`${name}\``)))
    expect(missing).toEqual([])
  })
})
