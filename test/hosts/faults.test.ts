/**
 * Issue 12: the fault matrix (test/faults.test.ts) on every host. Each fault is injected through
 * the host's fake, so it reaches the SDK in the host's own shapes (Douyin's `errNo`, Alipay's
 * `{ error, errorMessage }`, HTTP errors through Alipay's `fail`, Alipay storage that reports
 * instead of throwing), and the adapter must turn it into the same outcome on every host:
 *   - `settles`: what every pending call (checkAndLogin and requests) settles with;
 *   - `stored`: the storage record ends as the old session, a new one, or none;
 *   - `events`: the codes of the `error` events, in order.
 * After every row nothing is in flight, queued or in a login phase.
 */
import { AuthError, HttpError, NetworkError, TimeoutError, type Auth, type AuthOptions } from 'weapp-auth'
import { EACH_HOST, KEY, LOGIN, REFRESH, sleep, world, type HostCase, type World } from './hosts'

type Stored = 'old' | 'new' | 'none'
type ErrorClass = new (...args: never[]) => Error
type Outcome = { ok: true } | { error: ErrorClass; code: string; extra?: Record<string, unknown> }

interface Row {
  fault: string
  start: 'logged-in' | 'logged-out'
  /** Options for the instance under test. */
  options?: Partial<AuthOptions>
  /** Before the instance is created (seeds storage the host's way). */
  given?: (w: World) => void
  act: (w: World, items: (n: number) => Array<Promise<unknown>>) => Array<Promise<unknown>> | Promise<Array<Promise<unknown>>>
  settles: Outcome | ((c: HostCase) => Outcome)
  stored: Stored | ((c: HostCase) => Stored)
  events: string[] | ((c: HostCase) => string[])
  also?: (w: World, auth: Auth, c: HostCase) => void
}

const ok: Outcome = { ok: true }
const rejects = (error: ErrorClass, code: string, extra?: Record<string, unknown>): Outcome => ({ error, code, extra })
const launch = (auth: Auth, items: (n: number) => Array<Promise<unknown>>) => [auth.checkAndLogin(), ...items(3)]
const withRefresh = { refresh: { url: REFRESH } }
const shortLogin = { login: { url: LOGIN, timeout: 40 } }

async function until(auth: Auth, phase: string): Promise<void> {
  for (let i = 0; i < 500 && auth.debugState().phase !== phase; i++) await sleep(1)
  expect(auth.debugState().phase).toBe(phase)
}

