/**
 * Issue 4: the request wrapper, through the public API with the fake wx and in-memory server.
 * The seed's wrapper started one login per concurrent 401, retried forever and never settled
 * a request whose re-login failed; each of those is a scenario here.
 */
import { AbortError, AuthError, HttpError, ResponseParseError, TimeoutError, createAbortController, createAuth } from 'weapp-auth'
import { createFakeWx, type FakeRequest } from 'weapp-auth/testing'
import { BASE, setup } from './helpers/setup'

const authHeader = (r: FakeRequest) => r.header.Authorization
const sendsTo = (fake: { requests: FakeRequest[] }, path: string) => fake.requests.filter((r) => r.path === path)

function meRoute(server: ReturnType<typeof setup>['server']) {
  server.route('GET', '/api/items', (req, ctx) => ({ data: { user: ctx.userId, i: req.query.i } }))
}

describe('a burst of 401s', () => {
  test('50 concurrent requests with a server-expired token: 1 wx.login, 1 login request, 50 retried successes', async () => {
    const { auth, fake, server, loginRequests } = setup({ wx: { latency: () => 1 + Math.floor(Math.random() * 5) } })
    meRoute(server)
    await auth.login()
    server.expireTokens()
    fake.resetCounters()
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => auth.get<{ user: string; i: string }>('/api/items', { data: { i } })))
    expect(fake.calls.login).toBe(1)
    expect(loginRequests()).toBe(1)
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)))
    expect(new Set(results.map((r) => r.user)).size).toBe(1)
    // every request was sent at most twice: once with the old token, at most once with the new one
    const items = sendsTo(fake, '/api/items')
    expect(items.length).toBeLessThanOrEqual(100)
    expect(items.filter((r) => authHeader(r) === 'Bearer ' + auth.getToken())).toHaveLength(50)
    expect(fake.network.peak).toBeLessThanOrEqual(10)
  })

  test('a 401 arriving after another request already re-logged in causes no second login', async () => {
    const { auth, fake, server } = setup()
    server.route('GET', '/fast', () => ({ data: { v: 'fast' } }))
    server.route('GET', '/slow', () => ({ data: { v: 'slow' } }))
    const first = await auth.login()
    server.expireTokens()
    fake.setLatency((r) => (r.path === '/slow' && authHeader(r) === 'Bearer ' + first.token ? 60 : 1))
    const [fast, slow] = await Promise.all([auth.get('/fast'), auth.get('/slow')])
    expect([fast, slow]).toEqual([{ v: 'fast' }, { v: 'slow' }])
    expect(fake.calls.login).toBe(2) // the first login, and exactly one re-login
    const slowSends = sendsTo(fake, '/slow')
    expect(slowSends.map(authHeader)).toEqual(['Bearer ' + first.token, 'Bearer ' + auth.getToken()])
  })

  test('401s that arrive while a refresh is already running are retried, not rejected', async () => {
    const { auth, fake, server } = setup({ auth: { refresh: { url: '/api/auth/refresh' } } })
    meRoute(server)
    await auth.login()
    server.expireTokens()
    // the refresh is slow, the 401s keep arriving while it runs
    fake.setLatency((r) => (r.path === '/api/auth/refresh' ? 40 : Math.floor(Math.random() * 30)))
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => auth.get('/api/items', { data: { i } })))
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true)
    expect(server.stats.refreshes).toBe(1)
    expect(fake.calls.login).toBe(1) // only the initial login: the refresh did the renewal
  })

  test('server always answers 401: every request rejects UNAUTHORIZED after exactly one retry', async () => {
    const { auth, fake, server } = setup()
    meRoute(server)
    await auth.login()
    server.alwaysUnauthorized = true
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => auth.get('/api/items', { data: { i } })))
    for (const r of results) {
      expect(r.status).toBe('rejected')
      const err = (r as PromiseRejectedResult).reason
      expect(err).toBeInstanceOf(AuthError)
      expect(err.code).toBe('UNAUTHORIZED')
    }
    const perRequest = new Map<string, number>()
    for (const r of sendsTo(fake, '/api/items')) perRequest.set(r.query.i, (perRequest.get(r.query.i) || 0) + 1)
    expect(Array.from(perRequest.values())).toEqual(Array(12).fill(2))
    // One renewal for the burst that carried the old token. Requests that were still queued
    // went out with the new token and, refused too, may renew once more (the new token is then
    // "the current one"), but never once per request.
    expect(fake.calls.login).toBeLessThanOrEqual(3)
  })

  test('login down during the burst: every request rejects with the login error, none hangs, none re-logs in again', async () => {
    const { auth, fake, server, errors } = setup({ wx: { latency: () => Math.floor(Math.random() * 4) } })
    meRoute(server)
    await auth.login()
    server.expireTokens()
    server.loginStatus = 503
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => auth.get('/api/items', { data: { i } })))
    expect(results.map((r) => r.status)).toEqual(Array(30).fill('rejected'))
    for (const r of results) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'LOGIN_REJECTED', statusCode: 503 })
    expect(fake.calls.login).toBe(2) // the initial login and one failed re-login
    expect(errors.filter((e) => (e as AuthError).code === 'LOGIN_REJECTED')).toHaveLength(1)
    expect(auth.getToken()).toBeNull() // the refused token was dropped
    expect(auth.debugState()).toMatchObject({ phase: 'idle', activeRequests: 0, queuedRequests: 0 })
    // once the server is back, the next request logs in and succeeds
    server.loginStatus = 0
    await expect(auth.get('/api/items', { data: { i: 99 } })).resolves.toMatchObject({ i: '99' })
  })

  test('refresh fails → one full login → requests retried', async () => {
    const { auth, fake, server, errors } = setup({ auth: { refresh: { url: '/api/auth/refresh' } } })
    meRoute(server)
    await auth.login()
    server.expireTokens()
    server.refreshStatus = 500
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => auth.get('/api/items', { data: { i } })))
    expect(results).toHaveLength(10)
    expect(sendsTo(fake, '/api/auth/refresh')).toHaveLength(1)
    expect(fake.calls.login).toBe(2)
    expect(errors.map((e) => (e as AuthError).code)).toEqual(['LOGIN_REJECTED'])
  })

  test('refresh and login both fail: queued requests reject instead of waiting forever', async () => {
    const { auth, server } = setup({ auth: { refresh: { url: '/api/auth/refresh' } }, wx: { latency: 3 } })
    meRoute(server)
    await auth.login()
    server.expireTokens()
    server.refreshStatus = 401
    server.loginStatus = 500
    const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => auth.get('/api/items', { data: { i } })))
    expect(results.every((r) => r.status === 'rejected')).toBe(true)
    expect(auth.debugState()).toMatchObject({ phase: 'idle', activeRequests: 0, queuedRequests: 0 })
  })
})

