/**
 * Issue 7: hostile input. Look-alike URLs never receive the token (with and without the `URL`
 * global), odd JWTs are only an expiry hint and never throw, secrets never appear in errors,
 * `error` events or debug lines, and `migrate: legacyToken(key)` migrates the seed's plain token once.
 */
import { createAuth, type Auth, type AuthOptions } from 'weapp-auth'
import { jwtExpiry } from 'weapp-auth/jwt'
import { legacyToken } from 'weapp-auth/storage'
import { createFakeAuthServer, createFakeWx, type FakeRequest, type FakeWx } from 'weapp-auth/testing'
import { BASE, b64url, jwt } from './helpers/setup'

const TOKEN = 'T0K3N-secret-abc123'
const authOf = (r: FakeRequest) => r.header.Authorization

function world(extra: Partial<AuthOptions> = {}) {
  const fake = createFakeWx({ handler: (r) => (r.path === '/api/auth/login' ? { data: { token: TOKEN } } : { data: { ok: true } }) })
  const auth = createAuth(
    Object.assign({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx, trustedOrigins: ['https://cdn.example.com'] }, extra) as AuthOptions,
  )
  return { fake, auth }
}

describe('the token never goes to an untrusted origin', () => {
  // [url as the app passes it, gets the token?]
  // prettier-ignore
  const cases: Array<[string, boolean]> = [
    ['/api/x',                                       true],
    ['https://api.example.com/x',                    true],
    ['https://API.EXAMPLE.COM/x',                    true],   // host names are case-insensitive: same origin
    ['HTTPS://api.example.com/x',                    true],   // so are schemes
    ['https://api.example.com:443/x',                true],   // explicit default port
    ['//api.example.com/x',                          true],   // scheme-relative, same host
    ['https://api.example.com?next=https://evil.com', true],  // the query is not the host
    ['https://api.example.com#@evil.com',            true],   // neither is the fragment
    ['https://cdn.example.com/img',                  true],   // listed in trustedOrigins
    ['https://api.example.com.evil.com/x',           false],  // suffix look-alike
    ['https://api.example.com@evil.com/',            false],  // user info: the host is evil.com
    ['https://api.example.com:443@evil.com/',        false],
    ['https://a@api.example.com@evil.com/',          false],  // the host follows the last '@'
    ['//evil.com/x',                                 false],  // scheme-relative, other host
    ['https://evil.com/https://api.example.com/',    false],
    ['https://evil.com/?u=https://api.example.com',  false],
    ['https://api.example.com:8443/x',               false],  // another port
    ['http://api.example.com/x',                     false],  // http vs https
    ['wss://api.example.com/x',                      false],  // another scheme
    ['https://xapi.example.com/x',                   false],
    ['https://example.com/x',                        false],  // the parent domain
    ['https://sub.api.example.com/x',                false],  // a subdomain
    ['https://api.example.co/x',                     false],
    ['https://api.example.com%2eevil.com/x',         false],
    ['https://cdn.example.com.evil.com/img',         false],  // look-alike of a trusted origin
    ['https://api.example.com\\@evil.com/',          false],  // ambiguous: WHATWG says api.example.com, others evil.com; no token
    ['https://evil.com\\@api.example.com/api/x',     false],  // WHATWG: evil.com (the backslash ends the authority)
    ['https://evil.com:443\\@api.example.com/',      false],
    ['https://evil.com\\\\@api.example.com/',         false],
    ['https://api.exa\tmple.com/x',                 false],  // ambiguous: WHATWG drops the tab; no token
  ]

  /** Where the same URL would go according to WHATWG URL (the oracle), when it parses. */
  const whatwgSameOrigin = (url: string) => {
    const u = new URL(url, BASE + '/')
    return u.origin === BASE || u.origin === 'https://cdn.example.com'
  }

  test('the table agrees with WHATWG URL except where noted', () => {
    const disagreements = cases.filter(([url, sends]) => whatwgSameOrigin(url) !== sends).map(([url]) => url)
    // Backslash in the authority: WHATWG treats it as a path separator, wx and simpler parsers do not. Sending no token is the safe side.
    expect(disagreements).toEqual(['https://api.example.com\\@evil.com/', 'https://api.exa\tmple.com/x'])
  })

  for (const withUrlGlobal of [true, false]) {
    test(`${cases.length} URL cases, ${withUrlGlobal ? 'with' : 'without'} the URL global`, async () => {
      const saved = (globalThis as { URL?: unknown }).URL
      if (!withUrlGlobal) delete (globalThis as { URL?: unknown }).URL
      try {
        const { fake, auth } = world()
        await auth.login()
        for (const [url] of cases) await auth.get(url)
        const sent = fake.requests.filter((r) => r.path !== '/api/auth/login')
        expect(sent).toHaveLength(cases.length)
        expect(sent.map((r, i) => [cases[i][0], authOf(r) === 'Bearer ' + TOKEN])).toEqual(cases)
        // the untrusted ones carry no Authorization at all, not even an empty one
        for (let i = 0; i < cases.length; i++) if (!cases[i][1]) expect(Object.keys(sent[i].header).map((h) => h.toLowerCase())).not.toContain('authorization')
      } finally {
        ;(globalThis as { URL?: unknown }).URL = saved
      }
    })
  }

  test('an untrusted URL does not even start a login', async () => {
    const { fake, auth } = world()
    await auth.get('https://api.example.com.evil.com/x')
    await auth.get('//evil.com/x')
    expect(fake.calls.login).toBe(0)
  })

  test('absolute URLs set by beforeRequest hooks are checked after the hooks', async () => {
    const targets = ['https://api.example.com.evil.com/x', '//evil.com/x', 'https://api.example.com@evil.com/', 'http://api.example.com/x', 'https://API.example.com/ok']
    let i = 0
    const { fake, auth } = world({ hooks: { beforeRequest: (o) => ({ ...o, url: targets[i++] }) } })
    await auth.login()
    for (let k = 0; k < targets.length; k++) await auth.get('/innocent')
    const sent = fake.requests.filter((r) => r.path !== '/api/auth/login')
    expect(sent.map((r) => authOf(r) === 'Bearer ' + TOKEN)).toEqual([false, false, false, false, true])
    expect(sent.map((r) => r.url)).toEqual(['https://api.example.com.evil.com/x', 'https://evil.com/x', 'https://api.example.com@evil.com/', 'http://api.example.com/x', 'https://API.example.com/ok'])
  })

  test('a caller header named authorization (any case) is replaced, never duplicated, on trusted origins', async () => {
    const { fake, auth } = world()
    await auth.login()
    await auth.get('/x', { header: { authorization: 'Bearer forged', AUTHORIZATION: 'x' } })
    const h = fake.requests[fake.requests.length - 1].header
    expect(Object.keys(h).filter((k) => k.toLowerCase() === 'authorization')).toEqual(['Authorization'])
    expect(h.Authorization).toBe('Bearer ' + TOKEN)
  })
})

