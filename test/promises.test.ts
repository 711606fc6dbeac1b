/**
 * The client keeps its promises, tried as an attacker and as an unlucky user would, through the
 * public API on weapp-auth/testing's fakes:
 * - the token never reaches a host a WHATWG parser would connect to unless it is trusted
 *   (a property test over generated hostile URLs, for requests, uploads and uploadAvatar);
 * - the login code, Douyin's anonymous code and refresh tokens never appear in an error, its
 *   data, a debug line or an event, whatever the server echoes;
 * - an encrypted-storage read that never answers does not leave calls pending;
 * - a device clock that is off cannot cause a login storm (a property test over random skews);
 * - one launch, one login; absurd lifetimes are "expiry unknown", never corruption;
 * - nicknames counted as users see them.
 */
import fc from 'fast-check'
import { createAuth, type Auth, type AuthOptions } from 'weapp-auth'
import { jwtExpiry } from 'weapp-auth/jwt'
import { normalizeNickname, uploadAvatar } from 'weapp-auth/open'
import { encryptedStorage } from 'weapp-auth/storage'
import { createFakeWx, type FakeRequest, type FakeWx } from 'weapp-auth/testing'
import { BASE } from './helpers/setup'

const LOGIN = '/api/auth/login'
const TOKEN = 'T0K3N-for-trusted-hosts-only'
const TRUSTED = new Set(['api.example.com', 'cdn.example.com'])

describe('the token reaches only hosts a WHATWG parser would call trusted', () => {
  /** What a WHATWG parser (Node's URL) connects to, normalised as the SDK compares: one trailing dot dropped. */
  function whatwgHost(url: string): string | null {
    try {
      const u = new URL(url)
      if (u.protocol !== 'https:') return null
      const host = u.hostname.replace(/\.$/, '')
      return u.port === '' || u.port === '443' ? host : null
    } catch (_) {
      return null
    }
  }

  const piece = fc.constantFrom(
    'evil.com', 'api.example.com', 'cdn.example.com', 'api.example.com.evil.com', 'a', '\\', '\\\\', '/', '//', '@', ':', ':443', ':8443', '%2e', '%40', '%5c',
    '#', '?', '.', '\t', '\n', '\r', '。', '．', 'ａpi.example.com', 'user:pw', 'API.EXAMPLE.COM', ' ', '\u0000', 'https:', 'x',
  )
  const scheme = fc.constantFrom('https://', 'https:\\\\', 'https:/\\', 'HTTPS://', '//', 'https:', '')
  const tail = fc.constantFrom('', '/x', '\\x', '?q=1', '#f')
  /** Random mixes of the pieces. */
  const mixed = fc.tuple(scheme, fc.array(piece, { minLength: 1, maxLength: 7 }), tail).map(([a, parts, t]) => a + parts.join('') + t)
  /** Two hosts around a separator that one parser or another reads as the end of the user info. */
  const host = fc.constantFrom('evil.com', 'api.example.com', 'cdn.example.com', 'API.example.com', 'evil.com:443', 'api.example.com.')
  const separator = fc.constantFrom('@', '\\@', '\\\\@', '\\/@', '/@', '?@', '#@', '\t@', '\n@', '%40', '\\', ':@', '@@', '\\.@', '%5c@')
  const around = fc.tuple(scheme, host, separator, host, tail).map(([a, h1, sep, h2, t]) => a + h1 + sep + h2 + t)
  const hostile = fc.oneof(mixed, around)

  function world(): { fake: FakeWx; auth: Auth; file: string } {
    const fake = createFakeWx({ handler: (r) => (r.path === LOGIN ? { data: { token: TOKEN } } : { data: { ok: true } }) })
    const file = fake.addTempFile('PNG', 'png')
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx, trustedOrigins: ['https://cdn.example.com'] } as AuthOptions)
    return { fake, auth, file }
  }

  /** Every request or upload that carried the token went to a trusted host by WHATWG's reading. */
  function leaks(sent: FakeRequest[]): string[] {
    return sent.filter((r) => r.header.Authorization === 'Bearer ' + TOKEN && !TRUSTED.has(whatwgHost(r.url) || '')).map((r) => r.url)
  }

  const RUNS = 1500
  test(`${RUNS} generated hostile URLs through get, upload and uploadAvatar: 0 tokens to an untrusted host`, async () => {
    const { fake, auth, file } = world()
    await auth.login()
    let withToken = 0
    const sentBy = { get: 0, upload: 0, avatar: 0 }
    await fc.assert(
      fc.asyncProperty(hostile, fc.constantFrom('get', 'upload', 'avatar'), async (url, how) => {
        const before = fake.requests.length
        const call =
          how === 'get'
            ? auth.get(url)
            : how === 'upload'
              ? auth.upload({ url, filePath: file, name: 'file' })
              : uploadAvatar(auth, file, { url })
        await call.catch(() => undefined)
        const sent = fake.requests.slice(before)
        sentBy[how] += sent.length
        withToken += sent.filter((r) => r.header.Authorization).length
        expect(leaks(sent)).toEqual([])
      }),
      { numRuns: RUNS, seed: 20261204 },
    )
    // The generator does reach trusted hosts too, on every path: the property is not passing by sending nothing.
    expect(withToken).toBeGreaterThan(50)
    expect(Math.min(sentBy.get, sentBy.upload, sentBy.avatar)).toBeGreaterThan(RUNS / 5)
  })

  test('the backslash URLs an attacker tried: no token, on get, upload and uploadAvatar', async () => {
    const { fake, auth, file } = world()
    await auth.login()
    const urls = ['https://evil.com\\@api.example.com/api/x', 'https://evil.com:443\\@api.example.com/', 'https://evil.com\\\\@api.example.com/', 'https://evil.com\\/@api.example.com/']
    for (const url of urls) {
      await auth.get(url).catch(() => undefined)
      await auth.upload({ url, filePath: file, name: 'file' }).catch(() => undefined)
      await uploadAvatar(auth, file, { url }).catch(() => undefined)
    }
    const sent = fake.requests.filter((r) => r.path !== LOGIN)
    expect(sent).toHaveLength(urls.length * 3)
    expect(sent.filter((r) => r.header.Authorization)).toEqual([])
  })
})

