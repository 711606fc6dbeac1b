/**
 * weapp-auth-server/fastify over real HTTP: fastify on a free loopback port, the real core on a
 * real Redis (a throwaway redis-server), WeChat played by the fake WeChat API over HTTP. Every bad
 * input gets its status and a stable `error` code, never a 500 or a stack; WeChat down or slow
 * gives 502/504; Redis down gives a fast 503 and service comes back when Redis does.
 */
import * as net from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { buildApp } from '../src/app'
import { SignJWT, base64url } from 'jose'
import { createAuthServer, memoryStore, redisStore, type AuthServer, type PhoneInfo, type Store } from 'weapp-auth-server'
import { weappAuth, maskPhoneNumber } from 'weapp-auth-server/fastify'
import { createFakeWechat, type FakeWechat } from 'weapp-auth-server/testing'
import { startRedis, type RedisHandle } from './helpers/redis'

const APPID = 'wxhttptest0000001'
const SECRET = 'http-test-app-secret-000000000000'
const JWT_SECRET = 'http-test-jwt-secret-at-least-32-bytes-long'

let fake: FakeWechat
let redis: RedisHandle
let store: Store
let auth: AuthServer
let app: FastifyInstance
let base: string
let clockSkewMs = 0
const phonesStored: Array<{ userId: string; info: PhoneInfo }> = []
/** Every response body this file received, checked at the end for stacks and secrets. */
const bodies: string[] = []

beforeAll(async () => {
  ;[fake, redis] = await Promise.all([createFakeWechat({ appid: APPID, secret: SECRET }), startRedis()])
  store = redisStore(redis.url)
  auth = createAuthServer({
    appid: APPID,
    secret: SECRET,
    jwt: { secret: JWT_SECRET },
    store,
    wxApiBase: fake.url,
    revocation: true,
    upstreamTimeoutMs: 400,
    loginRateLimit: false,
    now: () => Date.now() + clockSkewMs,
  })
  app = Fastify({ logger: false })
  await app.register(weappAuth, { auth, onPhoneNumber: (userId, info) => void phonesStored.push({ userId, info }) })
  // An app route behind the decorated preHandler: the plugin's decorations are visible here.
  app.get('/api/me', { preHandler: app.authenticate }, async (request) => ({ id: request.user!.id, sub: request.user!.claims.sub }))
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app?.close()
  await auth?.close()
  await store?.close().catch(() => undefined)
  await Promise.all([fake?.close(), redis?.stop()])
})

interface Answer {
  status: number
  headers: Headers
  json: Record<string, any> | undefined
  text: string
}

async function call(path: string, init: { method?: string; body?: unknown; raw?: string; type?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers }
  let body: string | undefined
  if (init.raw !== undefined) body = init.raw
  else if (init.body !== undefined) body = JSON.stringify(init.body)
  if (body !== undefined) headers['content-type'] = init.type ?? 'application/json'
  if (init.token) headers.authorization = 'Bearer ' + init.token
  const res = await fetch(base + path, { method: init.method ?? 'POST', headers, body })
  const text = await res.text()
  bodies.push(text)
  let json: Record<string, any> | undefined
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, json, text }
}

async function login(openid = 'o-user-' + Math.random().toString(36).slice(2)) {
  const r = await call('/api/auth/login', { body: { code: fake.mintCode(openid) } })
  expect(r.status).toBe(200)
  return r.json as { token: string; refreshToken: string; expiresIn: number; user: { id: string } }
}

function expectError(r: Answer, status: number, error: string): void {
  expect({ status: r.status, error: r.json?.error }).toEqual({ status, error })
  expect(typeof r.json?.message).toBe('string')
  expect(r.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/)
}