describe('expiryFromToken: jwtExpiry — a JWT is only an expiry hint', () => {
  const now = () => Math.floor(Date.now() / 1000)
  const raw = (header: string, payload: string) => b64url(header) + '.' + b64url(payload) + '.sig'
  // [name, token, expected expiresAt (epoch ms) or undefined, logged in right after login?]
  const cases: Array<[string, () => string, (t: number) => number | undefined, boolean]> = [
    ['exp in seconds', () => jwt({ exp: now() + 3600 }), () => (now() + 3600) * 1000, true],
    ['exp in milliseconds', () => jwt({ exp: (now() + 3600) * 1000 }), () => (now() + 3600) * 1000, true],
    ['exp as a numeric string', () => jwt({ exp: String(now() + 3600) }), () => (now() + 3600) * 1000, true],
    // A token that looks expired the moment it arrives says more about this device's clock than
    // about the token: its expiry is unknown, and the server's 401 decides.
    ['exp in the past', () => jwt({ exp: now() - 60 }), () => undefined, true],
    ['non-numeric exp', () => jwt({ exp: 'tomorrow' }), () => undefined, true],
    ['exp null', () => jwt({ exp: null }), () => undefined, true],
    ['exp negative', () => jwt({ exp: -5 }), () => undefined, true],
    ['exp an object', () => jwt({ exp: { valueOf: 1 } }), () => undefined, true],
    ['no exp', () => jwt({ sub: 'u1' }), () => undefined, true],
    ['payload not JSON', () => raw('{"alg":"HS256"}', 'not json'), () => undefined, true],
    ['payload a JSON array', () => raw('{"alg":"HS256"}', '[1,2]'), () => undefined, true],
    ['payload with __proto__.exp', () => raw('{}', '{"__proto__":{"exp":1}}'), () => undefined, true],
    ['payload bad base64', () => 'aaa.@@@@.bbb', () => undefined, true],
    ['payload of length 4n+1', () => 'aaa.abcde.bbb', () => undefined, true],
    ['two parts', () => 'aaa.bbb', () => undefined, true],
    ['four parts', () => jwt({ exp: 1 }) + '.extra', () => undefined, true],
    ['only dots', () => '...', () => undefined, true],
    ['unicode payload', () => jwt({ name: '微信用户 🎉', exp: now() + 60 * 60 }), () => (now() + 3600) * 1000, true],
    ['huge payload (1 MB)', () => jwt({ pad: 'x'.repeat(1024 * 1024), exp: now() + 3600 }), () => undefined, true],
    ['opaque token', () => 'opaque-7f3a9c', () => undefined, true],
    ['opaque token with dots', () => 'v1.opaque.token', () => undefined, true],
  ]

  test.each(cases)('%s: login works, no throw', async (_n, make, expected, loggedIn) => {
    const token = make()
    const fake = createFakeWx({ handler: (r) => (r.path === '/login' ? { data: { token } } : { data: { ok: 1 } }) })
    const auth = createAuth({ baseURL: BASE, login: { url: '/login' }, platform: fake.wx, expiryMargin: 0, expiryFromToken: jwtExpiry })
    const t0 = Date.now()
    const s = await auth.login()
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(s.token).toBe(token)
    const exp = expected(0)
    if (exp === undefined) expect(s.expiresAt).toBeUndefined()
    else expect(Math.abs((s.expiresAt as number) - exp)).toBeLessThanOrEqual(1000)
    expect(auth.isLoggedIn()).toBe(loggedIn)
    // the same token as a stored record (the next launch) is read without throwing either
    const again = createAuth({ baseURL: BASE, login: { url: '/login' }, platform: fake.wx, expiryMargin: 0, expiryFromToken: jwtExpiry })
    expect(again.getToken()).toBe(token)
    // a request works: an expired hint means one fresh login first, otherwise the token is sent
    await expect(auth.get('/x')).resolves.toEqual({ ok: 1 })
    expect(fake.calls.login).toBe(loggedIn ? 1 : 2)
  })
})