describe('codes and refresh tokens are secrets everywhere', () => {
  type Echo = (body: { code?: string; anonymousCode?: string; refreshToken?: string }, r: FakeRequest) => { statusCode: number; data: unknown; header?: Record<string, string> }
  const echoes: Array<[string, Echo]> = [
    ['400 { errcode: 40029, errmsg: "invalid code <code>" }', (b) => ({ statusCode: 400, data: { errcode: 40029, errmsg: `invalid code ${b.code}` } })],
    ['503 "… for code <code>"', (b) => ({ statusCode: 503, data: { error: 'wechat_busy', message: `WeChat is busy for code ${b.code}` } })],
    ['400 { js_code }', (b) => ({ statusCode: 400, data: { error: 'bad', js_code: b.code, detail: { anonymous_code: b.code } } })],
    ['an HTML error page quoting it', (b) => ({ statusCode: 502, data: `<html><body><h1>502</h1><pre>upstream failed for js_code=${b.code}</pre></body></html>`, header: { 'Content-Type': 'text/html' } })],
    ['200 with no token, echoing it', (b) => ({ statusCode: 200, data: { ok: false, code: b.code, note: `code ${b.code} was not exchanged` } })],
  ]

  test.each(echoes)('login endpoint answering %s: no error message, err.data, debug line or event carries the code', async (_name, echo) => {
    const codes: string[] = []
    const fake = createFakeWx({
      handler: (r) => {
        const body = r.data as { code: string }
        codes.push(body.code)
        return echo(body, r)
      },
    })
    const debug: string[] = []
    const events: unknown[] = []
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx, debug: (line) => debug.push(line) })
    auth.on('error', (e) => events.push(e))
    const err = (await auth.login().catch((e: unknown) => e)) as Error & { data?: unknown }
    expect(err).toBeInstanceOf(Error)
    expect(codes).toHaveLength(1)
    const everything = JSON.stringify([err.message, err.data, String(err), debug, events.map((e) => [(e as Error).message, (e as { data?: unknown }).data])])
    expect(everything).not.toContain(codes[0])
    expect(everything).toContain('[redacted]')
  })

  test('a refresh endpoint echoing the refresh token it was sent: redacted too', async () => {
    let refreshSent = ''
    const fake = createFakeWx({
      handler: (r) => {
        if (r.path === LOGIN) return { data: { token: 'tok-1', refreshToken: 'refresh-token-aaaa-1111', expiresIn: 3600 } }
        if (r.path === '/api/auth/refresh') {
          refreshSent = (r.data as { refreshToken: string }).refreshToken
          return { statusCode: 400, data: { error: 'invalid_refresh_token', message: `unknown refresh token ${refreshSent}` } }
        }
        return r.header.Authorization === 'Bearer tok-1' ? { statusCode: 401, data: {} } : { data: { ok: 1 } }
      },
    })
    const events: Error[] = []
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, refresh: { url: '/api/auth/refresh' }, platform: fake.wx })
    auth.on('error', (e) => events.push(e))
    await auth.login()
    await auth.get('/x').catch(() => undefined)
    expect(refreshSent).toBe('refresh-token-aaaa-1111')
    expect(events.length).toBeGreaterThan(0)
    expect(JSON.stringify(events.map((e) => [e.message, (e as { data?: unknown }).data]))).not.toContain(refreshSent)
  })
})