describe('the contract routes', () => {
  test('login with the code in the JSON body, and with ?code= and an empty JSON body (the SDK’s codeIn: query)', async () => {
    const a = await call('/api/auth/login', { body: { code: fake.mintCode('o-alice') } })
    const b = await call('/api/auth/login?code=' + fake.mintCode('o-alice'), { raw: '' })
    const c = await call('/api/auth/login?code=' + fake.mintCode('o-alice'))
    const d = await call('/api/auth/login', { raw: JSON.stringify({ code: fake.mintCode('o-alice') }), type: 'application/json; charset=utf-8' })
    for (const r of [a, b, c, d]) {
      expect(r.status).toBe(200)
      expect(r.json).toEqual({ token: expect.any(String), expiresIn: 7 * 24 * 3600, refreshToken: expect.any(String), user: expect.objectContaining({ id: expect.any(String) }) })
      expect(r.text).not.toMatch(/openid|session_?key|unionid/i)
    }
    expect(new Set([a, b, c, d].map((r) => r.json!.user.id)).size).toBe(1) // one WeChat user, one user
    const me = await call('/api/me', { method: 'GET', token: a.json!.token })
    expect(me.status).toBe(200)
    expect(me.json).toEqual({ id: a.json!.user.id, sub: a.json!.user.id })
  })

  test('a code works once: the second use is 400 wechat_code_used with WeChat’s errcode', async () => {
    const code = fake.mintCode('o-bob')
    expect((await call('/api/auth/login', { body: { code } })).status).toBe(200)
    const again = await call('/api/auth/login', { body: { code } })
    expectError(again, 400, 'wechat_code_used')
    expect(again.json!.errcode).toBe(40163)
    expectError(await call('/api/auth/login', { body: { code: 'never-minted-code' } }), 400, 'wechat_invalid_code')
  })

  test('refresh rotates; the old token replayed revokes the family (so the newest dies too)', async () => {
    const first = await login()
    const second = await call('/api/auth/refresh', { body: { refreshToken: first.refreshToken } })
    expect(second.status).toBe(200)
    expect(second.json!.refreshToken).not.toBe(first.refreshToken)
    expect((await call('/api/me', { method: 'GET', token: second.json!.token })).status).toBe(200)
    expectError(await call('/api/auth/refresh', { body: { refreshToken: first.refreshToken } }), 401, 'refresh_token_reused')
    const afterReuse = await call('/api/auth/refresh', { body: { refreshToken: second.json!.refreshToken } })
    expect(afterReuse.status).toBe(401)
    // with revocation on, the family's access tokens die with it
    expectError(await call('/api/me', { method: 'GET', token: second.json!.token }), 401, 'token_revoked')
  })

  test('phone: authenticated, the number masked by default, the full one handed to onPhoneNumber', async () => {
    const s = await login()
    const r = await call('/api/auth/phone', { body: { code: fake.mintPhoneCode('13812345678') }, token: s.token })
    expect(r.status).toBe(200)
    expect(r.json).toEqual({ phoneNumber: '138****5678' })
    expect(phonesStored.at(-1)).toEqual({ userId: s.user.id, info: expect.objectContaining({ purePhoneNumber: '13812345678', countryCode: '86' }) })
    expectError(await call('/api/auth/phone', { body: { code: fake.mintPhoneCode('13812345678') } }), 401, 'unauthorized')
    expectError(await call('/api/auth/phone', { body: {}, token: s.token }), 400, 'code_required')
    expect(maskPhoneNumber('13812345678')).toBe('138****5678')
    expect(maskPhoneNumber('123456')).toBe('****56')
  })

  test('logout → 204; the token and its refresh family stop working', async () => {
    const s = await login()
    const out = await call('/api/auth/logout', { token: s.token })
    expect(out.status).toBe(204)
    expect(out.text).toBe('')
    expectError(await call('/api/me', { method: 'GET', token: s.token }), 401, 'token_revoked')
    expect((await call('/api/auth/refresh', { body: { refreshToken: s.refreshToken } })).status).toBe(401)
    expectError(await call('/api/auth/logout', { token: s.token }), 401, 'token_revoked')
  })
})