describe('token handling', () => {
  test('requests made while logged out wait for one shared login', async () => {
    const { auth, fake, server } = setup({ wx: { latency: 5 } })
    meRoute(server)
    const results = await Promise.all(Array.from({ length: 15 }, (_, i) => auth.get('/api/items', { data: { i } })))
    expect(results).toHaveLength(15)
    expect(fake.calls.login).toBe(1)
    expect(sendsTo(fake, '/api/items').every((r) => authHeader(r) === 'Bearer ' + auth.getToken())).toBe(true)
  })

  test('a request issued while a login is in flight waits for it instead of sending the old token', async () => {
    const { auth, fake, server } = setup()
    meRoute(server)
    const old = await auth.login()
    fake.setLatency((r) => (r.path === '/api/auth/login' ? 30 : 1))
    const relogin = auth.login()
    const item = auth.get('/api/items', { data: { i: 1 } })
    const fresh = await relogin
    await item
    expect(sendsTo(fake, '/api/items').map(authHeader)).toEqual(['Bearer ' + fresh.token])
    expect(fresh.token).not.toBe(old.token)
  })

  test('proactive renewal: a token inside the expiry margin is renewed before the request goes out', async () => {
    const { auth, fake, server } = setup({ auth: { refresh: { url: '/api/auth/refresh' }, expiryMargin: 60000 }, server: { tokenTtl: 3600 } })
    meRoute(server)
    const first = await auth.login()
    // the clock moves to 30 s before expiry
    const realNow = Date.now
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 3570 * 1000)
    try {
      await auth.get('/api/items', { data: { i: 1 } })
    } finally {
      spy.mockRestore()
    }
    const sent = sendsTo(fake, '/api/items')
    expect(sent).toHaveLength(1)
    expect(authHeader(sent[0])).not.toBe('Bearer ' + first.token)
    expect(server.stats.refreshes).toBe(1)
    expect(server.stats.unauthorized).toBe(0)
  })

  test('the token goes only to baseURL and trustedOrigins; auth:false sends none and never logs in', async () => {
    const fake = createFakeWx({ handler: (r) => (r.path === '/api/auth/login' ? { data: { token: 'T0K3N' } } : { data: { ok: true } }) })
    const auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx, trustedOrigins: ['https://files.example.com'] })
    await auth.get('https://cdn.other.com/a.json')
    expect(fake.calls.login).toBe(0) // untrusted origin: no token needed, no login
    await auth.get('/public', { auth: false })
    expect(fake.calls.login).toBe(0)
    await auth.get('/private')
    await auth.get('https://files.example.com/x')
    await auth.get('https://api.example.com.evil.com/steal')
    const byUrl = Object.fromEntries(fake.requests.filter((r) => r.path !== '/api/auth/login').map((r) => [r.url, authHeader(r)]))
    expect(byUrl).toEqual({
      'https://cdn.other.com/a.json': undefined,
      'https://api.example.com/public': undefined,
      'https://api.example.com/private': 'Bearer T0K3N',
      'https://files.example.com/x': 'Bearer T0K3N',
      'https://api.example.com.evil.com/steal': undefined,
    })
  })

  test('a custom authHeader format is used', async () => {
    const { auth, fake, server } = setup({ auth: { authHeader: (t) => ({ 'X-Token': t }) } })
    meRoute(server)
    const s = await auth.login()
    await auth.get('/api/user/me').catch(() => undefined) // the fake server wants Bearer: 401 → retry → UNAUTHORIZED
    expect(fake.requests.filter((r) => r.path === '/api/user/me')[0].header).toEqual({ 'X-Token': s.token })
  })

  test('isUnauthorized: a business code inside HTTP 200 triggers one re-login and a retry', async () => {
    let accepted = ''
    const fake = createFakeWx()
    fake.setHandler((r) => {
      if (r.path === '/login') return { data: { token: 'tok-' + fake.calls.login } }
      if (authHeader(r) !== 'Bearer ' + accepted) return { statusCode: 200, data: { code: 40101, msg: 'token expired' } }
      return { data: { code: 0, data: 'hello' } }
    })
    const auth = createAuth({
      baseURL: BASE,
      login: { url: '/login' },
      platform: fake.wx,
      isUnauthorized: (res) => (res.data as { code?: number }).code === 40101,
    })
    await auth.login()
    accepted = 'tok-2'
    await expect(auth.get('/x')).resolves.toEqual({ code: 0, data: 'hello' })
    expect(fake.calls.login).toBe(2)
  })
})

