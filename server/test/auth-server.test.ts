/**
 * createAuthServer: login against the fake WeChat over HTTP on both stores (memory, real Redis):
 * the happy path, WeChat's errcodes, WeChat down / slow / answering HTML with nothing stored,
 * the per-client rate limit, other hosts, what never reaches a client, Redis going away and
 * coming back, and the options checked at setup.
 */
import { ConfigError, createAuthServer, memoryStore, StoreUnavailableError, type Store } from 'weapp-auth-server'
import { redisCommand } from './helpers/redis'
import { APPID, JWT_SECRET, SECRET, STORE_KINDS, payloadOf, recording, rejection, useKit } from './helpers/kit'

const kits = useKit()

describe.each(STORE_KINDS)('login on the %s store', (kind) => {
  test('code → tokens and a public user; openid, unionid and session_key never reach the client', async () => {
    const server = kits.current.server(kind)
    const code = kits.current.fake.mintCode('openid-alice', { unionid: 'union-alice' })
    const result = await server.login({ code })

    expect(result.expiresIn).toBe(7 * 24 * 3600)
    expect(result.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(result.user).toEqual({ id: expect.any(String), nickName: '微信用户', avatarUrl: '', platform: 'weixin' })
    const wire = JSON.stringify(result)
    const sessionKey = kits.current.fake.sessionKeyOf('openid-alice') as string
    expect(sessionKey).toBeTruthy()
    for (const secret of ['openid-alice', 'union-alice', sessionKey]) expect(wire).not.toContain(secret)
    expect(wire).not.toMatch(/openid|unionid|session_?key/i)

    const claims = await server.verify(result.token)
    expect(claims.sub).toBe(result.user.id)
    expect(claims.exp - claims.iat).toBe(7 * 24 * 3600)
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(claims.fam).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(payloadOf(result.token)).toEqual({ sub: claims.sub, jti: claims.jti, fam: claims.fam, gen: claims.gen, plt: 'weixin', app: APPID, iat: claims.iat, exp: claims.exp })
    // Opaque random ids, never a counter: 22 base64url characters (128 bits), and the store's generation.
    expect(claims.sub).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(claims.gen).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(kits.current.events).toEqual([{ type: 'login', userId: result.user.id, platform: 'weixin' }])
  })

  test('the same openid logs in as the same user, each login in a new refresh family', async () => {
    const server = kits.current.server(kind)
    const first = await server.login({ code: kits.current.fake.mintCode('openid-bob') })
    const second = await server.login({ code: kits.current.fake.mintCode('openid-bob') })
    const other = await server.login({ code: kits.current.fake.mintCode('openid-carol') })
    expect(second.user.id).toBe(first.user.id)
    expect(other.user.id).not.toBe(first.user.id)
    expect((await server.verify(second.token)).fam).not.toBe((await server.verify(first.token)).fam)
  })

  test("WeChat's errcodes come back typed, with their HTTP status", async () => {
    const server = kits.current.server(kind)
    const unknown = await rejection(server.login({ code: 'never-minted-code' }))
    expect(unknown).toMatchObject({ name: 'WechatApiError', code: 'wechat_invalid_code', status: 400, errcode: 40029 })

    const code = kits.current.fake.mintCode('openid-dave')
    await server.login({ code })
    expect(await rejection(server.login({ code }))).toMatchObject({ code: 'wechat_code_used', status: 400, errcode: 40163 })

    kits.current.fake.fail('jscode2session', 45011, { times: 1 })
    expect(await rejection(server.login({ code: kits.current.fake.mintCode('openid-dave') }))).toMatchObject({ code: 'wechat_rate_limited', status: 429, errcode: 45011 })
    kits.current.fake.fail('jscode2session', -1, { times: 1 })
    expect(await rejection(server.login({ code: kits.current.fake.mintCode('openid-dave') }))).toMatchObject({ code: 'wechat_busy', status: 503, errcode: -1 })
    kits.current.fake.fail('jscode2session', 40226, { times: 1 })
    expect(await rejection(server.login({ code: kits.current.fake.mintCode('openid-dave') }))).toMatchObject({ code: 'wechat_error', status: 502, errcode: 40226 })
    expect(kits.current.events.filter((e) => e.type === 'upstream_error').map((e) => (e as { code: string }).code)).toEqual([
      'wechat_invalid_code',
      'wechat_code_used',
      'wechat_rate_limited',
      'wechat_busy',
      'wechat_error',
    ])
  })

  test('WeChat unreachable, slow or answering HTML: a typed 502/504 and nothing stored', async () => {
    const { store, calls } = recording(kits.current.newStore(kind))
    const server = kits.current.server(kind, { upstreamTimeoutMs: 300 }, store)

    await kits.current.fake.stop()
    try {
      expect(await rejection(server.login({ code: 'code-while-down' }))).toMatchObject({ name: 'UpstreamError', code: 'wechat_unreachable', status: 502 })
    } finally {
      await kits.current.fake.start()
    }
    kits.current.fake.delay('jscode2session', 1500, { times: 1 })
    const slow = await rejection(server.login({ code: kits.current.fake.mintCode('openid-erin') }))
    expect(slow).toMatchObject({ code: 'wechat_timeout', status: 504 })
    expect(slow.message).toContain('300 ms')
    kits.current.fake.html('jscode2session', { times: 1 })
    expect(await rejection(server.login({ code: kits.current.fake.mintCode('openid-erin') }))).toMatchObject({ code: 'wechat_bad_response', status: 502 })

    expect(calls).toEqual([])
    // Redis holds no key at all (reset() emptied it before this test).
    if (kind === 'redis') expect(await redisCommand(kits.current.redis!.port, ['DBSIZE'])).toBe(':0')
    // And it works again once WeChat does.
    await expect(server.login({ code: kits.current.fake.mintCode('openid-erin') })).resolves.toMatchObject({ user: { id: expect.any(String) } })
  })

  test('bad input gets a typed 400 before anything is called', async () => {
    const server = kits.current.server(kind)
    const before = kits.current.fake.calls.jscode2session
    expect(await rejection(server.login({ code: '' }))).toMatchObject({ name: 'BadRequestError', code: 'code_required', status: 400 })
    expect(await rejection(server.login({} as never))).toMatchObject({ code: 'code_required' })
    expect(await rejection(server.login({ code: 42 } as never))).toMatchObject({ code: 'code_required' })
    expect(await rejection(server.login(null as never))).toMatchObject({ code: 'code_required' })
    expect(await rejection(server.login({ code: 'x'.repeat(129) }))).toMatchObject({ code: 'code_too_long', status: 400 })
    expect(await rejection(server.login({ code: 'abcdef', platform: 'nowhere' as never }))).toMatchObject({ code: 'unsupported_platform' })
    expect(await rejection(server.login({ code: 'abcdef', platform: 'douyin' }))).toMatchObject({ code: 'unsupported_platform', status: 400 })
    expect(kits.current.fake.calls.jscode2session).toBe(before)
  })

  test('the per-client login limit answers 429 with retryAfter, without spending the code', async () => {
    const server = kits.current.server(kind, { loginRateLimit: { max: 2, windowSeconds: 60 } })
    await server.login({ code: kits.current.fake.mintCode('openid-frank') }, { client: '203.0.113.7' })
    await server.login({ code: kits.current.fake.mintCode('openid-frank') }, { client: '203.0.113.7' })
    const code = kits.current.fake.mintCode('openid-frank')
    const limited = await rejection(server.login({ code }, { client: '203.0.113.7' }))
    expect(limited).toMatchObject({ name: 'RateLimitError', code: 'rate_limited', status: 429 })
    expect(limited.retryAfter).toBeGreaterThanOrEqual(1)
    expect(limited.retryAfter).toBeLessThanOrEqual(60)
    expect(kits.current.fake.calls.jscode2session).toBe(2)
    // Another client, or no client (a trusted caller), is not limited; the refused code still works.
    await expect(server.login({ code }, { client: '198.51.100.1' })).resolves.toBeTruthy()
    await expect(server.login({ code: kits.current.fake.mintCode('openid-frank') })).resolves.toBeTruthy()
  })

  test("an app's user repository: its ids, and secret keys it returns are stripped", async () => {
    const seen: unknown[] = []
    const server = kits.current.server(kind, {
      users: {
        findOrCreate(identity) {
          seen.push(identity)
          return { id: 7, name: 'Grace', openid: identity.openid, unionid: identity.unionid, session_key: 'leak', sessionKey: 'leak' }
        },
      },
    })
    const result = await server.login({ code: kits.current.fake.mintCode('openid-grace', { unionid: 'union-grace' }) })
    expect(seen).toEqual([{ openid: 'openid-grace', unionid: 'union-grace', platform: 'weixin' }])
    expect(result.user).toEqual({ id: 7, name: 'Grace' })
    expect((await server.verify(result.token)).sub).toBe('7')
    // refresh answers no user (this repository has no findById) but works.
    const refreshed = await server.refresh(result.refreshToken)
    expect(refreshed.user).toBeUndefined()
    expect((await server.verify(refreshed.token)).sub).toBe('7')
  })

  test('other hosts log in through their provider, as separate users', async () => {
    const server = kits.current.server(kind, {
      providers: {
        douyin: {
          platform: 'douyin',
          async code2Session({ code, anonymousCode }) {
            if (code !== 'dy-code-1') throw new Error('unexpected code')
            expect(anonymousCode).toBe('anon-1')
            return { openid: 'openid-heidi', sessionKey: Buffer.alloc(16, 1).toString('base64') }
          },
        },
      },
    })
    const dy = await server.login({ code: 'dy-code-1', platform: 'douyin', anonymousCode: 'anon-1' })
    const wx = await server.login({ code: kits.current.fake.mintCode('openid-heidi') })
    expect(dy.user.id).not.toBe(wx.user.id)
    expect(kits.current.events.filter((e) => e.type === 'login')).toEqual([
      { type: 'login', userId: dy.user.id, platform: 'douyin' },
      { type: 'login', userId: wx.user.id, platform: 'weixin' },
    ])
  })

  test('events never carry a token, a refresh token or a session_key', async () => {
    const server = kits.current.server(kind)
    const r = await server.login({ code: kits.current.fake.mintCode('openid-ivan') })
    const r2 = await server.refresh(r.refreshToken)
    await rejection(server.refresh(r.refreshToken))
    const r3 = await server.login({ code: kits.current.fake.mintCode('openid-ivan') })
    await server.logout(await server.verify(r3.token))
    const events = JSON.stringify(kits.current.events)
    for (const secret of [r.token, r.refreshToken, r2.token, r2.refreshToken, r3.token, r3.refreshToken, kits.current.fake.sessionKeyOf('openid-ivan') as string]) expect(events).not.toContain(secret)
    expect(kits.current.events.map((e) => e.type)).toEqual(['login', 'refresh', 'refresh_reuse', 'login', 'logout'])
  })

  test('health() answers ok; close() closes only a store the kit created', async () => {
    const own = kits.current.newStore(kind)
    const server = kits.current.server(kind, {}, own)
    await expect(server.health()).resolves.toEqual({ store: 'ok' })
    await server.close()
    await expect(own.ping()).resolves.toBeUndefined()
  })
})

describe('Redis goes away and comes back', () => {
  test('requests fail fast with StoreUnavailableError (503), then work again on the same instance', async () => {
    const redis = kits.current.redis!
    const server = kits.current.server('redis', { loginRateLimit: { max: 100, windowSeconds: 60 } })
    const before = await server.login({ code: kits.current.fake.mintCode('openid-judy') })
    await redis.stop()
    try {
      const started = Date.now()
      const health = await rejection(server.health())
      expect(health).toBeInstanceOf(StoreUnavailableError)
      expect(health).toMatchObject({ code: 'store_unavailable', status: 503 })
      // The rate limit comes first, so the code is not spent on a login that cannot finish.
      const calls = kits.current.fake.calls.jscode2session
      expect(await rejection(server.login({ code: kits.current.fake.mintCode('openid-judy') }, { client: '192.0.2.1' }))).toBeInstanceOf(StoreUnavailableError)
      expect(kits.current.fake.calls.jscode2session).toBe(calls)
      expect(await rejection(server.refresh(before.refreshToken))).toMatchObject({ code: 'store_unavailable' })
      expect(await rejection(server.phoneNumber(String(before.user.id), kits.current.fake.mintPhoneCode('13800138000')))).toMatchObject({ code: 'store_unavailable' })
      // verify checks the token against the data it names: without the store that is a 503, never
      // a 401 (which would send every client to log in again) and never a pass.
      expect(await rejection(server.verify(before.token))).toMatchObject({ code: 'store_unavailable', status: 503 })
      expect(Date.now() - started).toBeLessThan(5000)
    } finally {
      await redis.restart()
    }
    // Same instance, no restart of ours: once Redis answers again, so do we.
    let healthy = false
    for (let i = 0; i < 50 && !healthy; i++) {
      healthy = await server.health().then(
        () => true,
        () => new Promise((r) => setTimeout(() => r(false), 100)),
      )
    }
    expect(healthy).toBe(true)
    const after = await server.login({ code: kits.current.fake.mintCode('openid-judy') }, { client: '192.0.2.1' })
    await expect(server.refresh(after.refreshToken)).resolves.toMatchObject({ expiresIn: 7 * 24 * 3600 })
  })

  test('a store that throws a plain error is answered as 503, never a 500', async () => {
    const broken: Store = Object.assign(Object.create(memoryStore()), {
      async putRefresh() {
        throw new Error('disk on fire')
      },
    })
    const server = kits.current.server('memory', {}, broken)
    const err = await rejection(server.login({ code: kits.current.fake.mintCode('openid-ken') }))
    expect(err).toBeInstanceOf(StoreUnavailableError)
    expect(err.message).toContain('disk on fire')
  })
})

describe('options are checked once, with actionable messages', () => {
  const base = { appid: APPID, secret: SECRET, jwt: { secret: JWT_SECRET }, store: memoryStore() }
  const configError = (options: unknown): ConfigError => {
    try {
      createAuthServer(options as never)
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      return err as ConfigError
    }
    throw new Error('expected a ConfigError')
  }

  test('each mistake names the fix', () => {
    expect(configError({ ...base, appid: '' }).message).toMatch(/appid is required/)
    expect(configError({ ...base, secret: undefined }).message).toMatch(/secret is required/)
    expect(configError({ ...base, jwt: undefined }).message).toMatch(/jwt is required/)
    expect(configError({ ...base, jwt: {} }).message).toMatch(/jwt.secret .* or jwt.keys is required/)
    expect(configError({ ...base, jwt: { secret: 'short' } }).message).toMatch(/jwt.secret is 5 bytes; HS256 needs at least 32/)
    expect(configError({ ...base, jwt: { keys: [{ kid: 'a', secret: JWT_SECRET }, { kid: 'a', secret: JWT_SECRET }] } }).message).toMatch(/kid "a" twice/)
    expect(configError({ ...base, jwt: { secret: JWT_SECRET, keys: [] } }).message).toMatch(/not both/)
    expect(configError({ ...base, jwt: { secret: JWT_SECRET, issuer: 5 } }).message).toMatch(/jwt.issuer/)
    expect(configError({ ...base, tokenTtlSeconds: 0 }).message).toMatch(/tokenTtlSeconds must be a positive integer, got 0/)
    expect(configError({ ...base, refreshTtlSeconds: 1.5 }).message).toMatch(/refreshTtlSeconds must be a positive integer/)
    expect(configError({ ...base, tokenTtlSeconds: 3600, refreshTtlSeconds: 60 }).message).toMatch(/at least tokenTtlSeconds/)
    expect(configError({ ...base, wxApiBase: 'ftp://api.weixin.qq.com' }).message).toMatch(/must be http\(s\)/)
    expect(configError({ ...base, wxApiBase: 'not a url' }).message).toMatch(/is not a URL/)
    expect(configError({ ...base, accessTokenMode: 'fast' }).message).toMatch(/'stable' or 'classic'/)
    expect(configError({ ...base, tokenTTLSeconds: 60 }).message).toMatch(/unknown option "tokenTTLSeconds". Did you mean "tokenTtlSeconds"\?/)
    expect(configError({ ...base, jwt: { secret: JWT_SECRET, issuers: 'x' } }).message).toMatch(/Did you mean "issuer"/)
    expect(configError({ ...base, zzz: 1 }).message).toMatch(/unknown option "zzz". Known options: appid/)
    expect(configError({ ...base, loginRateLimit: { max: 0, windowSeconds: 60 } }).message).toMatch(/loginRateLimit.max/)
    expect(configError({ ...base, providers: { tiktok: { code2Session() {} } } }).message).toMatch(/unknown platform/)
    expect(configError({ ...base, store: {} }).message).toMatch(/store must be a Store/)
    // A Store written for an older version: the methods it lacks are named.
    const withoutTwo: Record<string, unknown> = { ...memoryStore() }
    delete withoutTwo.generation
    delete withoutTwo.getHits
    expect(configError({ ...base, store: withoutTwo as never }).message).toMatch(/store has no generation\(\), getHits\(\): a Store written for an older weapp-auth-server/)
    expect(configError(undefined).message).toMatch(/options are required/)
  })

  test('sensible defaults; a 32-byte Uint8Array key is fine', async () => {
    const server = createAuthServer({ appid: APPID, secret: SECRET, jwt: { secret: new Uint8Array(32).fill(7) } })
    await expect(server.health()).resolves.toEqual({ store: 'ok' })
    expect(server.store.kind).toBe('memory')
    await server.close()
  })
})