describe('bad input: the right status and a stable error code, never a 500 or a stack', () => {
  test('login bodies', async () => {
    expectError(await call('/api/auth/login', { raw: '{"code": "abc' }), 400, 'invalid_json')
    expectError(await call('/api/auth/login', { raw: '{}' }), 400, 'code_required')
    expectError(await call('/api/auth/login', { body: { code: '' } }), 400, 'code_required')
    expectError(await call('/api/auth/login', { body: { code: 'x'.repeat(129) } }), 400, 'code_too_long')
    expectError(await call('/api/auth/login', { body: { code: 12345678 } }), 400, 'bad_request')
    expectError(await call('/api/auth/login', { body: ['code'] }), 400, 'bad_request')
    expectError(await call('/api/auth/login', { body: 'just a string' }), 400, 'bad_request')
    expectError(await call('/api/auth/login', { body: { code: fake.mintCode('o-x'), platform: 'symbian' } }), 400, 'unsupported_platform')
    expectError(await call('/api/auth/login', { raw: 'code=abc', type: 'application/x-www-form-urlencoded' }), 400, 'bad_request')
    expectError(await call('/api/auth/login', { raw: 'abc', type: 'text/plain' }), 400, 'bad_request')
    expectError(await call('/api/auth/login', { body: { code: 'a', pad: 'x'.repeat(20 * 1024) } }), 413, 'payload_too_large')
    // a huge body is refused by its content-length, before it is read
    const huge = await call('/api/auth/login', { raw: JSON.stringify({ code: 'x'.repeat(2 * 1024 * 1024) }) })
    expectError(huge, 413, 'payload_too_large')
  })

  test('refresh: in the query string it is refused, even with a body; missing; garbage', async () => {
    const s = await login()
    const inQuery = await call('/api/auth/refresh?refreshToken=' + encodeURIComponent(s.refreshToken), { body: { refreshToken: s.refreshToken } })
    expectError(inQuery, 400, 'refresh_token_in_query')
    expectError(await call('/api/auth/refresh?refresh_token=x'), 400, 'refresh_token_in_query')
    // the refused call did not spend it
    expect((await call('/api/auth/refresh', { body: { refreshToken: s.refreshToken } })).status).toBe(200)
    expectError(await call('/api/auth/refresh', { body: {} }), 400, 'refresh_token_required')
    expectError(await call('/api/auth/refresh', { raw: '{"refreshToken":' }), 400, 'invalid_json')
    expectError(await call('/api/auth/refresh', { body: { refreshToken: 'garbage' } }), 401, 'invalid_refresh_token')
    expectError(await call('/api/auth/refresh', { body: { refreshToken: 'z'.repeat(5000) } }), 401, 'invalid_refresh_token')
  })

  test('access tokens: missing, garbage, alg:none, wrong key, expired', async () => {
    const s = await login()
    const [header, payload] = s.token.split('.')
    const none = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' })) + '.' + payload + '.'
    const wrongKey = await new SignJWT(JSON.parse(Buffer.from(payload, 'base64url').toString()))
      .setProtectedHeader(JSON.parse(Buffer.from(header, 'base64url').toString()))
      .sign(new TextEncoder().encode('another-secret-that-is-32-bytes-long!!'))
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'unauthorized'],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, 'unauthorized'],
      [{ authorization: 'Bearer' }, 'unauthorized'],
      [{ authorization: 'Bearer not-a-jwt' }, 'invalid_token'],
      [{ authorization: 'Bearer ' + none }, 'invalid_token'],
      [{ authorization: 'Bearer ' + wrongKey }, 'invalid_token'],
      [{ authorization: 'Bearer ' + 'a'.repeat(10000) }, 'invalid_token'],
    ]
    for (const [headers, error] of cases) {
      const r = await call('/api/me', { method: 'GET', headers })
      expectError(r, 401, error)
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/)
    }
    clockSkewMs = (s.expiresIn + 60) * 1000
    try {
      expectError(await call('/api/me', { method: 'GET', token: s.token }), 401, 'token_expired')
    } finally {
      clockSkewMs = 0
    }
    expect((await call('/api/me', { method: 'GET', token: s.token })).status).toBe(200)
  })

  test('unknown routes under the prefix → 404 not_found in the same shape', async () => {
    expectError(await call('/api/auth/nope?refreshToken=secret'), 404, 'not_found')
  })
})

describe('WeChat down or slow', () => {
  test('unreachable → 502 wechat_unreachable; slow → 504 wechat_timeout; then it works again', async () => {
    await fake.stop()
    try {
      expectError(await call('/api/auth/login', { body: { code: 'some-code-123' } }), 502, 'wechat_unreachable')
    } finally {
      await fake.start()
    }
    const code = fake.mintCode('o-slow')
    fake.delay('jscode2session', 1500, { times: 1 })
    expectError(await call('/api/auth/login', { body: { code } }), 504, 'wechat_timeout')
    fake.html('jscode2session', { times: 1 })
    expectError(await call('/api/auth/login', { body: { code: fake.mintCode('o-slow') } }), 502, 'wechat_bad_response')
    fake.fail('jscode2session', -1, { times: 1 })
    expectError(await call('/api/auth/login', { body: { code: fake.mintCode('o-slow') } }), 503, 'wechat_busy')
    fake.fail('jscode2session', 45011, { times: 1 })
    expectError(await call('/api/auth/login', { body: { code: fake.mintCode('o-slow') } }), 429, 'wechat_rate_limited')
    await login('o-slow')
  })
})