describe('secrets never appear in errors, error events or debug lines', () => {
  function serialise(e: unknown): string {
    const err = e as Error & Record<string, unknown>
    const own: Record<string, unknown> = {}
    for (const k of Object.getOwnPropertyNames(err)) own[k] = err[k]
    const cause = err && err.cause ? serialise(err.cause) : ''
    return JSON.stringify(own) + String(err) + (err && err.stack) + require('util').inspect(err, { depth: 10 }) + cause
  }

  test('login, refresh and request failures: the token and refresh token are nowhere', async () => {
    const fake = createFakeWx()
    const server = createFakeAuthServer(fake)
    const lines: string[] = []
    const events: Error[] = []
    const rejections: unknown[] = []
    server.route('GET', '/api/items', () => ({ data: {} }))
    const auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, refresh: { url: '/api/auth/refresh' }, platform: fake.wx, debug: (l) => lines.push(l) })
    auth.on('error', (e) => events.push(e))
    fake.setHandler(server.handler)
    const s = await auth.login()
    const secrets = [s.token, s.refreshToken as string]
    const s2 = { token: 'tok-stored-' + 'z'.repeat(12), refreshToken: 'rt-stored-' + 'y'.repeat(12) }
    // 1. the refresh endpoint echoes both secrets back in a JSON error body and in an HTML page
    server.expireTokens()
    let page = 0
    fake.setHandler((r) => {
      if (r.path === '/api/auth/refresh') {
        const body = (r.data || {}) as { refreshToken?: string }
        return page++ === 0
          ? { statusCode: 401, data: { error: 'bad refresh token', refreshToken: body.refreshToken, token: secrets[0], detail: `token ${secrets[0]} revoked` } }
          : { statusCode: 200, data: `<html>refresh token ${body.refreshToken} / access ${s2.token} invalid</html>` }
      }
      if (r.path === '/api/auth/login') return { statusCode: 400, data: { errcode: 40029, errmsg: 'invalid code', echo: r.data } }
      return server.handler(r)
    })
    rejections.push(await auth.get('/api/items').catch((e) => e))
    // 2. the next launch: stored session, refresh answers HTML echoing the secrets, login answers 500
    secrets.push(s2.token, s2.refreshToken)
    fake.wx.setStorageSync('weapp-auth', { v: 1, ...s2, expiresAt: Date.now() - 1000 })
    const next = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, refresh: { url: '/api/auth/refresh' }, platform: fake.wx, debug: (l) => lines.push(l) })
    next.on('error', (e) => events.push(e))
    rejections.push(await next.checkAndLogin().catch((e) => e))
    // 3. a request refused as unauthorized twice
    fake.setHandler((r) => (r.path === '/api/auth/login' ? { data: { token: 'tok-fresh-' + 'w'.repeat(12) } } : { statusCode: 401, data: { error: 'nope', token: 'tok-fresh-' + 'w'.repeat(12) } }))
    secrets.push('tok-fresh-' + 'w'.repeat(12))
    rejections.push(await next.get('/api/items').catch((e) => e))

    expect(rejections.every((e) => e instanceof Error)).toBe(true)
    expect(events.length).toBeGreaterThanOrEqual(4)
    expect(lines.length).toBeGreaterThan(5)
    const everything = [...rejections, ...events].map(serialise).join('\n') + lines.join('\n')
    for (const secret of secrets) expect(everything).not.toContain(secret)
    expect(everything).toContain('[redacted]')
  })

  test('a storage failure carries no session data', async () => {
    const fake = createFakeWx({ handler: () => ({ data: { token: TOKEN, refreshToken: 'RT-secret-999' } }) })
    fake.wx.setStorageSync = () => {
      throw new Error('setStorageSync:fail exceed storage max size 10MB')
    }
    const auth = createAuth({ baseURL: BASE, login: { url: '/l' }, platform: fake.wx })
    const events: Error[] = []
    auth.on('error', (e) => events.push(e))
    await auth.login()
    expect(events.map((e) => (e as { code?: string }).code)).toEqual(['STORAGE_FAILED'])
    expect(serialise(events[0])).not.toMatch(/T0K3N|RT-secret/)
  })
})