test('your API echoing the token in an error answer: HttpError.data carries it redacted', async () => {
  const fake = createFakeWx({
    handler: (r) =>
      r.path === LOGIN
        ? { data: { token: TOKEN, refreshToken: 'refresh-secret-9999' } }
        : { statusCode: 403, data: { error: 'forbidden', detail: `token ${TOKEN} may not do this`, echo: { token: TOKEN, session_key: 'sk-1234' } } },
  })
  const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx })
  const err = (await auth.get('/admin').catch((e: unknown) => e)) as Error & { data?: unknown; statusCode?: number }
  expect(err.statusCode).toBe(403)
  expect(JSON.stringify([err.message, err.data])).not.toMatch(new RegExp(`${TOKEN}|sk-1234`))
  expect(err.data).toEqual({ error: 'forbidden', detail: 'token [redacted] may not do this', echo: { token: '[redacted]', session_key: '[redacted]' } })
})

describe('every host call has a time limit', () => {
  test('an encrypted-storage read that never answers: checkAndLogin, get and login settle, with one STORAGE_FAILED', async () => {
    const fake = createFakeWx({ handler: (r) => (r.path === LOGIN ? { data: { token: TOKEN } } : { data: { ok: 1 } }) })
    fake.behavior.storageRead = 'hang'
    const errors: Array<{ code?: string }> = []
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN, timeout: 1000 }, timeout: 1000, platform: fake.wx, storage: encryptedStorage() })
    auth.on('error', (e) => errors.push(e as { code?: string }))
    const started = Date.now()
    const [launched, got, loggedIn] = await Promise.all([auth.checkAndLogin(), auth.get<{ ok: number }>('/x'), auth.login()])
    expect(Date.now() - started).toBeLessThan(3000)
    expect(launched.token).toBe(TOKEN)
    expect(got).toEqual({ ok: 1 })
    expect(loggedIn.token).toBe(TOKEN)
    expect(errors.filter((e) => e.code === 'STORAGE_FAILED')).toHaveLength(1)
    expect(fake.calls.login).toBe(1)
  })
})

test('encrypted-storage writes that never answer: the session lives in memory, one STORAGE_FAILED per write, and writes resume when storage does', async () => {
  const fake = createFakeWx({ handler: (r) => (r.path === LOGIN ? { data: { token: 'tok-' + r.url.length + '-' + Math.random() } } : { data: { ok: 1 } }) })
  const errors: Array<{ code?: string }> = []
  const auth = createAuth({ baseURL: BASE, login: { url: LOGIN, timeout: 300 }, platform: fake.wx, storage: encryptedStorage() })
  auth.on('error', (e) => errors.push(e as { code?: string }))
  await auth.checkAndLogin()
  fake.behavior.storageWrite = 'hang'
  auth.logout()
  const second = await auth.login()
  expect(auth.getToken()).toBe(second.token)
  await new Promise((r) => setTimeout(r, 800))
  expect(errors.filter((e) => e.code === 'STORAGE_FAILED')).toHaveLength(2)
  // Storage answers again: the next write lands, the chain was not stuck behind the hung ones.
  fake.behavior.storageWrite = 'ok'
  auth.logout()
  const third = await auth.login()
  await new Promise((r) => setTimeout(r, 50))
  const next = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx, storage: encryptedStorage() })
  await next.checkAndLogin()
  expect(next.getToken()).toBe(third.token)
  expect(fake.calls.login).toBe(3)
})