describe('Redis down', () => {
  test('503 store_unavailable, fast, the process stays up; back to 200 once Redis returns, without a restart', async () => {
    const s = await login()
    await redis.stop()
    try {
      const started = Date.now()
      const answers = await Promise.all([
        call('/api/auth/login', { body: { code: fake.mintCode('o-redis') } }),
        call('/api/auth/refresh', { body: { refreshToken: s.refreshToken } }),
        call('/api/me', { method: 'GET', token: s.token }), // revocation check needs the store
        call('/api/auth/logout', { token: s.token }),
      ])
      for (const r of answers) expectError(r, 503, 'store_unavailable')
      // fail fast: no waiting for a reconnect (generous bound; it is ~ms, a hang would be seconds)
      expect(Date.now() - started).toBeLessThan(3000)
      // bad input is still refused without the store
      expectError(await call('/api/auth/login', { raw: '{' }), 400, 'invalid_json')
    } finally {
      await redis.restart()
    }
    const deadline = Date.now() + 10000
    let r: Answer
    for (;;) {
      r = await call('/api/auth/login', { body: { code: fake.mintCode('o-redis') } })
      if (r.status === 200 || Date.now() > deadline) break
      expect(r.status).toBe(503)
      await new Promise((res) => setTimeout(res, 100))
    }
    expect(r.status).toBe(200)
    expect((await call('/api/me', { method: 'GET', token: r.json!.token })).status).toBe(200)
  })
})

describe('options, limits and unexpected errors (a small app of their own per test)', () => {
  /** Runs `fn` against a fresh fastify app on its own port. */
  async function withApp(a: FastifyInstance, fn: (url: string) => Promise<void>): Promise<void> {
    try {
      const url = await a.listen({ host: '127.0.0.1', port: 0 })
      await fn(url)
    } finally {
      await a.close()
    }
  }
  async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
    return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> }
  }

  test('login rate limit per request.ip → 429 rate_limited with retry-after; another client is unaffected', async () => {
    const limited = createAuthServer({ appid: APPID, secret: SECRET, jwt: { secret: JWT_SECRET }, wxApiBase: fake.url, loginRateLimit: { max: 2, windowSeconds: 60 } })
    // behind a trusted proxy (loopback), request.ip is the client's address from X-Forwarded-For
    const small = Fastify({ trustProxy: '127.0.0.1' })
    await small.register(weappAuth, { auth: limited, prefix: '/auth' })
    await withApp(small, async (url) => {
      const from = (ip: string) => post(url + '/auth/login', { code: fake.mintCode('o-' + ip) }, { 'x-forwarded-for': ip })
      expect((await from('10.0.0.7')).status).toBe(200)
      expect((await from('10.0.0.7')).status).toBe(200)
      const third = await from('10.0.0.7')
      expect(third.status).toBe(429)
      expect(third.json.error).toBe('rate_limited')
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(Number(third.headers.get('retry-after'))).toBeLessThanOrEqual(60)
      expect((await from('10.0.0.8')).status).toBe(200)
      // the prefix moved the routes
      expect((await post(url + '/api/auth/login', {})).status).toBe(404)
    })
    await limited.close()
  })

  test('an unexpected error → 500 internal_error without details; the error is logged', async () => {
    const logged: string[] = []
    const real = createAuthServer({ appid: APPID, secret: SECRET, jwt: { secret: JWT_SECRET }, wxApiBase: fake.url, store: memoryStore() })
    const broken: AuthServer = Object.assign(Object.create(null), real, {
      login: async () => {
        throw new Error('database exploded at /srv/secret/path')
      },
    })
    const a = Fastify({ logger: { level: 'error', stream: { write: (l: string) => void logged.push(l) } } })
    await a.register(weappAuth, { auth: broken })
    await withApp(a, async (url) => {
      const r = await post(url + '/api/auth/login', { code: 'abcdef' })
      expect(r.status).toBe(500)
      expect(r.json).toEqual({ error: 'internal_error', message: 'Internal error' })
      expect(logged.join('')).toMatch(/database exploded/)
    })
    await real.close()
  })

  test('onPhoneNumber may shape the answer', async () => {
    const a = Fastify()
    await a.register(weappAuth, { auth, onPhoneNumber: (_id, info) => ({ bound: true, countryCode: info.countryCode }) })
    await withApp(a, async (url) => {
      const s = await login()
      const r = await post(url + '/api/auth/phone', { code: fake.mintPhoneCode('13900001111') }, { authorization: 'Bearer ' + s.token })
      expect(r.json).toEqual({ bound: true, countryCode: '86' })
    })
  })

  test('wrong plugin options fail at startup with a clear message', async () => {
    for (const [opts, message] of [
      [{}, /options.auth must be the AuthServer/],
      [{ auth, prefix: 'api/auth' }, /prefix must be/],
      [{ auth, prefix: '/api/auth/' }, /prefix must be/],
      [{ auth, bodyLimit: 10 }, /bodyLimit/],
    ] as const) {
      const a = Fastify()
      a.register(weappAuth, opts as never)
      await expect(a.ready()).rejects.toThrow(message)
      await a.close().catch(() => undefined)
    }
  })
})