// prettier-ignore
const rows: Row[] = [
  // ── the host's login call ───────────────────────────────────────────────────────────────────────
  { fault: 'host login fails', start: 'logged-out',
    act: (w, items) => { w.fake.behavior.login = 'fail'; return [w.auth.checkAndLogin(), ...items(3)] },
    settles: rejects(AuthError, 'WX_LOGIN_FAILED'), stored: 'none', events: ['WX_LOGIN_FAILED'],
    also: (w, _a, c) => expect(w.errors[0]).toMatchObject({ errMsg: expect.stringMatching(c.loginFailure), errno: c.loginErrno }) },
  { fault: 'host login succeeds without a code (Douyin: a guest with an anonymous code)', start: 'logged-out',
    act: (w, items) => { w.fake.behavior.login = 'no-code'; return [w.auth.checkAndLogin(), ...items(3)] },
    settles: (c) => (c.guestLogin ? ok : rejects(AuthError, 'WX_LOGIN_FAILED')), stored: (c) => (c.guestLogin ? 'new' : 'none'), events: (c) => (c.guestLogin ? [] : ['WX_LOGIN_FAILED']),
    also: (w, auth, c) => expect(auth.getToken()).toBe(c.guestLogin ? w.server.validTokens()[0] : null) },
  { fault: 'host login never calls back (login.timeout)', start: 'logged-out', options: shortLogin,
    act: (w, items) => { w.fake.behavior.login = 'hang'; return [w.auth.checkAndLogin(), ...items(3)] },
    settles: rejects(TimeoutError, 'TIMEOUT'), stored: 'none', events: ['TIMEOUT'] },
  // ── the login request ───────────────────────────────────────────────────────────────────────────
  { fault: 'login request: network error', start: 'logged-out',
    act: (w, items) => { w.fake.setHandler(() => ({ networkError: 'net::ERR_CONNECTION_RESET' })); return launch(w.auth, items) },
    settles: rejects(NetworkError, 'NETWORK_ERROR'), stored: 'none', events: ['NETWORK_ERROR'] },
  { fault: 'login request: no answer (timeout)', start: 'logged-out', options: shortLogin,
    act: (w, items) => { w.fake.setHandler(() => ({ hang: true })); return launch(w.auth, items) },
    settles: rejects(TimeoutError, 'TIMEOUT'), stored: 'none', events: ['TIMEOUT'] },
  { fault: 'login endpoint: HTTP 500', start: 'logged-out',
    act: (w, items) => { w.server.loginStatus = 500; return launch(w.auth, items) },
    settles: rejects(AuthError, 'LOGIN_REJECTED', { status: 500 }), stored: 'none', events: ['LOGIN_REJECTED'] },
  { fault: 'login endpoint: 400 with an errcode', start: 'logged-out',
    act: (w, items) => { w.fake.setHandler(() => ({ statusCode: 400, data: { errcode: 40163, errmsg: 'code been used' } })); return launch(w.auth, items) },
    settles: rejects(AuthError, 'LOGIN_REJECTED', { status: 400, errno: 40163 }), stored: 'none', events: ['LOGIN_REJECTED'] },
  { fault: 'login endpoint: HTML body', start: 'logged-out',
    act: (w, items) => { w.fake.setHandler(() => ({ data: '<html><h1>502 Bad Gateway</h1></html>' })); return launch(w.auth, items) },
    settles: rejects(AuthError, 'BAD_LOGIN_RESPONSE'), stored: 'none', events: ['BAD_LOGIN_RESPONSE'] },
  { fault: 'login endpoint: JSON without a token', start: 'logged-out',
    act: (w, items) => { w.fake.setHandler(() => ({ data: { code: 0, data: { user: { id: 1 } } } })); return launch(w.auth, items) },
    settles: rejects(AuthError, 'BAD_LOGIN_RESPONSE'), stored: 'none', events: ['BAD_LOGIN_RESPONSE'] },
  { fault: 're-login after a 401 fails (HTTP 503)', start: 'logged-in',
    act: (w, items) => { w.server.expireTokens(); w.server.loginStatus = 503; return items(5) },
    settles: rejects(AuthError, 'LOGIN_REJECTED', { status: 503 }), stored: 'none', events: ['LOGIN_REJECTED'] },
  { fault: 'a protected route answers 502 HTML: HttpError, no re-login', start: 'logged-in',
    act: (w, items) => { w.server.route('GET', '/api/items', () => ({ statusCode: 502, data: '<html>Bad Gateway</html>' })); return items(3) },
    settles: rejects(HttpError, 'HTTP_ERROR', { statusCode: 502 }), stored: 'old', events: [],
    also: (w, _a, c) => expect(w.fake.calls[c.loginCall]).toBe(1) },
  // ── refresh ─────────────────────────────────────────────────────────────────────────────────────
  { fault: 'refresh endpoint: HTTP 500 → full login', start: 'logged-in', options: withRefresh,
    act: (w, items) => { w.server.expireTokens(); w.server.refreshStatus = 500; return items(5) },
    settles: ok, stored: 'new', events: ['LOGIN_REJECTED'] },
  { fault: 'refresh endpoint: network error → full login', start: 'logged-in', options: withRefresh,
    act: (w, items) => { w.server.expireTokens(); w.fake.setHandler((r) => (r.path === REFRESH ? { networkError: 'net::ERR_TIMED_OUT' } : w.handler(r))); return items(5) },
    settles: ok, stored: 'new', events: ['NETWORK_ERROR'] },
  { fault: 'refresh and the fallback login both fail', start: 'logged-in', options: withRefresh,
    act: (w, items) => { w.server.expireTokens(); w.server.refreshStatus = 401; w.server.loginStatus = 500; return items(5) },
    settles: rejects(AuthError, 'LOGIN_REJECTED', { status: 500 }), stored: 'none', events: ['LOGIN_REJECTED', 'LOGIN_REJECTED'] },
  // ── the host's session check ────────────────────────────────────────────────────────────────────
  { fault: 'the host session is gone at launch (Alipay: cannot tell, keeps the token)', start: 'logged-in',
    act: (w, items) => { w.fake.behavior.checkSession = false; return launch(w.auth, items) },
    settles: ok, stored: (c) => (c.checksSession ? 'new' : 'old'), events: [],
    also: (w, _a, c) => expect(w.fake.calls[c.loginCall]).toBe(c.checksSession ? 2 : 1) },
  // ── storage ─────────────────────────────────────────────────────────────────────────────────────
  { fault: 'storage read fails', start: 'logged-out', given: (w) => { w.fake.behavior.storageRead = 'throw' },
    act: (w, items) => launch(w.auth, items), settles: ok, stored: 'new', events: ['STORAGE_FAILED'] },
  { fault: 'storage write fails (works in memory)', start: 'logged-out', given: (w) => { w.fake.behavior.storageWrite = 'throw' },
    act: (w, items) => launch(w.auth, items), settles: ok, stored: 'none', events: ['STORAGE_FAILED'],
    also: (w, auth) => expect(auth.getToken()).toBe(w.server.validTokens()[0]) },
  { fault: 'storage holds corrupt JSON', start: 'logged-out', given: (w) => w.c.store(w.global, KEY, '{"v":1,"token":'),
    act: (w, items) => launch(w.auth, items), settles: ok, stored: 'new', events: ['STORAGE_CORRUPT'] },
  { fault: 'storage holds a foreign record', start: 'logged-out', given: (w) => w.c.store(w.global, KEY, { accessToken: 'other-lib', uid: 7 }),
    act: (w, items) => launch(w.auth, items), settles: ok, stored: 'new', events: ['STORAGE_CORRUPT'],
    also: (w) => expect(w.fake.requests.some((r) => JSON.stringify(r.header).includes('other-lib'))).toBe(false) },
  { fault: 'logout() while storage writes fail', start: 'logged-in',
    act: (w) => { w.fake.behavior.storageWrite = 'throw'; w.auth.logout(); return [] },
    settles: ok, stored: 'old', events: ['STORAGE_FAILED'], also: (_w, auth) => expect(auth.getToken()).toBeNull() },
  // ── logout races ────────────────────────────────────────────────────────────────────────────────
  { fault: 'logout() while the login request is in flight', start: 'logged-out',
    act: async (w, items) => { w.fake.setLatency((r) => (r.path === LOGIN ? 30 : 1)); const p = launch(w.auth, items); await until(w.auth, 'logging-in'); w.auth.logout(); return p },
    settles: rejects(AuthError, 'LOGGED_OUT'), stored: 'none', events: [] },
  { fault: 'logout() while the host login has not answered', start: 'logged-out', options: shortLogin,
    act: async (w, items) => { w.fake.behavior.login = 'hang'; const p = launch(w.auth, items); await until(w.auth, 'logging-in'); w.auth.logout(); return p },
    settles: rejects(AuthError, 'LOGGED_OUT'), stored: 'none', events: [] },
]

