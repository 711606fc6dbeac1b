/**
 * Issue 12: the 401 burst and the network-task limit on every host. 50 requests carrying a token
 * the server has expired cost one host login and one login request; each request is sent at most
 * twice; everything settles; and the SDK never has more network tasks open than the host allows
 * (its adapter's `networkTaskLimit`, the default `maxConcurrent`).
 */
import type { AuthError } from 'weapp-auth'
import { LOGIN, EACH_HOST, jitter, resetAll, world } from './hosts'

const sendsPer = (reqs: Array<{ query: Record<string, string> }>) => {
  const m = new Map<string, number>()
  for (const r of reqs) m.set(r.query.i, (m.get(r.query.i) || 0) + 1)
  return m
}

describe.each(EACH_HOST)('the 401 burst on %s', (_label, c) => {
  test('50 concurrent requests with a server-expired token: 1 host login, 1 login request, every request answered after at most one retry', async () => {
    const w = world(c, { fake: { latency: jitter } })
    const first = await w.auth.login()
    w.server.expireTokens()
    resetAll(w.fake)
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => w.auth.get<{ user: string; i: string }>('/api/items', { data: { i } })))
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)))
    expect(new Set(results.map((r) => r.user)).size).toBe(1)
    expect(w.fake.calls[c.loginCall]).toBe(1)
    expect(w.sent(LOGIN)).toHaveLength(1)
    expect((w.sent(LOGIN)[0].data as { platform: string }).platform).toBe(c.host)
    const items = w.sent('/api/items')
    expect(Array.from(sendsPer(items).values()).every((n) => n <= 2)).toBe(true)
    expect(items.filter((r) => r.header.Authorization === 'Bearer ' + w.auth.getToken())).toHaveLength(50)
    expect(items.some((r) => r.header.Authorization === 'Bearer ' + first.token)).toBe(true)
    expect(w.fake.network.peak).toBeLessThanOrEqual(w.platform.networkTaskLimit)
    expect(w.fake.network.overLimit).toBe(0)
    expect(w.auth.debugState()).toMatchObject({ phase: 'idle', activeRequests: 0, queuedRequests: 0 })
  })

  test('login down during the burst: all 30 reject with the login error, one failed re-login, none hangs; the next request recovers', async () => {
    const w = world(c, { fake: { latency: jitter } })
    await w.auth.login()
    w.server.expireTokens()
    w.server.loginStatus = 503
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => w.auth.get('/api/items', { data: { i } })))
    for (const r of results) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'LOGIN_REJECTED', status: 503 })
    }
    expect(w.fake.calls[c.loginCall]).toBe(2)
    expect(w.errors.map((e) => (e as AuthError).code)).toEqual(['LOGIN_REJECTED'])
    expect(w.auth.getToken()).toBeNull()
    expect(w.auth.debugState()).toMatchObject({ phase: 'idle', activeRequests: 0, queuedRequests: 0 })
    w.server.loginStatus = 0
    await expect(w.auth.get('/api/items', { data: { i: 99 } })).resolves.toMatchObject({ i: '99' })
    expect(w.fake.calls[c.loginCall]).toBe(3)
  })

  test('the server refuses every token: each request rejects UNAUTHORIZED after exactly one retry, logins stay bounded', async () => {
    const w = world(c)
    await w.auth.login()
    w.server.alwaysUnauthorized = true
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => w.auth.get('/api/items', { data: { i } })))
    for (const r of results) expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'AuthError', code: 'UNAUTHORIZED' })
    expect(Array.from(sendsPer(w.sent('/api/items')).values())).toEqual(Array(12).fill(2))
    expect(w.fake.calls[c.loginCall]).toBeLessThanOrEqual(3)
  })
})

describe.each(EACH_HOST)('the network-task limit on %s', (_label, c) => {
  test("40 requests and an upload: never more tasks than the host's limit, the default maxConcurrent is the adapter's limit, sent in order", async () => {
    const w = world(c, { fake: { latency: () => 2 + Math.floor(Math.random() * 6) } })
    w.server.route('POST', '/api/upload', (req) => ({ data: { size: req.file!.size } }))
    await w.auth.login()
    resetAll(w.fake)
    const file = w.fake.addTempFile('12345', 'jpg')
    const all = await Promise.all([
      ...Array.from({ length: 40 }, (_, i) => w.auth.get('/api/items', { data: { i } })),
      w.auth.upload<{ size: number }>({ url: '/api/upload', filePath: file, name: 'file' }),
    ])
    expect(all[40]).toEqual({ size: 5 })
    expect(w.platform.networkTaskLimit).toBe(10)
    expect(w.fake.network.peak).toBe(w.platform.networkTaskLimit)
    expect(w.fake.network.overLimit).toBe(0)
    expect(w.sent('/api/items').map((r) => Number(r.query.i))).toEqual(Array.from({ length: 40 }, (_, i) => i))
  })

  test("a host adapter with a lower limit (4): the SDK's default follows it", async () => {
    const w = world(c, { fake: { latency: 3 } })
    const narrow = Object.assign(Object.create(w.platform), { networkTaskLimit: 4 })
    const auth = w.relaunch({ platform: narrow })
    await Promise.all(Array.from({ length: 16 }, (_, i) => auth.get('/api/items', { data: { i } })))
    expect(w.fake.network.peak).toBe(4)
    // an explicit maxConcurrent still wins
    resetAll(w.fake)
    const two = w.relaunch({ platform: narrow, maxConcurrent: 2 })
    await Promise.all(Array.from({ length: 8 }, (_, i) => two.get('/api/items', { data: { i } })))
    expect(w.fake.network.peak).toBe(2)
  })
})