describe('legacyToken(key): the seed stored wx.setStorageSync("token", token)', () => {
  const launch = (fake: FakeWx, extra: Partial<AuthOptions> = {}): Auth =>
    createAuth(Object.assign({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx, migrate: legacyToken('token') }, extra) as AuthOptions)

  test('an old plain token is moved into the record once and the old key removed', async () => {
    const fake = createFakeWx()
    const server = createFakeAuthServer(fake)
    fake.setHandler(server.handler)
    // a token the server still accepts, stored by the seed
    await createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx, storageKey: 'tmp' }).login()
    const legacy = server.validTokens()[0]
    fake.wx.removeStorageSync('tmp')
    fake.wx.setStorageSync('token', legacy)
    fake.resetCounters()
    const auth = launch(fake)
    await auth.checkAndLogin()
    expect(auth.getToken()).toBe(legacy)
    expect(fake.calls.login).toBe(0)
    expect(fake.storageSnapshot()).toEqual({ 'weapp-auth': { v: 1, token: legacy } })
    await expect(auth.get<{ id: string }>('/api/user/me')).resolves.toMatchObject({ id: 'u1' })
    expect(fake.requests[0].header.Authorization).toBe('Bearer ' + legacy)
    // the next launch reads the record only
    fake.resetCounters()
    expect(launch(fake).getToken()).toBe(legacy)
    expect(fake.calls.getStorageSync).toBe(1)
  })

  test('with expiryFromToken: jwtExpiry, an expired legacy JWT is migrated with its expiry, and checkAndLogin replaces it', async () => {
    const fake = createFakeWx()
    const server = createFakeAuthServer(fake)
    fake.setHandler(server.handler)
    const old = jwt({ exp: Math.floor(Date.now() / 1000) - 100 })
    fake.wx.setStorageSync('token', old)
    const auth = launch(fake, { expiryFromToken: jwtExpiry })
    expect(auth.getToken()).toBe(old)
    expect(auth.isLoggedIn()).toBe(false)
    const s = await auth.checkAndLogin()
    expect(s.token).not.toBe(old)
    expect(fake.storageSnapshot()).toEqual({ 'weapp-auth': expect.objectContaining({ v: 1, token: s.token }) })
  })

  test.each([
    ['a number', 12345],
    ['an object', { token: 'x' }],
    ['blank', '   '],
    ['with spaces', 'Bearer abc'],
    ['an array', ['abc']],
  ])('a corrupt legacy value (%s) is ignored and removed', async (_n, value) => {
    const fake = createFakeWx()
    fake.wx.setStorageSync('token', value)
    const auth = launch(fake)
    expect(auth.getToken()).toBeNull()
    expect(fake.storageSnapshot()).toEqual({})
  })

  test('an existing SDK record wins over a legacy token', async () => {
    const fake = createFakeWx()
    fake.wx.setStorageSync('weapp-auth', { v: 1, token: 'current' })
    fake.wx.setStorageSync('token', 'legacy')
    expect(launch(fake).getToken()).toBe('current')
  })

  test('a legacy key equal to storageKey is ignored', () => {
    const fake = createFakeWx()
    fake.wx.setStorageSync('token', 'plain')
    const events: Error[] = []
    const auth = launch(fake, { storageKey: 'token' })
    auth.on('error', (e) => events.push(e))
    expect(auth.getToken()).toBeNull()
    expect(events.map((e) => (e as { code?: string }).code)).toEqual(['STORAGE_CORRUPT'])
  })
})

describe('options replaced in issue 11 name their replacement', () => {
  test.each([
    ['encryptStorage', true, /encryptStorage; it is now storage: encryptedStorage\(\), imported from 'weapp-auth\/storage'/],
    ['legacyTokenKey', 'token', /legacyTokenKey; it is now migrate: legacyToken\('token'\), imported from 'weapp-auth\/storage'/],
  ])('%s → CONFIG naming the import', (name, value, message) => {
    const fake = createFakeWx()
    expect(() => createAuth({ baseURL: BASE, login: { url: '/l' }, platform: fake.wx, [name]: value } as never)).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringMatching(message) }),
    )
  })

  test('legacyToken() without a key is a CONFIG error', () => {
    expect(() => legacyToken('' as never)).toThrow(expect.objectContaining({ code: 'CONFIG' }))
  })
})
