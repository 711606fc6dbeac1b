/**
 * Issue 7: the fault matrix. One row per fault, through the public API with `weapp-auth/testing`.
 *
 * Each row says what is broken, what the app does meanwhile, and one expectation:
 *   - `settles`: what EVERY pending call (login / checkAndLogin / requests) settles with;
 *   - `stored`:  what the storage record ends as: the old session, a full new one, or none;
 *   - `events`:  the codes of the `error` events, in order (one per failed login/refresh
 *                attempt, one per storage failure).
 * After every row nothing is left in flight, queued or in a login phase.
 */
import { AbortError, AuthError, NetworkError, TimeoutError, createAbortController, createAuth, type Auth, type AuthOptions, type Platform } from 'weapp-auth'
import { createFakeAuthServer, createFakeWx, type FakeAuthServer, type FakeWx } from 'weapp-auth/testing'

const BASE = 'https://api.example.com'
const KEY = 'weapp-auth'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Ctx {
  fake: FakeWx
  server: FakeAuthServer
  auth: Auth
  /** The token of the session in place before the fault, when the row starts logged in. */
  old: string | null
  /** Requests to the protected test route. */
  items(n: number): Array<Promise<unknown>>
}

type ErrorClass = new (...args: never[]) => Error
type Outcome = { ok: true } | { error: ErrorClass; code: string; extra?: Record<string, unknown> }
type Stored = 'old' | 'new' | 'none'

interface Row {
  fault: string
  /** Starting point: a stored session ('logged-in') or none. */
  start: 'logged-in' | 'logged-out'
  /** Runs before createAuth: seed storage, wrap the platform, change options. */
  given?: (fake: FakeWx, server: FakeAuthServer) => { options?: Partial<AuthOptions>; platform?: Platform } | void
  /** Breaks something and returns the calls that must settle. */
  act: (c: Ctx) => Array<Promise<unknown>> | Promise<Array<Promise<unknown>>>
  settles: Outcome
  stored: Stored
  events: string[]
  /** Row-specific checks beyond the three columns (kept short). */
  also?: (c: Ctx) => void | Promise<void>
}

const ok: Outcome = { ok: true }
const rejects = (error: ErrorClass, code: string, extra?: Record<string, unknown>): Outcome => ({ error, code, extra })

/** The app at launch: checkAndLogin plus three requests that wait for it. */
const launch = (c: Ctx) => [c.auth.checkAndLogin(), ...c.items(3)]
/** A burst of requests carrying the old token, refused by the server. */
const expiredBurst = (c: Ctx) => {
  c.server.expireTokens()
  return c.items(5)
}
/** Waits until the SDK is in `phase` (a login or refresh in flight). */
async function until(auth: Auth, phase: string): Promise<void> {
  for (let i = 0; i < 500 && auth.debugState().phase !== phase; i++) await sleep(1)
  expect(auth.debugState().phase).toBe(phase)
}
/** A platform whose RequestTask.abort() does nothing, so a cancelled login's answer still arrives late. */
const ignoringAbort = (fake: FakeWx): Platform =>
  Object.assign({}, fake.wx, {
    request: (o: Record<string, unknown>) => {
      fake.wx.request(o)
      return { abort() {} }
    },
  }) as unknown as Platform
const slowLogin = (ms: number) => (fake: FakeWx) => fake.setLatency((r) => (r.path === '/api/auth/login' || r.path === '/api/auth/refresh' ? ms : 1))
const withRefresh = { refresh: { url: '/api/auth/refresh' } }

