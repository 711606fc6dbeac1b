/**
 * Issue 12 acceptance: on a host where only `tt` (or only `my`, or only `qq`) is defined,
 * `createAuth({ baseURL, login: { url } })` with no `platform` logs in with that host's code and
 * tags it, and a burst of 50 expired requests costs one login call on that host. Bad input (an
 * unknown host name, a platform missing the calls the SDK needs) is a CONFIG error at createAuth
 * naming what is missing.
 */
import { AuthError, createAuth, type AuthOptions } from 'weapp-auth'
import { createAuth as createAuthCore } from 'weapp-auth/core'
import { douyinPlatform } from 'weapp-auth/platforms'
import { createFakeAuthServer, createFakeMy, createFakeQq, createFakeTt, createFakeWx, type FakeWx } from 'weapp-auth/testing'
import { BASE, HOSTS, LOGIN, hostRedeem, jitter, resetAll, type HostCase } from './hosts'

const GLOBAL_NAMES = ['wx', 'qq', 'tt', 'my', 'uni', 'Taro']
type Globals = Record<string, unknown>

/** Runs `fn` with exactly `globals` defined among the host globals (the others deleted), then restores them. */
async function withGlobals<T>(globals: Globals, fn: () => T | Promise<T>): Promise<T> {
  const g = globalThis as unknown as Globals
  const saved: Globals = {}
  const had: Record<string, boolean> = {}
  for (const n of GLOBAL_NAMES) {
    had[n] = Object.prototype.hasOwnProperty.call(g, n)
    saved[n] = g[n]
    delete g[n]
  }
  Object.assign(g, globals)
  try {
    return await fn()
  } finally {
    for (const n of GLOBAL_NAMES) {
      delete g[n]
      if (had[n]) g[n] = saved[n]
    }
  }
}

/** A configuration error thrown by `make`, or null. */
function configError(make: () => unknown): AuthError | null {
  try {
    make()
    return null
  } catch (e) {
    expect(e).toBeInstanceOf(AuthError)
    expect(e).toMatchObject({ code: 'CONFIG' })
    return e as AuthError
  }
}

const only = (host: string) => HOSTS.find((h) => h.label.indexOf('(' + host) >= 0 && h.label.indexOf('older') < 0) as HostCase
const ROWS: Array<[string, HostCase]> = [
  ['tt', only('tt')],
  ['my', only('my')],
  ['qq', only('qq')],
  ['wx', only('wx')],
]

describe.each(ROWS)('only the global %s is defined, no platform option', (globalName, c) => {
  test("createAuth detects the host, logs in with the host's code and tags it; a burst of 50 expired requests → 1 host login", async () => {
    const made = c.make({ latency: jitter })
    const fake = made.fake
    const server = createFakeAuthServer(fake as unknown as FakeWx, { redeem: hostRedeem(c, fake) })
    server.route('GET', '/api/items', (req, ctx) => ({ data: { user: ctx.userId, i: req.query.i } }))
    fake.setHandler(server.handler)
    await withGlobals({ [globalName]: made.global }, async () => {
      const auth = createAuth({ baseURL: BASE, login: { url: LOGIN } })
      expect(auth.platform.host).toBe(c.host)
      await auth.login()
      expect(fake.calls[c.loginCall]).toBe(1)
      const body = fake.requests[0].data as Record<string, unknown>
      expect(body.platform).toBe(c.host)
      expect(body.code).toBe(fake.issuedCodes[0])
      expect('anonymousCode' in body).toBe(c.host === 'douyin')
      expect(server.stats.rejectedCodes).toBe(0)

      server.expireTokens()
      resetAll(fake)
      const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => auth.get<{ i: string }>('/api/items', { data: { i } })))
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value.i : r.reason))).toEqual(Array.from({ length: 50 }, (_, i) => String(i)))
      expect(fake.calls[c.loginCall]).toBe(1)
      expect(fake.requests.filter((r) => r.path === LOGIN).map((r) => (r.data as { platform: string }).platform)).toEqual([c.host])
      expect(fake.network.peak).toBeLessThanOrEqual(auth.platform.networkTaskLimit)
      expect(auth.debugState()).toMatchObject({ phase: 'idle', activeRequests: 0, queuedRequests: 0 })
    })
  })
})

