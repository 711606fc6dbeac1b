/**
 * Property test (fast-check): random interleavings of requests (trusted and untrusted
 * origins), server-side token expiries, logouts and login outages, with random latencies.
 * Invariants, whatever the order:
 *  - at most one login or refresh request is in flight at any moment;
 *  - every request settles (resolves or rejects with a typed error);
 *  - no request carries the token to an untrusted origin;
 *  - no request is sent more than twice (the original and at most one retry), even when the
 *    server refuses every token;
 *  - at the end nothing is queued, in flight, or stuck in a login phase.
 */
import fc from 'fast-check'
import { WeappAuthError, createAbortController, createAuth } from 'weapp-auth'
import { createFakeAuthServer, createFakeWx } from 'weapp-auth/testing'

type Step =
  | { kind: 'request'; origin: 'api' | 'evil' | 'cdn'; latency: number; abortAfter: number | null }
  | { kind: 'expire' }
  | { kind: 'logout' }
  | { kind: 'loginOutage'; status: number }
  | { kind: 'refuseAll'; on: boolean }
  | { kind: 'wait'; ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('request' as const), origin: fc.constantFrom('api' as const, 'api' as const, 'evil' as const, 'cdn' as const), latency: fc.integer({ min: 1, max: 6 }), abortAfter: fc.option(fc.integer({ min: 0, max: 6 }), { freq: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'expire' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'logout' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('loginOutage' as const), status: fc.constantFrom(0, 0, 500) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refuseAll' as const), on: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 8 }) }) },
)

const ORIGINS = { api: 'https://api.example.com', evil: 'https://api.example.com.evil.com', cdn: 'https://cdn.example.com' }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function run(steps: Step[], withRefresh: boolean): Promise<void> {
  const fake = createFakeWx()
  const server = createFakeAuthServer(fake)
  server.route('GET', '/api/data', (req) => ({ data: { id: req.header['X-Req'] } }))
  const latencyById = new Map<string, number>()
  fake.setLatency((req) => latencyById.get(req.header['X-Req']) || 1)
  fake.setHandler((req) => (req.url.indexOf(ORIGINS.api + '/') === 0 ? server.handler(req) : { data: { ok: true } }))

  // Instrument login/refresh requests in flight.
  let authInFlight = 0
  let maxAuthInFlight = 0
  const request = fake.wx.request
  fake.wx.request = (o: { url: string; success?: (r: unknown) => void; fail?: (e: unknown) => void }) => {
    if (!/\/api\/auth\/(login|refresh)/.test(o.url)) return request(o)
    authInFlight++
    maxAuthInFlight = Math.max(maxAuthInFlight, authInFlight)
    const done = (cb?: (x: unknown) => void) => (x: unknown) => {
      authInFlight--
      if (cb) cb(x)
    }
    return request({ ...o, success: done(o.success), fail: done(o.fail) })
  }

  const auth = createAuth({
    baseURL: ORIGINS.api,
    login: { url: '/api/auth/login' },
    refresh: withRefresh ? { url: '/api/auth/refresh' } : undefined,
    platform: fake.wx as never,
  })
  const pending: Array<Promise<unknown>> = []
  let n = 0
  for (const s of steps) {
    if (s.kind === 'request') {
      const id = 'r' + ++n
      latencyById.set(id, s.latency)
      let signal
      if (s.abortAfter !== null) {
        const c = createAbortController()
        setTimeout(() => c.abort(), s.abortAfter)
        signal = c.signal
      }
      const p = auth.get(ORIGINS[s.origin] + '/api/data', { header: { 'X-Req': id }, signal })
      p.catch(() => undefined) // inspected below; may reject while later steps run
      pending.push(p)
    } else if (s.kind === 'expire') server.expireTokens()
    else if (s.kind === 'logout') auth.logout()
    else if (s.kind === 'loginOutage') server.loginStatus = s.status
    else if (s.kind === 'refuseAll') server.alwaysUnauthorized = s.on
    else await sleep(s.ms)
  }

  let timer: ReturnType<typeof setTimeout> | undefined
  const outcome = await Promise.race([
    Promise.allSettled(pending),
    new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 3000))),
  ])
  clearTimeout(timer)
  expect(outcome).not.toBe('hung')
  for (const r of outcome as PromiseSettledResult<unknown>[]) {
    if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(WeappAuthError)
  }
  expect(maxAuthInFlight).toBeLessThanOrEqual(1)
  const sends = new Map<string, number>()
  for (const req of fake.requests) {
    const id = req.header['X-Req']
    if (!id) continue
    sends.set(id, (sends.get(id) || 0) + 1)
    if (req.url.indexOf(ORIGINS.api + '/') !== 0) expect(req.header.Authorization).toBeUndefined()
  }
  for (const count of sends.values()) expect(count).toBeLessThanOrEqual(2)
  await fake.idle()
  expect(auth.debugState()).toMatchObject({ phase: 'idle', activeRequests: 0, queuedRequests: 0 })
}

test('random interleavings keep the invariants (login only)', async () => {
  await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), (steps) => run(steps, false)), { numRuns: 60 })
})

test('random interleavings keep the invariants (with refresh tokens)', async () => {
  await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), (steps) => run(steps, true)), { numRuns: 60 })
})