// prettier-ignore
const rows: Row[] = [
  // ── wx.login ─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
  { fault: 'wx.login fails',                          start: 'logged-out', act: (c) => { c.fake.behavior.login = 'fail'; return launch(c) },                  settles: rejects(AuthError, 'WX_LOGIN_FAILED'),   stored: 'none', events: ['WX_LOGIN_FAILED'] },
  { fault: 'wx.login succeeds without a code',        start: 'logged-out', act: (c) => { c.fake.behavior.login = 'no-code'; return launch(c) },               settles: rejects(AuthError, 'WX_LOGIN_FAILED'),   stored: 'none', events: ['WX_LOGIN_FAILED'] },
  { fault: 'wx.login never calls back (login.timeout)', start: 'logged-out', given: () => ({ options: { login: { url: '/api/auth/login', timeout: 40 } } }),
    act: (c) => { c.fake.behavior.login = 'hang'; return launch(c) },                                                                                      settles: rejects(TimeoutError, 'TIMEOUT'),        stored: 'none', events: ['TIMEOUT'] },
  // ── the login request ────────────────────────────────────────────────────────────────────────────────────────────────────────────
  { fault: 'login request: network error',            start: 'logged-out', act: (c) => { c.fake.setHandler(() => ({ networkError: 'net::ERR_CONNECTION_RESET' })); return launch(c) },
                                                                                                                                                           settles: rejects(NetworkError, 'NETWORK_ERROR'),  stored: 'none', events: ['NETWORK_ERROR'] },
  { fault: 'login request: timeout',                  start: 'logged-out', given: () => ({ options: { login: { url: '/api/auth/login', timeout: 40 } } }),
    act: (c) => { c.fake.setHandler(() => ({ hang: true })); return launch(c) },                                                                           settles: rejects(TimeoutError, 'TIMEOUT'),        stored: 'none', events: ['TIMEOUT'] },
  { fault: 'login endpoint: HTTP 500',                start: 'logged-out', act: (c) => { c.server.loginStatus = 500; return launch(c) },                      settles: rejects(AuthError, 'LOGIN_REJECTED', { statusCode: 500 }), stored: 'none', events: ['LOGIN_REJECTED'] },
  { fault: 'login endpoint: 400 + WeChat errcode',    start: 'logged-out', act: (c) => { c.fake.setHandler(() => ({ statusCode: 400, data: { errcode: 40163, errmsg: 'code been used' } })); return launch(c) },
                                                                                                                                                           settles: rejects(AuthError, 'LOGIN_REJECTED', { statusCode: 400, errno: 40163 }), stored: 'none', events: ['LOGIN_REJECTED'] },
  { fault: 'login endpoint: HTML body',               start: 'logged-out', act: (c) => { c.fake.setHandler(() => ({ data: '<html><h1>502 Bad Gateway</h1></html>' })); return launch(c) },
                                                                                                                                                           settles: rejects(AuthError, 'BAD_LOGIN_RESPONSE'), stored: 'none', events: ['BAD_LOGIN_RESPONSE'] },
  { fault: 'login endpoint: JSON without a token',    start: 'logged-out', act: (c) => { c.fake.setHandler(() => ({ data: { code: 0, data: { user: { id: 1 } } } })); return launch(c) },
                                                                                                                                                           settles: rejects(AuthError, 'BAD_LOGIN_RESPONSE'), stored: 'none', events: ['BAD_LOGIN_RESPONSE'] },
  { fault: 're-login after a 401 fails (HTTP 503)',   start: 'logged-in',  act: (c) => { c.server.loginStatus = 503; return expiredBurst(c) },               settles: rejects(AuthError, 'LOGIN_REJECTED', { statusCode: 503 }), stored: 'none', events: ['LOGIN_REJECTED'] },
  // ── refresh ──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
  { fault: 'refresh endpoint: HTTP 500 → full login', start: 'logged-in',  given: () => ({ options: withRefresh }),
    act: (c) => { c.server.refreshStatus = 500; return expiredBurst(c) },                                                                                  settles: ok,                                      stored: 'new',  events: ['LOGIN_REJECTED'] },
  { fault: 'refresh endpoint: network error → login', start: 'logged-in',  given: () => ({ options: withRefresh }),
    act: (c) => { const h = c.server.handler; c.fake.setHandler((r) => (r.path === '/api/auth/refresh' ? { networkError: 'net::ERR_TIMED_OUT' } : h(r))); return expiredBurst(c) },
                                                                                                                                                           settles: ok,                                      stored: 'new',  events: ['NETWORK_ERROR'] },
  { fault: 'refresh and the fallback login both fail', start: 'logged-in', given: () => ({ options: withRefresh }),
    act: (c) => { c.server.refreshStatus = 401; c.server.loginStatus = 500; return expiredBurst(c) },                                                      settles: rejects(AuthError, 'LOGIN_REJECTED', { statusCode: 500 }), stored: 'none', events: ['LOGIN_REJECTED', 'LOGIN_REJECTED'] },
  // ── wx.checkSession ──────────────────────────────────────────────────────────────────────────────────────────────────────────────
  { fault: 'wx.checkSession fails → new login',       start: 'logged-in',  act: (c) => { c.fake.behavior.checkSession = false; return launch(c) },           settles: ok,                                      stored: 'new',  events: [] },
  { fault: 'wx.checkSession fails and login fails',   start: 'logged-in',  act: (c) => { c.fake.behavior.checkSession = false; c.fake.behavior.login = 'fail'; return [c.auth.checkAndLogin()] },
                                                                                                                                                           settles: rejects(AuthError, 'WX_LOGIN_FAILED'),   stored: 'old',  events: ['WX_LOGIN_FAILED'] },
  // ── storage ──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
  { fault: 'storage read throws',                     start: 'logged-out', given: (f) => { f.behavior.storageRead = 'throw' },                               act: launch,
                                                                                                                                                           settles: ok,                                      stored: 'new',  events: ['STORAGE_FAILED'] },
  { fault: 'storage write throws (works in memory)',  start: 'logged-out', given: (f) => { f.behavior.storageWrite = 'throw' },                              act: launch,
                                                                                                                                                           settles: ok,                                      stored: 'none', events: ['STORAGE_FAILED'],
    also: (c) => expect(c.auth.getToken()).toBe(c.server.validTokens()[0]) },
  { fault: 'storage holds corrupt JSON',              start: 'logged-out', given: (f) => f.wx.setStorageSync(KEY, '{"v":1,"token":'),                      act: launch,
                                                                                                                                                           settles: ok,                                      stored: 'new',  events: ['STORAGE_CORRUPT'] },
  { fault: "storage holds a foreign record",          start: 'logged-out', given: (f) => f.wx.setStorageSync(KEY, { accessToken: 'other-lib', uid: 7 }),     act: launch,
                                                                                                                                                           settles: ok,                                      stored: 'new',  events: ['STORAGE_CORRUPT'],
    also: (c) => expect(c.fake.requests.some((r) => JSON.stringify(r.header).includes('other-lib'))).toBe(false) },
  { fault: 'logout() while storage writes throw',     start: 'logged-in',  act: (c) => { c.fake.behavior.storageWrite = 'throw'; c.auth.logout(); return [] },
                                                                                                                                                           settles: ok,                                      stored: 'old',  events: ['STORAGE_FAILED'],
    also: (c) => expect(c.auth.getToken()).toBeNull() /* logged out in memory; the record could not be removed (documented) */ },
  // ── logout races ─────────────────────────────────────────────────────────────────────────────────────────────────────────────────
  { fault: 'logout() while the login request is in flight', start: 'logged-out', given: slowLogin(30),
    act: async (c) => { const p = launch(c); await until(c.auth, 'logging-in'); c.auth.logout(); return p },                                              settles: rejects(AuthError, 'LOGGED_OUT'),        stored: 'none', events: [] },
  { fault: 'logout() during login; the late answer still arrives', start: 'logged-out', given: (f) => { slowLogin(30)(f); return { platform: ignoringAbort(f) } },
    act: async (c) => { const p = launch(c); await until(c.auth, 'logging-in'); c.auth.logout(); return p },                                              settles: rejects(AuthError, 'LOGGED_OUT'),        stored: 'none', events: [],
    also: async (c) => { expect(c.server.stats.logins).toBe(1); expect(c.auth.getToken()).toBeNull() } },
  { fault: 'logout() while wx.login has not answered', start: 'logged-out', given: () => ({ options: { login: { url: '/api/auth/login', timeout: 40 } } }),
    act: async (c) => { c.fake.behavior.login = 'hang'; const p = launch(c); await until(c.auth, 'logging-in'); c.auth.logout(); return p },
                                                                                                                                                           settles: rejects(AuthError, 'LOGGED_OUT'),        stored: 'none', events: [] },
  { fault: 'a 401 that arrives after logout()',       start: 'logged-in',  given: (f) => f.setLatency(20),
    act: async (c) => { const p = expiredBurst(c); await sleep(5); c.auth.logout(); return p },                                                           settles: rejects(AuthError, 'LOGGED_OUT'),        stored: 'none', events: [],
    also: (c) => expect(c.fake.calls.login).toBe(1) /* the first launch's only: no login on behalf of abandoned requests */ },
  { fault: 'logout() while a beforeRequest hook runs', start: 'logged-in', given: () => ({ options: { hooks: { beforeRequest: () => sleep(10).then(() => undefined) } } }),
    act: async (c) => { const p = c.items(3); await sleep(2); c.auth.logout(); return p },                                                                settles: rejects(AuthError, 'LOGGED_OUT'),        stored: 'none', events: [],
    also: (c) => expect(c.fake.calls.login).toBe(1) },
  { fault: 'logout() during a burst of 401 retries',  start: 'logged-in',  given: (f) => f.setLatency((r) => (r.path === '/api/auth/login' ? 30 : 1 + (Number(r.query.i) % 4) * 3)),
    act: async (c) => { const p = expiredBurst(c); await until(c.auth, 'logging-in'); c.auth.logout(); return p },                                        settles: rejects(AuthError, 'LOGGED_OUT'),        stored: 'none', events: [],
    also: (c) => expect(c.server.stats.logins).toBe(2) /* the first launch's and the abandoned one: none after logout */ },
  { fault: 'logout() while a refresh is in flight',   start: 'logged-in',  given: (f) => { slowLogin(30)(f); return { options: withRefresh } },
    act: async (c) => { const p = expiredBurst(c); await until(c.auth, 'refreshing'); c.auth.logout(); return p },                                        settles: rejects(AuthError, 'LOGGED_OUT'),        stored: 'none', events: [] },
  // ── abort ────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
  { fault: 'request aborted while waiting for the login', start: 'logged-out', given: slowLogin(30),
    act: (c) => { const ctrl = createAbortController(); const p = c.auth.get('/api/items', { signal: ctrl.signal }); void c.auth.login(); setTimeout(() => ctrl.abort(), 5); return [p] },
                                                                                                                                                           settles: rejects(AbortError, 'ABORTED'),          stored: 'new',  events: [],
    also: (c) => expect(c.fake.requests.filter((r) => r.path === '/api/items')).toHaveLength(0) },
  // ── isolation ────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
  { fault: "two instances, different storageKeys",    start: 'logged-in',
    act: async (c) => {
      const other = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: c.fake.wx, storageKey: 'second' })
      expect(other.getToken()).toBeNull()
      const mine = await other.login()
      expect(c.auth.getToken()).toBe(c.old)
      other.logout()
      expect(c.fake.storageSnapshot()[KEY]).toMatchObject({ token: c.old })
      return [c.auth.get('/api/items'), Promise.resolve(mine)]
    },                                                                                                                                                     settles: ok,                                      stored: 'old',  events: [] },
]