async function runRow(c: HostCase, row: Row) {
  // A previous launch stored a session (its own world: a clean log for the row).
  const w = world(c, { auth: row.options })
  let old: string | null = null
  if (row.start === 'logged-in') old = (await w.auth.login()).token
  if (row.given) row.given(w)
  const auth = w.relaunch()
  const events: Error[] = []
  auth.on('error', (e) => events.push(e))
  const rw: World = Object.assign({}, w, { auth, errors: events })
  let n = 0
  const items = (k: number) => Array.from({ length: k }, () => auth.get('/api/items', { data: { i: n++ } }))
  const pending = await row.act(rw, items)
  let guard: ReturnType<typeof setTimeout> | undefined
  const hang = new Promise<'still pending'>((r) => (guard = setTimeout(() => r('still pending'), 3000)))
  const outcomes = await Promise.all(pending.map((p) => Promise.race([p.then(() => 'ok' as const, (e: unknown) => e), hang])))
  clearTimeout(guard)
  // late answers (abandoned logins) arrive before the end state is checked
  await sleep(20)
  await w.fake.idle()
  return { w: rw, auth, old, outcomes, events }
}

describe.each(EACH_HOST)('fault matrix on %s', (_label, c) => {
  test.each(rows.map((r) => [r.fault, r] as const))('%s', async (_name, row) => {
    const { w, auth, old, outcomes, events } = await runRow(c, row)
    const settles = typeof row.settles === 'function' ? row.settles(c) : row.settles
    for (const o of outcomes) {
      if ('ok' in settles) expect(o).toBe('ok')
      else {
        expect(o).toBeInstanceOf(settles.error)
        expect(o).toMatchObject(Object.assign({ code: settles.code }, settles.extra || {}))
      }
    }
    const record = w.fake.storageSnapshot()[KEY] as { v: number; token: string } | undefined
    const stored = typeof row.stored === 'function' ? row.stored(c) : row.stored
    if (stored === 'none') expect(record).toBeUndefined()
    if (stored === 'old') expect(record).toMatchObject({ v: 1, token: old })
    if (stored === 'new') {
      expect(record).toMatchObject({ v: 1, token: expect.any(String) })
      expect(record!.token).not.toBe(old)
      if (w.fake.behavior.storageRead !== 'throw') expect(auth.getToken()).toBe(record!.token)
    }
    const expectedEvents = typeof row.events === 'function' ? row.events(c) : row.events
    expect(events.map((e) => (e as AuthError).code)).toEqual(expectedEvents)
    expect(auth.debugState()).toEqual({ phase: 'idle', loggedIn: auth.isLoggedIn(), activeRequests: 0, queuedRequests: 0, listeners: 1 })
    expect(w.fake.network.active).toBe(0)
    if (row.also) row.also(w, auth, c)
  })
})
