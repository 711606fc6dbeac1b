/**
 * Issue 3: login, checkAndLogin and the token store, through the public API with the fake wx.
 */
import { createAuth, AuthError, NetworkError, TimeoutError, isWeappAuthError } from 'weapp-auth'
import { jwtExpiry } from 'weapp-auth/jwt'
import { createFakeWx } from 'weapp-auth/testing'
import { BASE, jwt, setup } from './helpers/setup'

describe('login()', () => {
  test('20 concurrent calls share one wx.login and one login request', async () => {
    const { auth, fake, loginRequests } = setup({ wx: { latency: 5 } })
    const sessions = await Promise.all(Array.from({ length: 20 }, () => auth.login()))
    expect(fake.calls.login).toBe(1)
    expect(loginRequests()).toBe(1)
    expect(new Set(sessions.map((s) => s.token)).size).toBe(1)
    expect(auth.getToken()).toBe(sessions[0].token)
  })

  test('every attempt uses a fresh code; a code is never sent twice', async () => {
    const { auth, fake, server } = setup()
    await auth.login()
    await auth.login()
    await auth.login()
    const sent = fake.requests.filter((r) => r.path === '/api/auth/login').map((r) => (r.data as { code: string }).code)
    expect(sent).toHaveLength(3)
    expect(new Set(sent).size).toBe(3)
    expect(server.stats.rejectedCodes).toBe(0)
  })

  test("codeIn: 'query' puts the code in the URL and sends no body", async () => {
    const { auth, fake } = setup({ auth: { login: { url: '/api/auth/login', codeIn: 'query' } } })
    await auth.login()
    const req = fake.requests[0]
    expect(req.query.code).toBe(fake.issuedCodes[0])
    expect(req.data).toBeUndefined()
    expect(req.method).toBe('POST')
  })

  test('session_key, openid and unionid from the server never reach storage', async () => {
    const fake = createFakeWx({
      handler: () => ({
        data: { token: 't-1', session_key: 'SK', openid: 'OID', user: { id: 1, openid: 'OID', unionid: 'UID', session_key: 'SK', nickName: 'n' } },
      }),
    })
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {})
    const auth = createAuth({ baseURL: BASE, login: { url: '/login' }, platform: fake.wx })
    const s = await auth.login()
    const stored = JSON.stringify(fake.storageSnapshot())
    expect(stored).toContain('t-1')
    for (const secret of ['SK', 'OID', 'UID', 'session_key', 'openid', 'unionid']) expect(stored).not.toContain(secret)
    expect(s.user).toEqual({ id: 1, nickName: 'n' })
    // warned once, in the develop env version
    await auth.login()
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('session_key'))).toHaveLength(1)
    warn.mockRestore()
  })

  test('accepts access_token / expires_in / data envelope variants and a custom parse', async () => {
    const fake = createFakeWx({ handler: () => ({ data: { code: 0, data: { access_token: 'A', expires_in: 120, refresh_token: 'R' } } }) })
    const auth = createAuth({ baseURL: BASE, login: { url: '/login' }, platform: fake.wx })
    const before = Date.now()
    const s = await auth.login()
    expect(s.token).toBe('A')
    expect(s.refreshToken).toBe('R')
    expect(s.expiresAt).toBeGreaterThanOrEqual(before + 120000)
    expect(s.expiresAt).toBeLessThanOrEqual(Date.now() + 120000)

    const fake2 = createFakeWx({ handler: () => ({ data: { result: { jwt: 'J' } } }) })
    const auth2 = createAuth({
      baseURL: BASE,
      login: { url: '/login', parse: (d) => ({ token: (d as { result: { jwt: string } }).result.jwt, expiresIn: 60 }) },
      platform: fake2.wx,
    })
    expect((await auth2.login()).token).toBe('J')
  })
})