async function runRow(row: Row) {
  const fake = createFakeWx()
  const server = createFakeAuthServer(fake)
  fake.setHandler(server.handler)
  server.route('GET', '/api/items', (req, ctx) => ({ data: { user: ctx.userId, i: req.query.i } }))
  let old: string | null = null
  if (row.start === 'logged-in') {
    // A previous launch stored a session.
    const before = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx })
    old = (await before.login()).token
  }
  const given = (row.given && row.given(fake, server)) || {}
  const auth = createAuth(
    Object.assign({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: given.platform || (fake.wx) }, given.options || {}) as AuthOptions,
  )
  const events: Error[] = []
  auth.on('error', (e) => events.push(e))
  let n = 0
  const ctx: Ctx = { fake, server, auth, old, items: (k) => Array.from({ length: k }, () => auth.get('/api/items', { data: { i: n++ } })) }

  const pending = await row.act(ctx)
  // Every call settles (a 3 s guard turns a hang into a readable failure).
  let guard: ReturnType<typeof setTimeout> | undefined
  const hang = new Promise<'still pending'>((r) => (guard = setTimeout(() => r('still pending'), 3000)))
  const outcomes = await Promise.all(pending.map((p) => Promise.race([p.then(() => 'ok' as const, (e: unknown) => e), hang])))
  clearTimeout(guard)
  // Let late answers arrive (the rows with a slow or abandoned login), then check the end state.
  await sleep(60)
  await fake.idle()
  return { ctx, outcomes, events }
}