describe('a device clock that is off cannot cause a login storm', () => {
  const HOUR = 3600 * 1000
  const realNow = Date.now.bind(Date)
  afterEach(() => {
    Date.now = realNow
  })

  /** A server on the true clock: tokens live an hour; it answers with a Date header and an absolute expiry (or a JWT's exp). */
  function serverWith(expiry: 'expiresAt' | 'jwt' | 'expiresIn', sendDate: boolean) {
    let n = 0
    const valid = new Map<string, number>()
    const fake = createFakeWx({
      handler: (r) => {
        const now = realNow()
        const header: Record<string, string> = sendDate ? { Date: new Date(now).toUTCString() } : {}
        if (r.path === LOGIN) {
          const exp = now + HOUR
          const token =
            expiry === 'jwt'
              ? ['e30', Buffer.from(JSON.stringify({ sub: 'u', n: ++n, exp: Math.floor(exp / 1000) })).toString('base64url'), 'sig'].join('.')
              : 'tok-' + ++n
          valid.set(token, exp)
          const data = expiry === 'expiresAt' ? { token, expiresAt: exp } : expiry === 'expiresIn' ? { token, expiresIn: 3600 } : { token }
          return { data, header }
        }
        const token = String(r.header.Authorization || '').replace('Bearer ', '')
        const exp = valid.get(token)
        return exp !== undefined && exp > now ? { data: { ok: 1 }, header } : { statusCode: 401, data: {}, header }
      },
    })
    return fake
  }

  test('over random skews (±10 years), expiry forms and Date headers: one login for a launch and 5 requests, then none', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: -3156e8, max: 3156e8 }), fc.constantFrom(-2 * HOUR, -HOUR - 1, -HOUR + 1000, HOUR - 1000, HOUR + 1, 2 * HOUR, 30 * 24 * HOUR)),
        fc.constantFrom('expiresAt' as const, 'jwt' as const, 'expiresIn' as const),
        fc.boolean(),
        async (skew, expiry, sendDate) => {
          const fake = serverWith(expiry, sendDate)
          Date.now = () => realNow() + skew
          const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx, expiryFromToken: jwtExpiry })
          await auth.checkAndLogin()
          for (let i = 0; i < 5; i++) await expect(auth.get('/x')).resolves.toEqual({ ok: 1 })
          // A burst after them: still no login.
          await Promise.all(Array.from({ length: 5 }, () => auth.get('/x')))
          Date.now = realNow
          expect({ skew, expiry, sendDate, logins: fake.calls.login }).toEqual({ skew, expiry, sendDate, logins: 1 })
        },
      ),
      { numRuns: 150, seed: 24 },
    )
  })

  test('with a Date header, the expiry is judged on the server clock: on a device 50 minutes ahead, the token is stored with an hour left on the device’s own clock', async () => {
    const fake = serverWith('expiresAt', true)
    Date.now = () => realNow() + 50 * 60 * 1000
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx, expiryMargin: 0 })
    const s = await auth.login()
    // Stored on the device's clock: an hour from the device's now.
    expect(Math.abs((s.expiresAt as number) - (Date.now() + HOUR))).toBeLessThan(2000)
  })

  test('a JWT that looked expired on arrival stays "expiry unknown" at the next launch: two launches, one login', async () => {
    const fake = serverWith('jwt', false)
    Date.now = () => realNow() + 2 * HOUR
    const first = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx, expiryFromToken: jwtExpiry })
    await first.checkAndLogin()
    await first.get('/x')
    const second = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx, expiryFromToken: jwtExpiry })
    await second.checkAndLogin()
    await second.get('/x')
    expect(fake.calls.login).toBe(1)
  })
})

describe('one launch, one login', () => {
  test('a renewal that ran while checkSession was pending is the launch’s login', async () => {
    let issued = 0
    const fake = createFakeWx({
      handler: (r) => {
        if (r.path === LOGIN) return { data: { token: 'fresh-' + ++issued } }
        return String(r.header.Authorization).indexOf('fresh-') >= 0 ? { data: { ok: 1 } } : { statusCode: 401, data: {} }
      },
    })
    fake.wx.setStorageSync('weapp-auth', { v: 1, token: 'expired-on-the-server' })
    fake.behavior.checkSessionDelay = 100
    fake.behavior.checkSession = false
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx })
    const launch = auth.checkAndLogin()
    const page = auth.get('/api/user/me')
    const [session, me] = await Promise.all([launch, page])
    expect(me).toEqual({ ok: 1 })
    expect(session.token).toBe('fresh-1')
    expect(fake.calls.login).toBe(1)
  })
})

