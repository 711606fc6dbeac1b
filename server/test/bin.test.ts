/**
 * The runnable server, `npx weapp-auth-server`, as a real child process (the built dist/bin.js,
 * or src/bin.ts through tsx when dist is missing or older than src): configuration errors, the
 * one-JSON-line-per-request log that never holds a token, graceful SIGTERM, /healthz on a real
 * Redis, the development endpoints. WeChat is the fake WeChat API over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { ConfigError } from 'weapp-auth-server'
import { createFakeWechat, type FakeWechat } from 'weapp-auth-server/testing'
import Database from 'better-sqlite3'
import { loadConfig } from '../src/config'
import { startRedis } from './helpers/redis'
import { findMariadb, findPostgres, startMariadb, startPostgres } from './helpers/sql-servers'
import { sqlUsers } from '../src/users-sql'

const ROOT = path.join(__dirname, '..')
const APPID = 'wxbintest00000001'
const SECRET = 'bin-test-app-secret-0000000000000'
const JWT_SECRET = 'bin-test-jwt-secret-at-least-32-bytes-long'

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs)
  }
  return newest
}
const DIST_BIN = path.join(ROOT, 'dist', 'bin.js')
const useDist = fs.existsSync(DIST_BIN) && fs.statSync(DIST_BIN).mtimeMs >= newestMtime(path.join(ROOT, 'src'))
const BIN_ARGS = useDist ? [DIST_BIN] : ['--import', 'tsx', path.join(ROOT, 'src', 'bin.ts')]

const children = new Set<ChildProcess>()
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

interface Running {
  child: ChildProcess
  url: string
  stdout(): string
  stderr(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** A folder of this file's own for SQLite files (removed after the file's tests). */
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-bin-'))
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }))
let dbCount = 0
/** A fresh SQLite path in TMP. */
function freshDb(): string {
  return path.join(TMP, `run-${++dbCount}`, 'auth.db')
}