describe('detection order and host names', () => {
  test('QQ also defines wx as an alias of qq: the host is QQ, not WeChat', async () => {
    const fake = createFakeQq({ handler: () => ({ data: { token: 't' } }) })
    await withGlobals({ qq: fake.qq, wx: fake.qq }, async () => {
      const auth = createAuth({ baseURL: BASE, login: { url: LOGIN } })
      expect(auth.platform.host).toBe('qq')
      await auth.login()
      expect(fake.requests[0].data).toMatchObject({ platform: 'qq' })
    })
  })

  test("platform: 'douyin' adapts the global tt even when wx is defined too; the wx fake is never called", async () => {
    const tt = createFakeTt({ handler: () => ({ data: { token: 't' } }) })
    const wx = createFakeWx()
    await withGlobals({ tt: tt.tt, wx: wx.wx }, async () => {
      const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: 'douyin' })
      await auth.login()
      expect(tt.calls.login).toBe(1)
      expect(wx.calls.login).toBe(0)
      expect(tt.requests[0].data).toMatchObject({ platform: 'douyin', anonymousCode: tt.issuedAnonymousCodes[0] })
    })
  })

  test('the running host\'s own global passed as platform (platform: my) gets that host\'s adapter', async () => {
    const my = createFakeMy({ handler: () => ({ data: { token: 't' } }) })
    await withGlobals({ my: my.my }, async () => {
      const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: my.my as never })
      expect(auth.platform.host).toBe('alipay')
      await auth.login()
      expect(my.calls.getAuthCode).toBe(1)
      expect(my.requests[0].data).toMatchObject({ platform: 'alipay' })
      // The record went through my's { key, data } storage, and reads back.
      expect(auth.getToken()).toBe('t')
      expect(my.storageSnapshot()).toEqual({ 'weapp-auth': expect.objectContaining({ token: 't' }) })
    })
  })

  test('a wx-compatible object that is no adapter is treated as WeChat', async () => {
    const fake = createFakeWx({ handler: () => ({ data: { token: 't' } }) })
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx })
    expect(auth.platform.host).toBe('weixin')
    await auth.login()
    expect(fake.requests[0].data).toEqual({ code: fake.issuedCodes[0], platform: 'weixin' })
  })
})

describe('bad input: a CONFIG error at createAuth naming what is missing', () => {
  const opts = { baseURL: BASE, login: { url: LOGIN } }

  test('an unknown host name', async () => {
    await withGlobals({ wx: createFakeWx().wx }, () => {
      const err = configError(() => createAuth({ ...opts, platform: 'baidu' } as never))
      expect(err && err.message).toMatch(/"baidu" is not a host/)
      expect(err && err.message).toMatch(/'weixin', 'qq', 'douyin' or 'alipay'/)
    })
  })

  test("a host name whose global this runtime lacks names the global", async () => {
    await withGlobals({ wx: createFakeWx().wx }, () => {
      expect(configError(() => createAuth({ ...opts, platform: 'alipay' }))!.message).toMatch(/needs the global `my`/)
    })
  })

  test('an object missing the storage calls names each one', () => {
    const fake = createFakeWx()
    const partial = { login: fake.wx.login, request: fake.wx.request, getStorageSync: fake.wx.getStorageSync }
    const err = configError(() => createAuth({ ...opts, platform: partial as never }))
    expect(err!.message).toMatch(/setStorageSync, removeStorageSync/)
    expect(err!.message).not.toMatch(/getStorageSync,/)
  })

  test("an adapter over a host version without the login call names the host and the call", () => {
    const tt = createFakeTt({ missing: ['login'] })
    expect(configError(() => createAuth({ ...opts, platform: douyinPlatform(tt.tt) }))!.message).toMatch(/douyin platform has no login/)
  })

  test('no host global and no platform', async () => {
    await withGlobals({}, () => {
      expect(configError(() => createAuth(opts as AuthOptions))!.message).toMatch(/looked for the globals qq, tt, my, wx/)
    })
  })

  test('weapp-auth/core takes objects only and does not detect: a host name, or only tt defined, is a CONFIG error', async () => {
    const tt = createFakeTt()
    await withGlobals({ tt: tt.tt }, () => {
      expect(configError(() => createAuthCore({ ...opts, platform: 'douyin' } as never))!.message).toMatch(/host names.*'weapp-auth'/)
      expect(configError(() => createAuthCore(opts))!.message).toMatch(/\bwx\b/)
      // the adapter works through core
      expect(createAuthCore({ ...opts, platform: douyinPlatform(tt.tt) }).platform.host).toBe('douyin')
    })
  })
})