test('no response body carried a stack trace, a session_key or an openid', () => {
  expect(bodies.length).toBeGreaterThan(40)
  for (const text of bodies) {
    expect(text).not.toMatch(/\n\s+at /)
    expect(text).not.toMatch(/session_?key|openid|unionid/i)
  }
})

test('every error code the kit can send is in the documented error table, with its status', async () => {
  const { ERROR_STATUS } = await import('weapp-auth-server')
  const fs = await import('node:fs')
  const path = await import('node:path')
  // The table lives in the server docs: its README or a page of docs/guide/ (English).
  const guides = path.join(__dirname, '..', '..', 'docs', 'guide')
  const files = [path.join(__dirname, '..', 'README.md'), ...(fs.existsSync(guides) ? fs.readdirSync(guides).filter((f) => f.endsWith('.md')).map((f) => path.join(guides, f)) : [])]
  const docs = files.map((file) => fs.readFileSync(file, 'utf8')).join('\n')
  const rows = docs.split('\n').filter((l) => /^\| \d{3} \| `/.test(l))
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    const row = rows.find((r) => r.split('|')[2].includes('`' + code + '`'))
    expect({ code, row: row ? Number(row.split('|')[1]) : 'missing' }).toEqual({ code, row: status })
  }
})

describe("the ready-made app's log lines (buildApp)", () => {
  /** One raw HTTP/1.1 request: the path exactly as written (Node's parser refuses quotes and backslashes in it). */
  function raw(port: number, head: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(head))
      let text = ''
      socket.on('data', (b) => (text += b))
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
  }

  test('one JSON line per request, whatever the path holds; an error logged through the request keeps its request id', async () => {
    const lines: string[] = []
    const broken: AuthServer = Object.assign(Object.create(null), auth, {
      authenticate: async () => {
        throw new Error('disk on fire at /srv/secret/path')
      },
    })
    const a = buildApp({ auth: broken, log: { write: (line) => void lines.push(line) } })
    const url = await a.listen({ host: '127.0.0.1', port: 0 })
    try {
      const port = Number(new URL(url).port)
      const odd = await raw(port, "GET /no/such/%22a%5Cb'c~|^?code=secret-code HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
      expect(odd).toMatch(/^HTTP\/1\.1 404/)
      const s = await login()
      const failed = await fetch(url + '/api/user/me', { headers: { authorization: `Bearer ${s.token}` } })
      expect(failed.status).toBe(500)
      const ok = await fetch(url + '/healthz')
      expect(ok.status).toBe(200)
    } finally {
      await a.close()
    }
    const parsed = lines.map((line) => {
      expect(line.endsWith('\n')).toBe(true)
      return JSON.parse(line) as Record<string, unknown>
    })
    const requests = parsed.filter((l) => l.msg === 'request')
    expect(requests.map((l) => [l.method, l.route, l.status])).toEqual([
      ['GET', "/no/such/%22a%5Cb'c~|^", 404],
      ['GET', '/api/user/me', 500],
      ['GET', '/healthz', 200],
    ])
    for (const l of requests) expect(l).toEqual({ level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/), reqId: expect.stringMatching(/^[0-9a-f-]{36}$/), method: 'GET', route: expect.any(String), status: expect.any(Number), ms: expect.any(Number), msg: 'request' })
    const error = parsed.find((l) => l.msg === 'unexpected error') as { level: string; reqId: string; err: { message: string } }
    expect(error).toMatchObject({ level: 'error', reqId: requests[1].reqId, err: { message: 'disk on fire at /srv/secret/path' } })
    expect(lines.join('')).not.toMatch(/secret-code/)
  })
})