describe('login failures: typed errors and no half-written state', () => {
  const cases: Array<{ name: string; arrange: (f: ReturnType<typeof setup>) => void; expectErr: (e: unknown) => void }> = [
    {
      name: 'wx.login fails',
      arrange: ({ fake }) => (fake.behavior.login = 'fail'),
      expectErr: (e) => expect(e).toMatchObject({ name: 'AuthError', code: 'WX_LOGIN_FAILED', errMsg: 'login:fail network error' }),
    },
    {
      name: 'wx.login succeeds without a code',
      arrange: ({ fake }) => (fake.behavior.login = 'no-code'),
      expectErr: (e) => expect(e).toMatchObject({ code: 'WX_LOGIN_FAILED' }),
    },
    {
      name: 'login endpoint answers 400 with a WeChat errcode',
      arrange: ({ fake }) => fake.setHandler(() => ({ statusCode: 400, data: { errcode: 40029, errmsg: 'invalid code' } })),
      expectErr: (e) => {
        expect(e).toMatchObject({ code: 'LOGIN_REJECTED', status: 400, errno: 40029 })
        expect((e as Error).message).toContain('errcode 40029')
      },
    },
    {
      name: 'login endpoint answers 500',
      arrange: ({ server }) => (server.loginStatus = 500),
      expectErr: (e) => expect(e).toMatchObject({ code: 'LOGIN_REJECTED', status: 500 }),
    },
    {
      name: 'login endpoint answers HTML',
      arrange: ({ fake }) => fake.setHandler(() => ({ statusCode: 200, data: '<html><body>502 Bad Gateway</body></html>' })),
      expectErr: (e) => {
        expect(e).toMatchObject({ code: 'BAD_LOGIN_RESPONSE' })
        expect((e as Error).message).toContain('not JSON')
      },
    },
    {
      name: 'login endpoint answers JSON without a token',
      arrange: ({ fake }) => fake.setHandler(() => ({ data: { ok: true, user: { id: 1 } } })),
      expectErr: (e) => {
        expect(e).toMatchObject({ code: 'BAD_LOGIN_RESPONSE' })
        expect((e as Error).message).toMatch(/without a token/)
      },
    },
    {
      name: 'login request fails on the network',
      arrange: ({ fake }) => fake.setHandler(() => ({ networkError: 'net::ERR_CONNECTION_RESET' })),
      expectErr: (e) => expect(e).toBeInstanceOf(NetworkError),
    },
  ]

  test.each(cases)('$name', async ({ arrange, expectErr }) => {
    const ctx = setup()
    arrange(ctx)
    const err = await ctx.auth.login().then(
      () => null,
      (e) => e,
    )
    expect(isWeappAuthError(err)).toBe(true)
    expectErr(err)
    expect(ctx.auth.getToken()).toBeNull()
    expect(ctx.auth.isLoggedIn()).toBe(false)
    expect(ctx.fake.storageSnapshot()).toEqual({})
    expect(ctx.errors).toContain(err)
  })

  test('wx.login that never calls back is ended by login.timeout', async () => {
    const { auth, fake } = setup({ auth: { login: { url: '/api/auth/login', timeout: 30 } } })
    fake.behavior.login = 'hang'
    await expect(auth.login()).rejects.toBeInstanceOf(TimeoutError)
    // the next attempt works once wx.login answers again
    fake.behavior.login = 'ok'
    await expect(auth.login()).resolves.toHaveProperty('token')
  })
})