function run(env: Record<string, string>): { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Running['exited'] } {
  // The default store is SQLite at ./weapp-auth.db: each run gets its own file instead, unless the test chose a store.
  const store = 'REDIS_URL' in env || 'STORE' in env || 'SQLITE_PATH' in env ? {} : { SQLITE_PATH: freshDb() }
  const child = spawn(process.execPath, BIN_ARGS, {
    cwd: ROOT,
    // Only what the test gives: nothing leaks in from the developer's shell.
    env: { PATH: process.env.PATH ?? '', ...store, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  return { child, stdout: () => out, stderr: () => err, exited }
}

async function start(env: Record<string, string>): Promise<Running> {
  const r = run({ PORT: '0', HOST: '127.0.0.1', WX_APPID: APPID, WX_SECRET: SECRET, JWT_SECRET, ...env })
  const deadline = Date.now() + 20000
  for (;;) {
    const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"listening"/.exec(r.stdout())
    if (m) return { ...r, url: m[1] }
    if (r.child.exitCode !== null) throw new Error(`the bin exited (${r.child.exitCode}):\n${r.stdout()}\n${r.stderr()}`)
    if (Date.now() > deadline) throw new Error(`the bin did not listen within 20 s:\n${r.stdout()}\n${r.stderr()}`)
    await new Promise((res) => setTimeout(res, 20))
  }
}

async function call(url: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = {}
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  if (init.token) headers.authorization = 'Bearer ' + init.token
  const res = await fetch(url, { method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'), headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text }
}

let fake: FakeWechat
beforeAll(async () => {
  fake = await createFakeWechat({ appid: APPID, secret: SECRET })
})
afterAll(async () => {
  await fake?.close()
})

describe('configuration', () => {
  test('a wrong setting: one line on stderr naming it, exit code 1, no stack', async () => {
    const base = { WX_APPID: APPID, WX_SECRET: SECRET, JWT_SECRET }
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ ...base, WX_APPID: '' }, /WX_APPID is required/],
      [{ ...base, JWT_SECRET: 'too-short' }, /JWT_SECRET is too short: 9 characters/],
      [{ WX_APPID: APPID, WX_SECRET: SECRET, NODE_ENV: 'production' }, /JWT_SECRET is required/],
      [{ ...base, WEAPP_AUTH_DEV_ENDPOINTS: '1' }, /WEAPP_AUTH_DEV_ENDPOINTS=1 needs NODE_ENV=development/],
      [{ ...base, PORT: 'eighty' }, /PORT must be a port number/],
      [{ ...base, METRICS_PORT: 'ninety' }, /METRICS_PORT must be a port number 0–65535, got "ninety"/],
      [{ ...base, REDIS_URL: 'http://127.0.0.1:6379' }, /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
      [{ ...base, TOKEN_TTL_SECONDS: '-5' }, /TOKEN_TTL_SECONDS must be a whole number/],
      [{ ...base, QQ_APPID: '1112345678' }, /QQ_SECRET/],
      [{ ...base, STORE: 'memory', REDIS_URL: 'redis://127.0.0.1:6379' }, /STORE=memory and REDIS_URL are both set/],
      [{ ...base, STORE: 'mongodb' }, /STORE must be sqlite, redis or memory/],
      [{ ...base, DATABASE_URL: 'mongodb://u:hunter2@127.0.0.1/db' }, /^(?!.*hunter2).*DATABASE_URL must start with mysql:\/\/, mariadb:\/\/ or postgres:\/\/, got "mongodb:\/\/"/],
      [{ ...base, DATABASE_URL: 'hunter2 not a url' }, /^(?!.*hunter2).*DATABASE_URL must be a URL such as postgres:\/\//],
    ]
    await Promise.all(
      cases.map(async ([env, message]) => {
        const r = run(env)
        const { code } = await r.exited
        const lines = r.stderr().trim().split('\n')
        expect({ code, lines: lines.length, stdout: r.stdout() }).toEqual({ code: 1, lines: 1, stdout: '' })
        expect(lines[0]).toMatch(/^weapp-auth-server: /)
        expect(lines[0]).toMatch(message)
        expect(r.stderr()).not.toMatch(/\n\s+at /)
      }),
    )
  })

  test('every missing or wrong setting is named in one run (not one per run): one line, exit 1', async () => {
    // WX_APPID and JWT_SECRET missing, PORT wrong, and half of QQ's pair.
    const r = run({ WX_SECRET: SECRET, NODE_ENV: 'production', PORT: 'eighty', QQ_APPID: '1112345678' })
    const { code } = await r.exited
    const lines = r.stderr().trim().split('\n')
    expect({ code, lines: lines.length, stdout: r.stdout() }).toEqual({ code: 1, lines: 1, stdout: '' })
    expect(lines[0]).toMatch(/^weapp-auth-server: 4 settings to fix: \(1\) /)
    for (const message of [/WX_APPID is required/, /JWT_SECRET is required/, /PORT must be a port number/, /QQ_SECRET must be set too/]) expect(lines[0]).toMatch(message)
    expect(r.stderr()).not.toMatch(/\n\s+at /)
  })

  test('a file at SQLITE_PATH that is not ours (garbage, another app\'s database, a newer schema): one line, exit 1, the file untouched', async () => {
    const base = { WX_APPID: APPID, WX_SECRET: SECRET, JWT_SECRET, PORT: '0' }
    const garbage = freshDb()
    fs.mkdirSync(path.dirname(garbage), { recursive: true })
    fs.writeFileSync(garbage, 'id,total\n1,9.50\n')
    const foreign = freshDb()
    fs.mkdirSync(path.dirname(foreign), { recursive: true })
    const other = new Database(foreign)
    other.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL); INSERT INTO orders (total) VALUES (9.5)')
    other.close()
    const newer = freshDb()
    const ours = await start({ WX_API_BASE: fake.url, SQLITE_PATH: newer })
    ours.child.kill('SIGTERM')
    expect((await ours.exited).code).toBe(0)
    const bump = new Database(newer)
    bump.prepare("UPDATE weapp_auth_meta SET value = '999' WHERE key = 'schema_version'").run()
    bump.pragma('wal_checkpoint(TRUNCATE)')
    bump.close()
    const cases: Array<[string, RegExp]> = [
      [garbage, /is not a weapp-auth-server database \(not an SQLite file\)\. It was left untouched/],
      [foreign, /belongs to another application \(its tables are orders\)\. It was left untouched/],
      [newer, /was written by a newer weapp-auth-server \(schema 999; this version knows up to 1\)/],
    ]
    for (const [file, message] of cases) {
      const before = fs.readFileSync(file)
      const r = run({ ...base, SQLITE_PATH: file })
      const { code } = await r.exited
      const lines = r.stderr().trim().split('\n')
      expect({ code, lines: lines.length, stdout: r.stdout() }).toEqual({ code: 1, lines: 1, stdout: '' })
      expect(lines[0]).toMatch(/^weapp-auth-server: sqliteStore: /)
      expect(lines[0]).toMatch(message)
      expect(fs.readFileSync(file).equals(before)).toBe(true)
    }
  })

  test('TRUST_PROXY=true and WX_LEGACY_PHONE=1 start with one warning line each', async () => {
    const s = await start({ WX_API_BASE: fake.url, TRUST_PROXY: 'true', WX_LEGACY_PHONE: '1' })
    const lines = s.stderr().trim().split('\n')
    expect(lines).toEqual([expect.stringMatching(/^weapp-auth-server: warning: TRUST_PROXY=true believes the leftmost X-Forwarded-For, which any client can write/), expect.stringMatching(/^weapp-auth-server: warning: WX_LEGACY_PHONE=1/)])
    s.child.kill('SIGTERM')
    expect((await s.exited).code).toBe(0)
    const quiet = await start({ WX_API_BASE: fake.url, TRUST_PROXY: '127.0.0.1' })
    expect(quiet.stderr()).toBe('')
    quiet.child.kill('SIGTERM')
    await quiet.exited
  })

  test('a request Node cannot parse (a bad or doubled Content-Length) gets the same { error, message } shape', async () => {
    const s = await start({ WX_API_BASE: fake.url })
    const { port } = new URL(s.url)
    const raw = (request: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(request))
        let data = ''
        socket.on('data', (chunk) => (data += chunk))
        socket.on('close', () => resolve(data))
      })
    for (const framing of ['Content-Length: abc', 'Content-Length: 2\r\nContent-Length: 3', 'Transfer-Encoding: chunked\r\nContent-Length: 2']) {
      const answer = await raw(`POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${framing}\r\n\r\n{}`)
      const [head, body] = answer.split('\r\n\r\n')
      expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request')
      expect(JSON.parse(body)).toEqual({ error: 'bad_request', message: 'The request is not valid HTTP (its framing or headers are malformed).' })
    }
    s.child.kill('SIGTERM')
    await s.exited
  })

  test('a port already in use: one line, exit 1', async () => {
    const first = await start({})
    const port = new URL(first.url).port
    const second = run({ PORT: port, HOST: '127.0.0.1', WX_APPID: APPID, WX_SECRET: SECRET, JWT_SECRET })
    expect((await second.exited).code).toBe(1)
    expect(second.stderr().trim().split('\n')).toEqual([expect.stringMatching(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/)])
    first.child.kill('SIGTERM')
    expect(await first.exited).toEqual({ code: 0, signal: null })
  })

  test('loadConfig collects every problem before it throws', () => {
    let err: ConfigError | undefined
    try {
      loadConfig({ WX_APPID: 'not an appid!', TOKEN_TTL_SECONDS: '0', STORE: 'mongodb', WX_LEGACY_PHONE: 'yes' })
    } catch (e) {
      err = e as ConfigError
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect(err!.problems).toEqual([
      expect.stringMatching(/^WX_SECRET is required/),
      expect.stringMatching(/^WX_APPID must look like wx0123456789abcdef/),
      expect.stringMatching(/^JWT_SECRET is required/),
      expect.stringMatching(/^TOKEN_TTL_SECONDS must be a whole number/),
      expect.stringMatching(/^WX_LEGACY_PHONE must be 1 or 0/),
      expect.stringMatching(/^STORE must be sqlite, redis or memory/),
    ])
    expect(err!.message).toBe(`6 settings to fix: ${err!.problems.map((p, i) => `(${i + 1}) ${p}`).join(' ')}`)
    // One problem: the message is that problem alone, as before.
    expect(() => loadConfig({ WX_APPID: APPID, WX_SECRET: SECRET })).toThrow(/^JWT_SECRET is required/)
  })

  test('loadConfig: defaults, every variable, and the refusals', () => {
    const base = { WX_APPID: APPID, WX_SECRET: SECRET, JWT_SECRET }
    expect(loadConfig(base)).toEqual({
      port: 3000,
      host: '127.0.0.1',
      appid: APPID,
      secret: SECRET,
      jwtSecret: JWT_SECRET,
      jwtSecretGenerated: false,
      accessTokenMode: 'stable',
      trustProxy: false,
      development: false,
      devEndpoints: false,
      legacyPhone: false,
      // Users and sessions are kept by default, in an SQLite file in the working directory.
      store: { kind: 'sqlite', path: './weapp-auth.db' },
      // Avatars beside it; without PUBLIC_URL uploads answer 503 naming it.
      uploadDir: 'uploads',
      avatarMaxBytes: 2 * 1024 * 1024,
    })
    expect(loadConfig({ ...base, SQLITE_PATH: '/var/lib/app/auth.db' }).uploadDir).toBe('/var/lib/app/uploads')
    expect(loadConfig({ ...base, UPLOAD_DIR: '/srv/avatars', PUBLIC_URL: 'https://api.example.com/', AVATAR_MAX_BYTES: '1000' })).toMatchObject({
      uploadDir: '/srv/avatars',
      publicUrl: 'https://api.example.com',
      avatarMaxBytes: 1000,
    })
    expect(() => loadConfig({ ...base, PUBLIC_URL: 'http://api.example.com' })).toThrow(/PUBLIC_URL must start with https:\/\//)
    expect(loadConfig({ ...base, NODE_ENV: 'development', PUBLIC_URL: 'http://127.0.0.1:3000' }).publicUrl).toBe('http://127.0.0.1:3000')
    expect(() => loadConfig({ ...base, PUBLIC_URL: 'https://api.example.com/?x=1' })).toThrow(/PUBLIC_URL must not carry a query/)
    expect(() => loadConfig({ ...base, AVATAR_MAX_BYTES: 'lots' })).toThrow(/AVATAR_MAX_BYTES/)
    expect(loadConfig({ ...base, UPSTREAM_TIMEOUT_MS: '1500' }).upstreamTimeoutMs).toBe(1500)
    expect(loadConfig(base).upstreamTimeoutMs).toBeUndefined()
    expect(loadConfig(base).verifyCacheSize).toBeUndefined()
    expect(loadConfig({ ...base, JWT_VERIFY_CACHE_SIZE: '0' }).verifyCacheSize).toBe(0)
    expect(loadConfig({ ...base, JWT_VERIFY_CACHE_SIZE: '50000' }).verifyCacheSize).toBe(50000)
    for (const bad of ['many', '-1', '2.5', '1000001']) expect(() => loadConfig({ ...base, JWT_VERIFY_CACHE_SIZE: bad })).toThrow(/JWT_VERIFY_CACHE_SIZE must be a whole number of tokens between 0 and 1000000/)
    for (const bad of ['fast', '50', '120000', '1.5']) expect(() => loadConfig({ ...base, UPSTREAM_TIMEOUT_MS: bad })).toThrow(/UPSTREAM_TIMEOUT_MS must be a whole number of milliseconds/)
    expect(loadConfig({ ...base, SQLITE_PATH: '/var/lib/app/auth.db' }).store).toEqual({ kind: 'sqlite', path: '/var/lib/app/auth.db' })
    expect(loadConfig({ ...base, STORE: 'sqlite' }).store).toEqual({ kind: 'sqlite', path: './weapp-auth.db' })
    expect(loadConfig({ ...base, STORE: 'memory' }).store).toEqual({ kind: 'memory' })
    expect(loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379', STORE: 'redis' }).store).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379' })
    expect(
      loadConfig({
        ...base,
        PORT: '8080',
        HOST: '0.0.0.0',
        REDIS_URL: 'redis://10.0.0.5:6379/2',
        WX_API_BASE: 'http://127.0.0.1:9999/',
        TOKEN_TTL_SECONDS: '3600',
        REFRESH_TTL_SECONDS: '86400',
        WX_ACCESS_TOKEN_MODE: 'classic',
        TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
        NODE_ENV: 'development',
        WEAPP_AUTH_DEV_ENDPOINTS: '1',
        SESSION_MAX_SECONDS: '864000',
        WX_LEGACY_PHONE: '1',
      }),
    ).toEqual({
      port: 8080,
      host: '0.0.0.0',
      appid: APPID,
      secret: SECRET,
      jwtSecret: JWT_SECRET,
      jwtSecretGenerated: false,
      redisUrl: 'redis://10.0.0.5:6379/2',
      wxApiBase: 'http://127.0.0.1:9999',
      tokenTtlSeconds: 3600,
      refreshTtlSeconds: 86400,
      accessTokenMode: 'classic',
      trustProxy: '10.0.0.0/8, 127.0.0.1',
      development: true,
      devEndpoints: true,
      store: { kind: 'redis', url: 'redis://10.0.0.5:6379/2' },
      sessionMaxSeconds: 864000,
      legacyPhone: true,
      uploadDir: 'uploads',
      avatarMaxBytes: 2 * 1024 * 1024,
    })
    const dev = loadConfig({ WX_APPID: APPID, WX_SECRET: SECRET, NODE_ENV: 'development' })
    expect(dev.jwtSecretGenerated).toBe(true)
    expect(dev.jwtSecret.length).toBeGreaterThanOrEqual(32)
    expect(loadConfig({ ...base, TRUST_PROXY: 'true' }).trustProxy).toBe(true)
    for (const [env, message] of [
      [{ ...base, WX_SECRET: '' }, /WX_SECRET is required/],
      [{ ...base, WX_ACCESS_TOKEN_MODE: 'fast' }, /WX_ACCESS_TOKEN_MODE must be stable or classic/],
      [{ ...base, TRUST_PROXY: '2' }, /hop count is not supported/],
      [{ ...base, TRUST_PROXY: 'everyone' }, /TRUST_PROXY must be/],
      [{ ...base, WX_API_BASE: 'ftp://x' }, /WX_API_BASE must start with/],
      [{ ...base, TOKEN_TTL_SECONDS: '7200', REFRESH_TTL_SECONDS: '60' }, /REFRESH_TTL_SECONDS \(60\) must not be shorter/],
      [{ ...base, PORT: '70000' }, /PORT must be/],
      [{ ...base, WEAPP_AUTH_DEV_ENDPOINTS: 'yes', NODE_ENV: 'development' }, /WEAPP_AUTH_DEV_ENDPOINTS must be 1 or 0/],
      [{ ...base, STORE: 'postgres' }, /STORE must be sqlite, redis or memory/],
      [{ ...base, STORE: 'memory', REDIS_URL: 'redis://127.0.0.1:6379' }, /STORE=memory and REDIS_URL are both set/],
      [{ ...base, STORE: 'redis' }, /STORE=redis needs REDIS_URL/],
      [{ ...base, STORE: 'memory', SQLITE_PATH: '/tmp/a.db' }, /STORE=memory and SQLITE_PATH are both set/],
      [{ ...base, REDIS_URL: 'redis://127.0.0.1:6379', SQLITE_PATH: '/tmp/a.db' }, /REDIS_URL and SQLITE_PATH are both set/],
      [{ ...base, SQLITE_PATH: ':memory:' }, /use STORE=memory/],
      [{ ...base, SESSION_MAX_SECONDS: '3600' }, /SESSION_MAX_SECONDS \(3600\) must not be shorter than the access token's lifetime \(604800/],
      [{ ...base, WX_LEGACY_PHONE: 'yes' }, /WX_LEGACY_PHONE must be 1 or 0/],
    ] as const) {
      expect(() => loadConfig(env)).toThrow(ConfigError)
      expect(() => loadConfig(env)).toThrow(message)
    }
  })

  test('NODE_ENV=development without JWT_SECRET starts, with a loud warning', async () => {
    const s = await start({ NODE_ENV: 'development', JWT_SECRET: '' })
    expect(s.stderr()).toMatch(/JWT_SECRET is not set; NODE_ENV=development generated a random one/)
    s.child.kill('SIGINT')
    expect((await s.exited).code).toBe(0)
  })
})

describe('serving', () => {
  test('a whole session; one JSON line per request, none holding a token, code or query string; SIGTERM drains an in-flight login', async () => {
    const s = await start({ WX_API_BASE: fake.url })
    const secrets: string[] = []
    let requests = 0
    const c = async (p: string, init?: Parameters<typeof call>[1]) => {
      requests++
      return call(s.url + p, init)
    }

    const code1 = fake.mintCode('o-carol')
    const code2 = fake.mintCode('o-carol')
    const phoneCode = fake.mintPhoneCode('13812345678')
    const login = await c('/api/auth/login', { body: { code: code1 } })
    expect(login.status).toBe(200)
    const viaQuery = await c('/api/auth/login?code=' + code2, { method: 'POST' })
    expect(viaQuery.status).toBe(200)
    const { token, refreshToken, user } = login.json
    secrets.push(code1, code2, phoneCode, token, refreshToken, viaQuery.json.token, viaQuery.json.refreshToken)

    expect((await c('/healthz')).json).toEqual({ ok: true, store: 'sqlite' })
    expect((await c('/api/user/me', { token })).json).toEqual({ id: user.id, nickName: '微信用户', avatarUrl: '', platform: 'weixin' })
    expect((await c('/api/user/me')).status).toBe(401)

    const saved = await c('/api/user/profile', { body: { nickName: '  小明 ', avatarUrl: 'https://cdn.example.com/a.png' }, token })
    expect(saved.json).toEqual({ id: user.id, nickName: '小明', avatarUrl: 'https://cdn.example.com/a.png', platform: 'weixin' })
    const risky = await c('/api/user/profile', { body: { nickName: '违规昵称' }, token })
    expect(risky).toMatchObject({ status: 422, json: { error: 'content_risky' } })
    expect((await c('/api/user/profile', { body: { nickName: 'x'.repeat(21) }, token })).json.error).toBe('bad_request')
    expect((await c('/api/user/profile', { body: { avatarUrl: 'http://plain.example.com/a.png' }, token })).json.error).toBe('bad_request')
    expect((await c('/api/user/profile', { body: {}, token })).status).toBe(400)

    const phone = await c('/api/auth/phone', { body: { code: phoneCode }, token })
    expect(phone.json).toEqual({ phoneNumber: '138****5678' })
    expect((await c('/api/user/me', { token })).json.phoneNumber).toBe('138****5678')

    const refreshed = await c('/api/auth/refresh', { body: { refreshToken } })
    expect(refreshed.status).toBe(200)
    secrets.push(refreshed.json.token, refreshed.json.refreshToken)
    expect((await c('/api/auth/refresh?refreshToken=' + refreshed.json.refreshToken, { method: 'POST' })).json.error).toBe('refresh_token_in_query')
    expect((await c('/api/nothing-here?token=' + token)).status).toBe(404)
    expect((await c('/api/auth/logout', { method: 'POST', token: refreshed.json.token })).status).toBe(204)

    // SIGTERM while a login waits on a slow WeChat: that login still gets its answer, then exit 0.
    fake.delay('jscode2session', 1200, { times: 1 })
    const slowCode = fake.mintCode('o-slow')
    secrets.push(slowCode)
    const inFlight = c('/api/auth/login', { body: { code: slowCode } })
    await new Promise((r) => setTimeout(r, 300))
    s.child.kill('SIGTERM')
    const slow = await inFlight
    expect(slow.status).toBe(200)
    secrets.push(slow.json.token, slow.json.refreshToken)
    expect(await s.exited).toEqual({ code: 0, signal: null })
    await expect(fetch(s.url + '/healthz')).rejects.toThrow() // no longer accepting

    const lines = s.stdout().trim().split('\n')
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    const requestLines = parsed.filter((l) => l.msg === 'request')
    expect(requestLines).toHaveLength(requests)
    for (const l of requestLines) {
      expect(l).toEqual({ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), reqId: expect.any(String), msg: 'request', method: expect.any(String), route: expect.any(String), status: expect.any(Number), ms: expect.any(Number), ...(l.userId ? { userId: user.id } : {}) })
      expect(String(l.route)).not.toContain('?')
    }
    expect(requestLines.filter((l) => l.userId === user.id).length).toBeGreaterThanOrEqual(8)
    expect(requestLines.map((l) => l.route)).toEqual(expect.arrayContaining(['/api/auth/login', '/api/auth/refresh', '/api/user/me', '/api/user/profile', '/api/auth/phone', '/api/auth/logout', '/healthz', '/api/nothing-here']))
    const all = s.stdout() + s.stderr()
    for (const secret of secrets) expect(all).not.toContain(secret)
    expect(all).not.toMatch(/13812345678|refreshToken=|code=|Bearer /)
    expect(parsed.map((l) => l.msg)).toEqual(expect.arrayContaining(['listening', 'closed']))
  })

  test('/healthz and the store on a real Redis: 503 fast while it is down, 200 again without a restart', async () => {
    const redis = await startRedis()
    try {
      const s = await start({ WX_API_BASE: fake.url, REDIS_URL: redis.url })
      expect((await call(s.url + '/healthz')).json).toEqual({ ok: true, store: 'redis' })
      // This Redis keeps nothing on disk (no AOF, no RDB): one warning line says so.
      expect(s.stderr().trim().split('\n')).toEqual([
        'weapp-auth-server: warning: Redis persists nothing (appendonly no, save ""): a Redis restart loses every user and session. Set appendonly yes in production.',
      ])
      const login = await call(s.url + '/api/auth/login', { body: { code: fake.mintCode('o-dave') } })
      expect(login.status).toBe(200)

      await redis.stop()
      const started = Date.now()
      const health = await call(s.url + '/healthz')
      const fixed = 'The server cannot reach its store right now; try again shortly.'
      expect(health).toMatchObject({ status: 503, json: { ok: false, store: 'redis', error: 'store_unavailable', message: fixed } })
      const refused = await call(s.url + '/api/auth/refresh', { body: { refreshToken: login.json.refreshToken } })
      expect(refused).toMatchObject({ status: 503, json: { error: 'store_unavailable', message: fixed } })
      const me = await call(s.url + '/api/user/me', { token: login.json.token })
      expect(me).toMatchObject({ status: 503, json: { error: 'store_unavailable', message: fixed } })
      // Where the store is goes to the log, never to a client.
      for (const answer of [health, refused, me]) expect(answer.text).not.toMatch(new RegExp(`127\\.0\\.0\\.1|${redis.port}|redis:|ECONNREFUSED`))
      await new Promise((r) => setTimeout(r, 100))
      expect(s.stdout()).toMatch(new RegExp(`"reason":"Redis at redis://127\\.0\\.0\\.1:${redis.port}`))
      expect(Date.now() - started).toBeLessThan(3000) // fast: no waiting for the reconnect
      expect(s.child.exitCode).toBeNull()

      await redis.restart()
      const deadline = Date.now() + 10000
      let again = await call(s.url + '/healthz')
      while (again.status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100))
        again = await call(s.url + '/healthz')
      }
      expect(again.json).toEqual({ ok: true, store: 'redis' })
      expect((await call(s.url + '/api/auth/login', { body: { code: fake.mintCode('o-dave') } })).status).toBe(200)
      s.child.kill('SIGTERM')
      expect((await s.exited).code).toBe(0)
    } finally {
      await redis.stop()
    }
  })

  test('DATABASE_URL that cannot be reached: one line naming its host and database (never its password), exit 1', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (server.address() as net.AddressInfo).port
        server.close(() => resolve(port))
      })
    })
    const r = run({ WX_APPID: APPID, WX_SECRET: SECRET, JWT_SECRET, PORT: '0', DATABASE_URL: `postgres://weapp:hunter2@127.0.0.1:${closed}/users` })
    const { code } = await r.exited
    const lines = r.stderr().trim().split('\n')
    expect({ code, lines: lines.length }).toEqual({ code: 1, lines: 1 })
    expect(lines[0]).toMatch(new RegExp(`^weapp-auth-server: cannot prepare the users' tables in DATABASE_URL \\(127\\.0\\.0\\.1:${closed}/users\\): `))
    expect(r.stderr() + r.stdout()).not.toContain('hunter2')
  })

  for (const [name, find, startDb] of [
    ['PostgreSQL', findPostgres, startPostgres],
    ['MariaDB', findMariadb, startMariadb],
  ] as const) {
    const maybe = find() ? test : test.skip
    if (!find()) console.warn(`bin.test: skipping the DATABASE_URL run on ${name}: it is not installed`)
    maybe(`DATABASE_URL on a real ${name}: tables made at start, users kept there (tokens in the store), deleting the account refuses its tokens and a new login is a new user`, async () => {
      const db = await startDb()
      const peek = sqlUsers({ url: db.url })
      try {
        const s = await start({ WX_API_BASE: fake.url, DATABASE_URL: db.url })
        expect(s.stdout()).toMatch(new RegExp(`"users":"${name === 'MariaDB' ? 'mysql' : 'postgres'} 127\\.0\\.0\\.1:${db.port}/`))
        const login = await call(s.url + '/api/auth/login', { body: { code: fake.mintCode('o-sql-frank') } })
        expect(login.status).toBe(200)
        const id = login.json.user.id as string
        expect(await peek.findById(id)).toEqual({ id, nickName: '微信用户', avatarUrl: '', platform: 'weixin' })
        const profile = await call(s.url + '/api/user/profile', { body: { nickName: 'Frank' }, token: login.json.token })
        expect(profile.status).toBe(200)
        expect((await peek.findById(id))?.nickName).toBe('Frank')
        // The same person again: the same user, straight from the database.
        const again = await call(s.url + '/api/auth/login', { body: { code: fake.mintCode('o-sql-frank') } })
        expect(again.json.user).toMatchObject({ id, nickName: 'Frank' })

        expect((await call(s.url + '/api/user/me', { method: 'DELETE', token: login.json.token })).status).toBe(204)
        expect(await peek.findById(id)).toBeNull()
        for (const t of [login.json, again.json]) {
          expect((await call(s.url + '/api/user/me', { token: t.token })).status).toBe(401)
          expect((await call(s.url + '/api/auth/refresh', { body: { refreshToken: t.refreshToken } })).status).toBe(401)
        }
        const back = await call(s.url + '/api/auth/login', { body: { code: fake.mintCode('o-sql-frank') } })
        expect(back.status).toBe(200)
        expect(back.json.user.id).not.toBe(id)
        expect(back.json.user.nickName).toBe('微信用户')

        s.child.kill('SIGTERM')
        expect((await s.exited).code).toBe(0)
        // A second start finds the tables made (the migration is idempotent) and the user kept.
        const s2 = await start({ WX_API_BASE: fake.url, DATABASE_URL: db.url })
        expect((await call(s2.url + '/api/auth/login', { body: { code: fake.mintCode('o-sql-frank') } })).json.user.id).toBe(back.json.user.id)
        s2.child.kill('SIGTERM')
        expect((await s2.exited).code).toBe(0)
      } finally {
        await peek.close()
        await db.stop()
      }
    }, 60_000)
  }

  test('UPSTREAM_TIMEOUT_MS reaches the core: a WeChat slower than it is 504 wechat_timeout, and nothing is saved', async () => {
    const s = await start({ WX_API_BASE: fake.url, UPSTREAM_TIMEOUT_MS: '300' })
    try {
      // WeChat answers after 1.5 s: within the default 5 s that would be a login; with 300 ms it is a 504.
      fake.delay('jscode2session', 1500, { times: 1 })
      const slow = await call(s.url + '/api/auth/login', { body: { code: fake.mintCode('o-timeout') } })
      expect(slow).toMatchObject({ status: 504, json: { error: 'wechat_timeout' } })
      expect((await call(s.url + '/api/auth/login', { body: { code: fake.mintCode('o-timeout') } })).status).toBe(200)
    } finally {
      s.child.kill('SIGTERM')
      await s.exited
    }
  })

  test('development endpoints: expire every token, count what happened (and TOKEN_TTL_SECONDS, WX_ACCESS_TOKEN_MODE reach the core)', async () => {
    const s = await start({ WX_API_BASE: fake.url, NODE_ENV: 'development', WEAPP_AUTH_DEV_ENDPOINTS: '1', TOKEN_TTL_SECONDS: '120', WX_ACCESS_TOKEN_MODE: 'classic' })
    const login = await call(s.url + '/api/auth/login', { body: { code: fake.mintCode('o-erin') } })
    expect(login.json.expiresIn).toBe(120)
    const before = fake.calls
    expect((await call(s.url + '/api/auth/phone', { body: { code: fake.mintPhoneCode('13700001111') }, token: login.json.token })).json).toEqual({ phoneNumber: '137****1111' })
    expect({ token: fake.calls.token - before.token, stable: fake.calls.stable_token - before.stable_token }).toEqual({ token: 1, stable: 0 })
    expect((await call(s.url + '/api/user/me', { token: login.json.token })).status).toBe(200)
    expect((await call(s.url + '/api/dev/expire-tokens', { method: 'POST' })).status).toBe(200)
    expect((await call(s.url + '/api/user/me', { token: login.json.token })).json.error).toBe('token_revoked')
    const refreshed = await call(s.url + '/api/auth/refresh', { body: { refreshToken: login.json.refreshToken } })
    expect(refreshed.status).toBe(200)
    expect((await call(s.url + '/api/user/me', { token: refreshed.json.token })).status).toBe(200)
    await call(s.url + '/api/dev/expire-tokens?refresh=1', { method: 'POST' })
    expect((await call(s.url + '/api/auth/refresh', { body: { refreshToken: refreshed.json.refreshToken } })).status).toBe(401)
    expect((await call(s.url + '/api/dev/stats')).json).toEqual({ logins: 1, refreshes: 1, unauthorized: 1 })
    s.child.kill('SIGTERM')
    expect((await s.exited).code).toBe(0)

    // without NODE_ENV=development + WEAPP_AUTH_DEV_ENDPOINTS=1 they do not exist
    const prod = await start({ WX_API_BASE: fake.url })
    expect((await call(prod.url + '/api/dev/stats')).status).toBe(404)
    // without METRICS_PORT there is no metrics listener, and no /metrics on the public port
    expect(prod.stdout()).not.toContain('metricsUrl')
    expect((await call(prod.url + '/metrics')).status).toBe(404)
    prod.child.kill('SIGTERM')
    expect((await prod.exited).code).toBe(0)
  })

  test('METRICS_PORT: Prometheus text on its own listener (127.0.0.1 by default), never on the public port; no auth route there; no secret in it', async () => {
    const s = await start({ WX_API_BASE: fake.url, METRICS_PORT: '0' })
    const m = /"metricsUrl":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/.exec(s.stdout())
    expect(m).not.toBeNull()
    const metricsUrl = m![1]
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    expect(metricsUrl).not.toBe(s.url + '/metrics')
    const metricsOrigin = metricsUrl.replace(/\/metrics$/, '')

    const code = fake.mintCode('o-metrics-bin')
    const login = await call(s.url + '/api/auth/login', { body: { code } })
    expect(login.status).toBe(200)
    const { token, refreshToken, user } = login.json
    expect((await call(s.url + '/api/auth/login', { body: { code } })).status).toBe(400) // the code again: refused
    const refreshed = await call(s.url + '/api/auth/refresh', { body: { refreshToken } })
    expect(refreshed.status).toBe(200)
    expect((await call(s.url + '/api/auth/refresh', { body: { refreshToken } })).json.error).toBe('refresh_token_reused')
    expect((await call(s.url + '/api/user/me')).status).toBe(401)

    expect((await call(s.url + '/metrics')).status).toBe(404)
    for (const p of ['/api/auth/login', '/healthz', '/api/user/me', '/']) expect((await fetch(metricsOrigin + p, p === '/api/auth/login' ? { method: 'POST' } : {})).status).toBe(404)

    const res = await fetch(metricsUrl)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await res.text()
    const lines = text.split('\n')
    expect(lines).toEqual(
      expect.arrayContaining([
        'weapp_auth_logins_total{platform="weixin",outcome="ok"} 1',
        'weapp_auth_logins_total{platform="weixin",outcome="wechat_code_used"} 1',
        'weapp_auth_refreshes_total{outcome="ok"} 1',
        'weapp_auth_refreshes_total{outcome="refresh_token_reused"} 1',
        'weapp_auth_refresh_reuse_total 1',
        'weapp_auth_upstream_errors_total{api="sns/jscode2session",code="wechat_code_used"} 1',
        'weapp_auth_http_request_duration_seconds_count{route="/api/user/me",method="GET",status="401"} 1',
        'weapp_auth_host_api_duration_seconds_count{api="sns/jscode2session"} 2',
      ]),
    )
    expect(text).toMatch(/^process_cpu_user_seconds_total /m)
    for (const secret of [code, token, refreshToken, refreshed.json.token, refreshed.json.refreshToken, String(user.id), 'o-metrics-bin']) expect(text).not.toContain(secret)

    s.child.kill('SIGTERM')
    expect((await s.exited).code).toBe(0)
    await expect(fetch(metricsUrl)).rejects.toThrow() // the metrics listener closed too
  })

  test('the built bin starts with a node shebang and is executable', () => {
    expect(fs.readFileSync(path.join(ROOT, 'src', 'bin.ts'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node')
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.bin).toEqual({ 'weapp-auth-server': 'dist/bin.js' })
    if (!useDist) return // dist is rebuilt by `npm test` before jest; the tsx run covered the behaviour
    expect(fs.readFileSync(DIST_BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node')
    expect(fs.statSync(DIST_BIN).mode & 0o111).not.toBe(0)
  })
})