describe('absurd lifetimes are "expiry unknown", stored as such', () => {
  test.each([['Infinity', Infinity], ['NaN', NaN], ['-Infinity', -Infinity]])('a parse that answers expiresIn %s: logged in, no expiry, and the next launch finds the record intact', async (_name, expiresIn) => {
    const fake = createFakeWx({ handler: (r) => (r.path === LOGIN ? { data: { token: TOKEN } } : { data: { ok: 1 } }) })
    const login = { url: LOGIN, parse: (d: unknown) => ({ token: (d as { token: string }).token, expiresIn }) }
    const auth = createAuth({ baseURL: BASE, login, platform: fake.wx })
    expect((await auth.login()).expiresAt).toBeUndefined()
    const errors: unknown[] = []
    const next = createAuth({ baseURL: BASE, login, platform: fake.wx })
    next.on('error', (e) => errors.push(e))
    expect(next.getToken()).toBe(TOKEN)
    expect(errors).toEqual([])
  })

  test.each([['1e306', 1e306], ['Infinity (as a string)', 'Infinity'], ['eleven years', 11 * 365 * 24 * 3600], ['-5', -5], ['NaN', 'NaN']])('expiresIn %s: logged in, no expiry, and the next launch finds the record intact', async (_name, expiresIn) => {
    const fake = createFakeWx({ handler: (r) => (r.path === LOGIN ? { data: { token: TOKEN, expiresIn } } : { data: { ok: 1 } }) })
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx })
    const s = await auth.login()
    expect(s.expiresAt).toBeUndefined()
    const errors: Array<{ code?: string }> = []
    const next = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx })
    next.on('error', (e) => errors.push(e as { code?: string }))
    expect(next.getToken()).toBe(TOKEN)
    await next.checkAndLogin()
    expect(errors).toEqual([])
    expect(fake.calls.login).toBe(1)
  })

  test('a record an older version stored with expiresAt: null (JSON of Infinity) is read as "expiry unknown", not as corruption', async () => {
    const fake = createFakeWx({ handler: () => ({ data: { ok: 1 } }) })
    fake.wx.setStorageSync('weapp-auth', { v: 1, token: TOKEN, expiresAt: null, issuedAt: 1 })
    const errors: unknown[] = []
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: fake.wx })
    auth.on('error', (e) => errors.push(e))
    expect(auth.getSession()).toEqual({ token: TOKEN, issuedAt: 1 })
    expect(auth.isLoggedIn()).toBe(true)
    expect(errors).toEqual([])
  })
})

describe('nicknames as users see them', () => {
  const samples: Array<[string, number]> = [
    ['👨‍👩‍👧‍👦', 1], // a ZWJ family
    ['🇨🇳🇯🇵', 2], // two flags
    ['👍🏽', 1], // a skin tone
    ['é', 1], // e + a combining acute accent
    ['❤️', 1], // a variation selector
    ['🏳️‍🌈', 1],
    ['微信用户', 4],
    ['Anna 👩🏻‍💻', 6],
  ]

  for (const segmenter of [true, false]) {
    test(`counted by ${segmenter ? "the host's Intl.Segmenter" : 'the approximation (no Intl.Segmenter)'}`, () => {
      const saved = (Intl as unknown as { Segmenter?: unknown }).Segmenter
      if (!segmenter) delete (Intl as unknown as { Segmenter?: unknown }).Segmenter
      try {
        for (const [name, length] of samples) {
          expect({ name, ok: normalizeNickname(name, { maxLength: length }) === name }).toEqual({ name, ok: true })
          expect(() => normalizeNickname(name, { maxLength: length - 1 })).toThrow(new RegExp(`too long: ${length} characters`))
        }
        // 20 family emoji fit a 20-character limit.
        expect(normalizeNickname('👨‍👩‍👧‍👦'.repeat(20))).toBe('👨‍👩‍👧‍👦'.repeat(20))
      } finally {
        if (!segmenter) (Intl as unknown as { Segmenter?: unknown }).Segmenter = saved
      }
    })
  }

  test('a name with nothing visible is empty', () => {
    for (const name of ['\u200b\u200b\u200b', '\u200d', '\ufeff\u2060', ' \u200b \u3000 ', '\u00ad', '\u200e\u200f', '\u3164']) {
      expect(() => normalizeNickname(name)).toThrow(/Nickname empty/)
    }
    expect(normalizeNickname(' Al\u200bice ')).toBe('Al\u200bice')
  })
})