describe('fault matrix: every pending call settles as documented, storage stays consistent, error events as documented', () => {
  test.each(rows.map((r) => [r.fault, r] as const))('%s', async (_name, row) => {
    const { ctx, outcomes, events } = await runRow(row)
    const { auth, fake, old } = ctx

    // 1. every pending call settled with the documented outcome
    for (const o of outcomes) {
      if ('ok' in row.settles) expect(o).toBe('ok')
      else {
        expect(o).toBeInstanceOf(row.settles.error)
        expect(o).toMatchObject(Object.assign({ code: row.settles.code }, row.settles.extra || {}))
      }
    }

    // 2. storage: the old session, a full new one, or none, and memory agrees
    const record = fake.storageSnapshot()[KEY] as { v: number; token: string } | undefined
    if (row.stored === 'none') expect(record).toBeUndefined()
    if (row.stored === 'old') expect(record).toMatchObject({ v: 1, token: old })
    if (row.stored === 'new') {
      expect(record).toMatchObject({ v: 1, token: expect.any(String) })
      expect(record!.token).not.toBe(old)
      expect(fake.behavior.storageRead === 'throw' ? record!.token : auth.getToken()).toBe(record!.token)
    }
    if (row.stored === 'none' && fake.behavior.storageWrite !== 'throw') expect(auth.getToken()).toBeNull()

    // 3. error events: one per failed attempt or storage failure, in order
    expect(events.map((e) => (e as AuthError).code)).toEqual(row.events)

    // nothing left behind
    expect(auth.debugState()).toEqual({ phase: 'idle', loggedIn: auth.isLoggedIn(), activeRequests: 0, queuedRequests: 0, listeners: 1 })
    expect(fake.network.active).toBe(0)
    if (row.also) await row.also(ctx)
  })

  test('the table covers every fault the issue lists', () => {
    expect(rows.length).toBeGreaterThanOrEqual(20)
    expect(new Set(rows.map((r) => r.fault)).size).toBe(rows.length)
  })
})

describe('after a failed row the SDK recovers', () => {
  test('a login that failed on the network works on the next call, with a fresh code', async () => {
    const fake = createFakeWx()
    const server = createFakeAuthServer(fake)
    fake.setHandler(() => ({ networkError: 'net::ERR_INTERNET_DISCONNECTED' }))
    const auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx })
    auth.on('error', () => undefined)
    await expect(auth.login()).rejects.toBeInstanceOf(NetworkError)
    fake.setHandler(server.handler)
    await expect(auth.login()).resolves.toHaveProperty('token')
    expect(server.stats.rejectedCodes).toBe(0)
  })

  test('after logout() abandoned a login, the next login() is a new attempt that succeeds', async () => {
    const fake = createFakeWx({ latency: 20 })
    const server = createFakeAuthServer(fake)
    fake.setHandler(server.handler)
    const auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx })
    const first = auth.login()
    await sleep(5)
    auth.logout()
    const second = auth.login()
    await expect(first).rejects.toMatchObject({ code: 'LOGGED_OUT' })
    const s = await second
    expect(auth.getToken()).toBe(s.token)
    expect(fake.storageSnapshot()[KEY]).toMatchObject({ token: s.token })
  })
})