describe('checkAndLogin()', () => {
  test('a second call after a successful one makes zero requests', async () => {
    const { auth, fake } = setup()
    await auth.checkAndLogin()
    fake.resetCounters()
    const s = await auth.checkAndLogin()
    expect(s.token).toBe(auth.getToken())
    expect(fake.requests).toHaveLength(0)
    expect(fake.calls.login).toBe(0)
    expect(fake.calls.checkSession).toBe(1)
  })

  test('a new instance (next app launch) reuses the stored session with zero requests and one storage read', async () => {
    const { auth, fake } = setup()
    const first = await auth.checkAndLogin()
    fake.resetCounters()
    const again = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx })
    expect((await again.checkAndLogin()).token).toBe(first.token)
    for (let i = 0; i < 5; i++) again.getToken()
    expect(fake.requests).toHaveLength(0)
    expect(fake.calls.getStorageSync).toBe(1)
  })

  test('with expiryFromToken: jwtExpiry, an expired JWT (by its exp claim) triggers a new login', async () => {
    const fake = createFakeWx()
    const expired = jwt({ sub: '1', exp: Math.floor(Date.now() / 1000) - 10 })
    const fresh = jwt({ sub: '1', exp: Math.floor(Date.now() / 1000) + 3600 })
    fake.wx.setStorageSync('weapp-auth', { v: 1, token: expired })
    fake.setHandler(() => ({ data: { token: fresh } }))
    const auth = createAuth({ baseURL: BASE, login: { url: '/login' }, platform: fake.wx, expiryFromToken: jwtExpiry })
    expect(auth.isLoggedIn()).toBe(false) // no expiresAt stored: the JWT's exp tells
    const s = await auth.checkAndLogin()
    expect(fake.calls.login).toBe(1)
    expect(s.token).toBe(fresh)
    expect(s.expiresAt).toBe((Math.floor(Date.now() / 1000) + 3600) * 1000)
  })

  test('without expiryFromToken, a JWT is opaque: no expiry is read from it, a refused token is renewed on its 401', async () => {
    const fake = createFakeWx()
    const expired = jwt({ sub: '1', exp: Math.floor(Date.now() / 1000) - 10 })
    fake.wx.setStorageSync('weapp-auth', { v: 1, token: expired })
    const auth = createAuth({ baseURL: BASE, login: { url: '/login' }, platform: fake.wx })
    expect(auth.isLoggedIn()).toBe(true)
    expect(auth.getSession()).toEqual({ token: expired })
    fake.setHandler((r) => (r.path === '/login' ? { data: { token: 'opaque-2' } } : r.header.Authorization === 'Bearer opaque-2' ? { data: { ok: 1 } } : { statusCode: 401, data: {} }))
    await expect(auth.get('/x')).resolves.toEqual({ ok: 1 })
    expect(fake.calls.login).toBe(1)
  })

  test('a token inside the expiry margin counts as expired', async () => {
    const { auth, fake } = setup({ server: { tokenTtl: 3600 } })
    await auth.checkAndLogin()
    const realNow = Date.now
    const later = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 3570 * 1000) // 30 s before expiry
    try {
      await auth.checkAndLogin()
      expect(fake.calls.login).toBe(2)
    } finally {
      later.mockRestore()
    }
  })

  test('the margin never exceeds half the lifetime: 30-second tokens are not renewed on every call', async () => {
    const { auth, fake } = setup({ server: { tokenTtl: 30 } }) // 30 s lifetime < 60 s default margin
    await auth.checkAndLogin()
    await auth.checkAndLogin()
    await auth.checkAndLogin()
    expect(fake.calls.login).toBe(1)
  })

  test('wx.checkSession failure triggers a new login', async () => {
    const { auth, fake } = setup()
    const first = await auth.checkAndLogin()
    fake.behavior.checkSession = false
    const second = await auth.checkAndLogin()
    expect(fake.calls.login).toBe(2)
    expect(second.token).not.toBe(first.token)
  })

  test('a corrupt stored record is treated as logged out', async () => {
    for (const junk of ['{not json', 42, { v: 1 }, { v: 2, token: 'x' }, { v: 1, token: 7 }, ['a'], 'plain-string-token']) {
      const { auth, fake, errors } = setup()
      fake.wx.setStorageSync('weapp-auth', junk)
      expect(auth.getToken()).toBeNull()
      expect(auth.isLoggedIn()).toBe(false)
      expect(errors.map((e) => (e as AuthError).code)).toEqual(['STORAGE_CORRUPT'])
      await auth.checkAndLogin()
      expect(fake.calls.login).toBe(1)
      expect(fake.storageSnapshot()['weapp-auth']).toMatchObject({ v: 1, token: auth.getToken() })
    }
  })

  test('storage that throws: still logs in, works in memory, emits error', async () => {
    const { auth, fake, errors } = setup()
    fake.behavior.storageRead = 'throw'
    fake.behavior.storageWrite = 'throw'
    const s = await auth.checkAndLogin()
    expect(s.token).toBeTruthy()
    expect(auth.getToken()).toBe(s.token)
    expect(errors.length).toBeGreaterThanOrEqual(2)
    expect(errors.every((e) => (e as AuthError).code === 'STORAGE_FAILED')).toBe(true)
    // and requests use the in-memory token
    const me = await auth.get<{ id: string }>('/api/user/me')
    expect(me.id).toBe('u1')
  })
})

describe('configuration', () => {
  const fake = createFakeWx()
  const platform = fake.wx
  test.each([
    ['http baseURL on a public host', { baseURL: 'http://api.example.com', login: { url: '/l' } }, /plain http/],
    ['http login URL on a public host', { baseURL: BASE, login: { url: 'http://evil.example.com/l' } }, /login\.url .*plain http/],
    ['missing login.url', { baseURL: BASE, login: {} }, /login\.url is required/],
    ['relative baseURL', { baseURL: '/api', login: { url: '/l' } }, /absolute http\(s\) URL/],
    ['typo in an option', { baseURL: BASE, baseUrl: BASE, login: { url: '/l' } }, /unknown option baseUrl \(did you mean baseURL\?\)/],
    ['bad codeIn', { baseURL: BASE, login: { url: '/l', codeIn: 'header' } }, /codeIn/],
    ['bad timeout', { baseURL: BASE, login: { url: '/l' }, timeout: -1 }, /timeout/],
  ])('%s → AuthError CONFIG', (_name, opts, message) => {
    let err: unknown
    try {
      createAuth(Object.assign({ platform }, opts) as never)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(AuthError)
    expect(err).toMatchObject({ code: 'CONFIG' })
    expect((err as Error).message).toMatch(message)
  })

  test('loopback http and allowInsecure are accepted', () => {
    expect(() => createAuth({ baseURL: 'http://127.0.0.1:3000', login: { url: '/l' }, platform })).not.toThrow()
    expect(() => createAuth({ baseURL: 'http://localhost:3000', login: { url: '/l' }, platform })).not.toThrow()
    expect(() => createAuth({ baseURL: 'http://[::1]:3000', login: { url: '/l' }, platform })).not.toThrow()
    expect(() => createAuth({ baseURL: 'http://10.0.0.2', login: { url: '/l' }, platform, allowInsecure: true })).not.toThrow()
  })

  test('no global wx and no platform → CONFIG error naming the fix', () => {
    expect(() => createAuth({ baseURL: BASE, login: { url: '/l' } })).toThrow(/pass `platform`/)
  })
})