describe('every request settles', () => {
  test('timeout → TimeoutError, and the task is aborted', async () => {
    const { auth, fake, server } = setup()
    server.route('GET', '/slow', () => ({ hang: true }))
    await auth.login()
    await expect(auth.get('/slow', { timeout: 20 })).rejects.toBeInstanceOf(TimeoutError)
    expect(fake.network.active).toBe(0)
  })

  test('abort while in flight → AbortError and the RequestTask is aborted', async () => {
    const { auth, fake, server } = setup()
    server.route('GET', '/slow', () => ({ hang: true }))
    await auth.login()
    const ctrl = createAbortController()
    const p = auth.get('/slow', { signal: ctrl.signal })
    await new Promise((r) => setTimeout(r, 5))
    expect(fake.network.active).toBe(1)
    ctrl.abort('user left the page')
    const err = (await p.catch((e) => e)) as AbortError
    expect(err).toBeInstanceOf(AbortError)
    expect(err.reason).toBe('user left the page')
    expect(fake.network.active).toBe(0)
    expect((ctrl.signal as unknown as { listenerCount: number }).listenerCount).toBe(0)
  })

  test('abort while waiting for the login → AbortError; the login still completes for others', async () => {
    const { auth, fake, server } = setup()
    meRoute(server)
    fake.setLatency((r) => (r.path === '/api/auth/login' ? 30 : 0))
    const ctrl = createAbortController()
    const aborted = auth.get('/api/items', { signal: ctrl.signal, data: { i: 1 } })
    const other = auth.get('/api/items', { data: { i: 2 } })
    ctrl.abort()
    await expect(aborted).rejects.toBeInstanceOf(AbortError)
    await expect(other).resolves.toMatchObject({ i: '2' })
    expect(sendsTo(fake, '/api/items').map((r) => r.query.i)).toEqual(['2'])
  })

  test('an already-aborted signal rejects at once without any network task', async () => {
    const { auth, fake } = setup()
    const ctrl = createAbortController()
    ctrl.abort()
    await expect(auth.get('/x', { signal: ctrl.signal })).rejects.toBeInstanceOf(AbortError)
    expect(fake.calls.request).toBe(0)
  })

  test('non-2xx → HttpError with status, data, method and URL, and no token anywhere in it', async () => {
    const { auth, server } = setup()
    server.route('POST', '/api/orders', () => ({ statusCode: 422, data: { error: 'sku required' } }))
    const s = await auth.login()
    const err = (await auth.post('/api/orders?debug=1', { sku: null }).catch((e) => e)) as HttpError
    expect(err).toBeInstanceOf(HttpError)
    expect(err).toMatchObject({ statusCode: 422, data: { error: 'sku required' }, method: 'POST', url: 'https://api.example.com/api/orders' })
    const serialised = JSON.stringify(err) + String(err) + err.stack
    expect(serialised).not.toContain(s.token)
  })

  test('a 2xx body that is not JSON → ResponseParseError; dataType text resolves the string', async () => {
    const { auth, server } = setup()
    server.route('GET', '/page', () => ({ statusCode: 200, data: '<!doctype html><h1>Maintenance</h1>' }))
    await auth.login()
    const err = (await auth.get('/page').catch((e) => e)) as ResponseParseError
    expect(err).toBeInstanceOf(ResponseParseError)
    expect(err.message).toContain('not JSON')
    expect(err.snippet).toContain('Maintenance')
    await expect(auth.get('/page', { dataType: 'text' })).resolves.toContain('<h1>Maintenance</h1>')
  })
})

describe('concurrency', () => {
  test('30 concurrent requests never exceed 10 in flight and go out in order', async () => {
    const { auth, fake, server } = setup({ wx: { latency: () => 2 + Math.floor(Math.random() * 8) } })
    meRoute(server)
    await auth.login()
    fake.resetCounters()
    await Promise.all(Array.from({ length: 30 }, (_, i) => auth.get('/api/items', { data: { i } })))
    expect(fake.network.peak).toBe(10)
    expect(fake.network.overLimit).toBe(0)
    expect(sendsTo(fake, '/api/items').map((r) => Number(r.query.i))).toEqual(Array.from({ length: 30 }, (_, i) => i))
  })

  test('maxConcurrent lowers the limit', async () => {
    const { auth, fake, server } = setup({ auth: { maxConcurrent: 3 }, wx: { latency: 3 } })
    meRoute(server)
    await Promise.all(Array.from({ length: 12 }, (_, i) => auth.get('/api/items', { data: { i } })))
    expect(fake.network.peak).toBe(3)
  })
})

describe('upload', () => {
  test('an upload answered 401 → one re-login, the upload retried with the new token, JSON parsed', async () => {
    const { auth, fake, server } = setup()
    server.route('POST', '/api/upload/avatar', (req) => ({ data: { url: 'https://cdn/' + req.file!.size, field: req.name } }))
    const old = await auth.login()
    server.expireTokens()
    const path = fake.addTempFile('12345', 'jpg')
    const res = await auth.upload<{ url: string; field: string }>({ url: '/api/upload/avatar', filePath: path, name: 'file' })
    expect(res).toEqual({ url: 'https://cdn/5', field: 'file' })
    const ups = fake.requests.filter((r) => r.kind === 'upload')
    expect(ups.map(authHeader)).toEqual(['Bearer ' + old.token, 'Bearer ' + auth.getToken()])
    expect(fake.calls.login).toBe(2)
  })

  test('upload without filePath → INVALID_INPUT before any network call', async () => {
    const { auth, fake } = setup()
    await expect(auth.upload({ url: '/u', filePath: '', name: 'file' })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    expect(fake.calls.uploadFile).toBe(0)
  })
})

describe('hooks', () => {
  test('beforeRequest changes options, afterResponse replaces the result, beforeError enriches the error', async () => {
    const seen: string[] = []
    const { auth, fake, server } = setup({
      auth: {
        hooks: {
          beforeRequest: (o) => ({ ...o, header: { ...(o.header || {}), 'X-Trace': 't1' } }),
          afterResponse: [
            (res) => {
              seen.push(String(res.statusCode))
            },
            (res) => (res.statusCode === 200 && res.data && typeof res.data === 'object' && 'data' in res.data ? { ...res, data: (res.data as { data: unknown }).data } : undefined),
          ],
          beforeError: (err) => Object.assign(err, { page: 'orders' }),
        },
      },
    })
    server.route('GET', '/wrapped', () => ({ data: { code: 0, data: [1, 2] } }))
    server.route('GET', '/broken', () => ({ statusCode: 500, data: { error: 'boom' } }))
    await expect(auth.get('/wrapped')).resolves.toEqual([1, 2])
    const err = await auth.get('/broken').catch((e) => e)
    expect(err).toMatchObject({ statusCode: 500, page: 'orders' })
    expect(sendsTo(fake, '/wrapped')[0].header['X-Trace']).toBe('t1')
    expect(seen).toEqual(['200', '500'])
  })
})
