/**
 * The other hosts' code exchanges (issue 12, item 4): qqProvider, douyinProvider and alipayProvider,
 * each against its fake over real HTTP (the host's rules: single-use expiring codes, its error
 * shapes, Douyin's anonymous_code, Alipay's RSA2-signed requests and answers), then through
 * createAuthServer({ providers }) on the memory store: tokens, identities keyed by platform,
 * concurrent logins, and the faults (used codes, timeouts, HTML, a host down, tampered answers).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import {
  ConfigError,
  UpstreamError,
  WechatApiError,
  alipayProvider,
  createAuthServer,
  douyinProvider,
  memoryStore,
  qqProvider,
  toHttpBody,
  DOUYIN_GUEST_PREFIX,
  type AuthServer,
  type HostPlatform,
  type SessionProvider,
  type UserRepository,
} from 'weapp-auth-server'
import { createFakeAlipay, createFakeDouyin, createFakeQq, createFakeWechat, type FakeAlipay, type FakeDouyin, type FakeQq, type FakeWechat } from 'weapp-auth-server/testing'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { providersFromEnv } from '../src/providers/from-env'
import { topLevelMemberSpans } from '../src/providers/json-value-span'
import { rejection } from './helpers/kit'

const JWT_SECRET = 'providers-test-jwt-secret-at-least-32-bytes'
const WX_APPID = 'wxproviders000001'
const WX_SECRET = 'providers-wx-secret-0000000000000'

function rsaPair(bits = 2048): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: bits })
}
const pem = {
  pkcs8: (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString(),
  pkcs1: (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs1' }).toString(),
  spki: (k: KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString(),
  /** The bare base64 body Alipay's key tool prints. */
  bare: (text: string) => text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''),
}

// Two RSA-2048 pairs, as an Alipay app has: the app's (it signs requests) and Alipay's (it signs answers).
const appKeys = rsaPair()
const alipayKeys = rsaPair()
const strangerKeys = rsaPair()

let clock = Date.now()
const now = () => clock

let qq: FakeQq
let douyin: FakeDouyin
let alipay: FakeAlipay
let wechat: FakeWechat

beforeAll(async () => {
  ;[qq, douyin, alipay, wechat] = await Promise.all([
    createFakeQq({ now }),
    createFakeDouyin({ now }),
    createFakeAlipay({ appPublicKey: pem.spki(appKeys.publicKey), alipayPrivateKey: pem.pkcs8(alipayKeys.privateKey), now }),
    createFakeWechat({ appid: WX_APPID, secret: WX_SECRET }),
  ])
})
afterAll(async () => {
  await Promise.all([qq.close(), douyin.close(), alipay.close(), wechat.close()])
})
beforeEach(() => {
  clock = Date.now()
  for (const fake of [qq, douyin, alipay]) {
    fake.clearFaults()
    fake.resetCalls()
  }
})

const qqOf = (extra: Partial<Parameters<typeof qqProvider>[0]> = {}) => qqProvider({ appid: qq.appid, secret: qq.secret, apiBase: qq.url, timeoutMs: 1000, ...extra })
const douyinOf = (extra: Partial<Parameters<typeof douyinProvider>[0]> = {}) => douyinProvider({ appid: douyin.appid, secret: douyin.secret, apiBase: douyin.url, timeoutMs: 1000, ...extra })
const alipayOf = (extra: Partial<Parameters<typeof alipayProvider>[0]> = {}) =>
  alipayProvider({ appId: alipay.appId, privateKey: pem.pkcs8(appKeys.privateKey), alipayPublicKey: alipay.alipayPublicKey, gateway: alipay.gateway, timeoutMs: 1000, now, ...extra })

async function hostError(promise: Promise<unknown>): Promise<WechatApiError> {
  const err = await rejection(promise)
  expect(err).toBeInstanceOf(WechatApiError)
  return err as WechatApiError
}
async function upstreamError(promise: Promise<unknown>): Promise<UpstreamError> {
  const err = await rejection(promise)
  expect(err).toBeInstanceOf(UpstreamError)
  return err as UpstreamError
}

describe('qqProvider against the fake QQ API', () => {
  test('a code → openid, session_key and unionid; the code works once (40029 after)', async () => {
    const provider = qqOf()
    expect(provider.platform).toBe('qq')
    const code = qq.mintCode('qq-openid-1', { unionid: 'qq-union-1' })
    expect(await provider.code2Session({ code })).toEqual({ openid: 'qq-openid-1', unionid: 'qq-union-1', sessionKey: qq.sessionKeyOf('qq-openid-1') })
    expect(await provider.code2Session({ code: qq.mintCode('qq-openid-2') })).toEqual({ openid: 'qq-openid-2', sessionKey: qq.sessionKeyOf('qq-openid-2') })

    const reused = await hostError(provider.code2Session({ code }))
    expect(reused).toMatchObject({ code: 'wechat_invalid_code', status: 400, errcode: 40029, host: 'QQ', api: 'sns/jscode2session' })
    expect(reused.message).toMatch(/^QQ sns\/jscode2session answered errcode 40029/)
    expect(qq.calls.jscode2session).toBe(3)
  })

  test('an expired code (past 5 minutes) and an unknown one are 40029', async () => {
    const provider = qqOf()
    const code = qq.mintCode('qq-openid-late')
    clock += 5 * 60 * 1000 + 1
    expect(await hostError(provider.code2Session({ code }))).toMatchObject({ code: 'wechat_invalid_code', errcode: 40029 })
    expect(await hostError(provider.code2Session({ code: 'never-minted' }))).toMatchObject({ code: 'wechat_invalid_code', errcode: 40029 })
  })

  test("QQ's errcodes: -1 busy (503), 45011 rate limited (429), a wrong secret (502, and the secret is in no message)", async () => {
    const provider = qqOf()
    qq.fail('jscode2session', -1, { times: 1 })
    expect(await hostError(provider.code2Session({ code: qq.mintCode('a') }))).toMatchObject({ code: 'wechat_busy', status: 503 })
    qq.fail('jscode2session', 45011, { times: 1 })
    expect(await hostError(provider.code2Session({ code: qq.mintCode('a') }))).toMatchObject({ code: 'wechat_rate_limited', status: 429 })
    const wrong = await hostError(qqOf({ secret: 'not-the-secret-0000000000000000' }).code2Session({ code: qq.mintCode('a') }))
    expect(wrong).toMatchObject({ code: 'wechat_invalid_credential', status: 502, errcode: 40125 })
    expect(JSON.stringify(toHttpBody(wrong))).not.toContain('not-the-secret')
  })

  test('slow → wechat_timeout (504) within the time limit; HTML → wechat_bad_response; down → wechat_unreachable, then back', async () => {
    const provider = qqOf({ timeoutMs: 200 })
    qq.delay('jscode2session', 2000, { times: 1 })
    const started = Date.now()
    const slow = await upstreamError(provider.code2Session({ code: qq.mintCode('slow') }))
    expect(Date.now() - started).toBeLessThan(1500)
    expect(slow).toMatchObject({ code: 'wechat_timeout', status: 504 })
    expect(slow.message).toMatch(/^QQ sns\/jscode2session did not answer within 200 ms/)

    qq.html('jscode2session', { times: 1 })
    expect(await upstreamError(provider.code2Session({ code: qq.mintCode('html') }))).toMatchObject({ code: 'wechat_bad_response', status: 502 })

    await qq.stop()
    try {
      const down = await upstreamError(provider.code2Session({ code: 'any-code' }))
      expect(down).toMatchObject({ code: 'wechat_unreachable', status: 502 })
      expect(down.message).toContain('ECONNREFUSED')
    } finally {
      await qq.start()
    }
    expect((await provider.code2Session({ code: qq.mintCode('back') })).openid).toBe('back')
  })
})

describe('douyinProvider against the fake Douyin API', () => {
  test('code + anonymousCode → openid, session_key, unionid; the anonymous_code is sent (and used up)', async () => {
    const provider = douyinOf()
    expect(provider.platform).toBe('douyin')
    const code = douyin.mintCode('dy-openid-1', { unionid: 'dy-union-1' })
    const anonymousCode = douyin.mintAnonymousCode('dy-anon-1')
    expect(await provider.code2Session({ code, anonymousCode })).toEqual({ openid: 'dy-openid-1', unionid: 'dy-union-1', sessionKey: douyin.sessionKeyOf('dy-openid-1') })
    // Douyin used the anonymous code up: it reached the host.
    const again = await hostError(provider.code2Session({ code: douyin.mintCode('dy-openid-1'), anonymousCode }))
    expect(again).toMatchObject({ code: 'wechat_invalid_code', errcode: 40019, host: 'Douyin', api: 'api/apps/v2/jscode2session' })
  })

  test('a code without unionid: Douyin sends "", the session has none', async () => {
    expect(await douyinOf().code2Session({ code: douyin.mintCode('dy-plain') })).toEqual({ openid: 'dy-plain', sessionKey: douyin.sessionKeyOf('dy-plain') })
  })

  test('a guest (only an anonymousCode): the openid is "anonymous:" + anonymous_openid, with no session_key', async () => {
    const session = await douyinOf().code2Session({ code: '', anonymousCode: douyin.mintAnonymousCode('dy-anon-guest') })
    expect(session).toEqual({ openid: DOUYIN_GUEST_PREFIX + 'dy-anon-guest' })
    expect(DOUYIN_GUEST_PREFIX).toBe('anonymous:')
  })

  test('a used, expired or unknown code is err_no 40018 → wechat_invalid_code; neither code → code_required before any call', async () => {
    const provider = douyinOf()
    const code = douyin.mintCode('dy-once')
    await provider.code2Session({ code })
    expect(await hostError(provider.code2Session({ code }))).toMatchObject({ code: 'wechat_invalid_code', status: 400, errcode: 40018 })
    const late = douyin.mintCode('dy-late')
    clock += 3 * 60 * 1000 + 1
    expect(await hostError(provider.code2Session({ code: late }))).toMatchObject({ errcode: 40018 })
    expect(await rejection(provider.code2Session({ code: '' }))).toMatchObject({ code: 'code_required', status: 400 })
    expect(douyin.calls.jscode2session).toBe(3)
  })

  test('a bad anonymous_code next to a good code fails 40019 and leaves the good code usable', async () => {
    const provider = douyinOf()
    const code = douyin.mintCode('dy-pair')
    expect(await hostError(provider.code2Session({ code, anonymousCode: 'forged' }))).toMatchObject({ errcode: 40019, code: 'wechat_invalid_code' })
    expect((await provider.code2Session({ code })).openid).toBe('dy-pair')
  })

  test("Douyin's err_no: a wrong appid (40015) / secret (40017) → 502, -1 → busy (503); slow → 504", async () => {
    expect(await hostError(douyinOf({ appid: 'tt-wrong' }).code2Session({ code: douyin.mintCode('x') }))).toMatchObject({ code: 'wechat_invalid_credential', status: 502, errcode: 40015 })
    expect(await hostError(douyinOf({ secret: 'wrong-secret' }).code2Session({ code: douyin.mintCode('x') }))).toMatchObject({ code: 'wechat_invalid_credential', errcode: 40017 })
    douyin.fail('jscode2session', -1, { times: 1 })
    const busy = await hostError(douyinOf().code2Session({ code: douyin.mintCode('x') }))
    expect(busy).toMatchObject({ code: 'wechat_busy', status: 503, errcode: -1 })
    expect(busy.message).toBe('Douyin api/apps/v2/jscode2session answered errcode -1: system error')
    douyin.delay('jscode2session', 1500, { times: 1 })
    const slow = await upstreamError(douyinOf({ timeoutMs: 150 }).code2Session({ code: douyin.mintCode('x') }))
    expect(slow).toMatchObject({ code: 'wechat_timeout', status: 504 })
    expect(slow.message).toMatch(/^Douyin /)
    douyin.html('jscode2session', { times: 1 })
    expect(await upstreamError(douyinOf().code2Session({ code: douyin.mintCode('x') }))).toMatchObject({ code: 'wechat_bad_response' })
  })
})

describe('alipayProvider against the fake Alipay gateway', () => {
  test('an authCode → { openid: open_id }, no sessionKey; the request was RSA2-signed (the gateway checked it)', async () => {
    const provider = alipayOf()
    expect(provider.platform).toBe('alipay')
    expect(await provider.code2Session({ code: alipay.mintCode('alipay-open-id-1') })).toEqual({ openid: 'alipay-open-id-1' })
    expect(alipay.calls.oauth_token).toBe(1)
  })

  test('PKCS#1, PKCS#8 and bare-base64 keys all work; the user_id scheme answers user_id', async () => {
    const fake = await createFakeAlipay({ appPublicKey: pem.spki(appKeys.publicKey), alipayPrivateKey: alipayKeys.privateKey, identity: 'user_id', format: 'pretty', now })
    try {
      for (const privateKey of [pem.pkcs1(appKeys.privateKey), pem.pkcs8(appKeys.privateKey), pem.bare(pem.pkcs8(appKeys.privateKey)), pem.bare(pem.pkcs1(appKeys.privateKey))]) {
        for (const alipayPublicKey of [fake.alipayPublicKey, pem.bare(fake.alipayPublicKey)]) {
          const provider = alipayProvider({ appId: fake.appId, privateKey, alipayPublicKey, gateway: fake.gateway, now })
          // 'pretty' bodies: only a verifier over the exact text (not a re-serialisation) passes.
          expect(await provider.code2Session({ code: fake.mintCode('2088000000000001') })).toEqual({ openid: '2088000000000001' })
        }
      }
    } finally {
      await fake.close()
    }
  })

  test('a tampered answer (signature no longer matches the text) → wechat_bad_response, no identity', async () => {
    alipay.tamper({ times: 1 })
    const err = await upstreamError(alipayOf().code2Session({ code: alipay.mintCode('alipay-victim') }))
    expect(err).toMatchObject({ code: 'wechat_bad_response', status: 502, api: 'alipay.system.oauth.token' })
    expect(err.message).toMatch(/a signature that does not verify with alipayPublicKey/)
  })

  test("Alipay's answers checked with the wrong alipayPublicKey → wechat_bad_response", async () => {
    const provider = alipayOf({ alipayPublicKey: pem.spki(strangerKeys.publicKey) })
    expect(await upstreamError(provider.code2Session({ code: alipay.mintCode('alipay-x') }))).toMatchObject({ code: 'wechat_bad_response' })
  })

  test('a request signed with the wrong app key → the gateway refuses it: isv.invalid-signature (502, fix the keys)', async () => {
    const err = await hostError(alipayOf({ privateKey: pem.pkcs8(strangerKeys.privateKey) }).code2Session({ code: alipay.mintCode('alipay-y') }))
    expect(err).toMatchObject({ code: 'wechat_invalid_credential', status: 502, errcode: 40002, host: 'Alipay' })
    expect(err.errmsg).toBe('isv.invalid-signature 无效签名')
  })

  test('a used, expired or unknown authCode → isv.code-invalid → wechat_invalid_code (400)', async () => {
    const provider = alipayOf()
    const code = alipay.mintCode('alipay-once')
    await provider.code2Session({ code })
    const reused = await hostError(provider.code2Session({ code }))
    expect(reused).toMatchObject({ code: 'wechat_invalid_code', status: 400, errcode: 40002, api: 'alipay.system.oauth.token' })
    expect(reused.errmsg).toBe('isv.code-invalid 授权码code无效')
    const late = alipay.mintCode('alipay-late')
    clock += 5 * 60 * 1000 + 1
    expect(await hostError(provider.code2Session({ code: late }))).toMatchObject({ code: 'wechat_invalid_code' })
  })

  test('the timestamp is Beijing time: a clock 8 hours off (UTC formatting) is refused isv.invalid-timestamp', async () => {
    const utcMinded = alipayOf({ now: () => clock - 8 * 3600 * 1000 })
    const err = await hostError(utcMinded.code2Session({ code: alipay.mintCode('alipay-z') }))
    expect(err.errmsg).toMatch(/^isv\.invalid-timestamp/)
  })

  test('an unknown app id → isv.invalid-app-id (unsigned error, believed); 20000 isp.unknow-error → busy (503)', async () => {
    expect(await hostError(alipayOf({ appId: '2021999999999999' }).code2Session({ code: alipay.mintCode('a') }))).toMatchObject({ code: 'wechat_invalid_credential', errcode: 40002, errmsg: 'isv.invalid-app-id 无效的AppID参数' })
    alipay.fail('oauth_token', 'isp.unknow-error', { times: 1 })
    expect(await hostError(alipayOf().code2Session({ code: alipay.mintCode('a') }))).toMatchObject({ code: 'wechat_busy', status: 503, errcode: 20000 })
  })

  test('a tampered error answer is not believed either; slow → 504; HTML → bad response; down → unreachable', async () => {
    alipay.fail('oauth_token', 'isv.code-invalid', { times: 1 })
    alipay.tamper({ times: 1 })
    expect(await upstreamError(alipayOf().code2Session({ code: 'whatever' }))).toMatchObject({ code: 'wechat_bad_response' })
    alipay.delay('oauth_token', 1500, { times: 1 })
    const slow = await upstreamError(alipayOf({ timeoutMs: 150 }).code2Session({ code: alipay.mintCode('a') }))
    expect(slow).toMatchObject({ code: 'wechat_timeout', status: 504 })
    expect(slow.message).toBe('Alipay alipay.system.oauth.token did not answer within 150 ms')
    alipay.html('oauth_token', { times: 1 })
    expect(await upstreamError(alipayOf().code2Session({ code: alipay.mintCode('a') }))).toMatchObject({ code: 'wechat_bad_response' })
    await alipay.stop()
    try {
      expect(await upstreamError(alipayOf().code2Session({ code: 'a' }))).toMatchObject({ code: 'wechat_unreachable' })
    } finally {
      await alipay.start()
    }
  })

  test('keys are checked at construction: a ConfigError naming the wrong one', () => {
    const base = { appId: '2021000000000001', privateKey: pem.pkcs8(appKeys.privateKey), alipayPublicKey: pem.spki(alipayKeys.publicKey) }
    const configError = (options: Partial<typeof base>, pattern: RegExp) => {
      const attempt = () => alipayProvider({ ...base, ...options })
      expect(attempt).toThrow(ConfigError)
      expect(attempt).toThrow(pattern)
    }
    configError({ privateKey: 'my-private-key' }, /privateKey is neither a PEM nor a base64 key/)
    configError({ privateKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }, /privateKey is not a readable private key/)
    configError({ privateKey: pem.spki(appKeys.publicKey) }, /privateKey is a public key/)
    configError({ alipayPublicKey: pem.pkcs8(alipayKeys.privateKey) }, /alipayPublicKey is a private key/)
    configError({ alipayPublicKey: 'QUJD' }, /alipayPublicKey is not a readable public key/)
    configError({ alipayPublicKey: pem.spki(appKeys.publicKey) }, /alipayPublicKey is the app's own public key/)
    configError({ privateKey: pem.pkcs8(rsaPair(1024).privateKey) }, /privateKey is RSA-1024; RSA2 needs 2048/)
    configError({ privateKey: pem.pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey) }, /privateKey is a ec key/)
    configError({ appId: '' }, /appId must be a non-empty string/)
    expect(() => alipayProvider({ ...base, gateway: 'ftp://gateway' })).toThrow(/gateway must be an http\(s\) URL/)
    expect(() => qqProvider({ appid: 'a', secret: '' })).toThrow(ConfigError)
    expect(() => douyinProvider({ appid: 'a', secret: 'b', timeoutMs: 0 })).toThrow(/timeoutMs must be a positive number/)
    expect(() => douyinProvider({ appid: 'a', secret: 'b', apiBase: 'https://x/?q=1' })).toThrow(/must not carry a query/)
  })
})

describe('through createAuthServer({ providers }) on the memory store', () => {
  interface Identity {
    openid: string
    unionid?: string
    platform: HostPlatform
  }
  /** A user repository that records what it is handed: one user per platform + openid. */
  function recordingUsers(): UserRepository & { identities: Identity[] } {
    const byKey = new Map<string, { id: string }>()
    const identities: Identity[] = []
    return {
      identities,
      findOrCreate(identity) {
        identities.push({ ...identity })
        const key = `${identity.platform}:${identity.openid}`
        let user = byKey.get(key)
        if (!user) byKey.set(key, (user = { id: `u${byKey.size + 1}` }))
        return user
      },
    }
  }

  const servers: AuthServer[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })
  function serverWith(providers: Partial<Record<HostPlatform, SessionProvider>>, users?: UserRepository): AuthServer {
    const server = createAuthServer({ appid: WX_APPID, secret: WX_SECRET, jwt: { secret: JWT_SECRET }, wxApiBase: wechat.url, store: memoryStore(), users, providers, loginRateLimit: false })
    servers.push(server)
    return server
  }
  const allProviders = () => ({ qq: qqOf(), douyin: douyinOf(), alipay: alipayOf() })

  test('login on each host → verifiable tokens; the repository gets { openid, platform } (and unionid where the host gives one)', async () => {
    const users = recordingUsers()
    const server = serverWith(allProviders(), users)
    const results = [
      await server.login({ platform: 'douyin', code: douyin.mintCode('dy-user', { unionid: 'dy-union' }), anonymousCode: douyin.mintAnonymousCode('dy-anon') }),
      await server.login({ platform: 'qq', code: qq.mintCode('qq-user') }),
      await server.login({ platform: 'alipay', code: alipay.mintCode('alipay-user') }),
    ]
    expect(users.identities).toEqual([
      { openid: 'dy-user', unionid: 'dy-union', platform: 'douyin' },
      { openid: 'qq-user', platform: 'qq' },
      { openid: 'alipay-user', platform: 'alipay' },
    ])
    for (const [i, result] of results.entries()) {
      expect((await server.verify(result.token)).sub).toBe(`u${i + 1}`)
      const refreshed = await server.refresh(result.refreshToken)
      expect((await server.verify(refreshed.token)).sub).toBe(`u${i + 1}`)
      expect(JSON.stringify(result)).not.toMatch(/dy-user|dy-union|qq-user|alipay-user|openid|session_?key/i)
    }
  })

  test('a Douyin guest (anonymousCode, empty code) logs in through login(); elsewhere an empty code is still code_required', async () => {
    const users = recordingUsers()
    const server = serverWith(allProviders(), users)
    const guest = await server.login({ platform: 'douyin', code: '', anonymousCode: douyin.mintAnonymousCode('dy-guest') })
    expect((await server.verify(guest.token)).sub).toBe('u1')
    expect(users.identities).toEqual([{ openid: DOUYIN_GUEST_PREFIX + 'dy-guest', platform: 'douyin' }])
    expect(JSON.stringify(guest)).not.toMatch(/dy-guest|anonymous/)
    for (const input of [{ platform: 'qq' as const, code: '', anonymousCode: 'x'.repeat(8) }, { platform: 'douyin' as const, code: '' }]) {
      await expect(server.login(input)).rejects.toMatchObject({ code: 'code_required' })
    }
  })

  test('the same openid on two hosts is two users (identity keyed by platform), on the default store-backed users too', async () => {
    const server = serverWith(allProviders())
    const onWechat = await server.login({ code: wechat.mintCode('shared-openid') })
    const onQq = await server.login({ platform: 'qq', code: qq.mintCode('shared-openid') })
    const onAlipay = await server.login({ platform: 'alipay', code: alipay.mintCode('shared-openid') })
    const againOnQq = await server.login({ platform: 'qq', code: qq.mintCode('shared-openid') })
    expect(new Set([onWechat.user.id, onQq.user.id, onAlipay.user.id]).size).toBe(3)
    expect(againOnQq.user.id).toBe(onQq.user.id)
  })

  test('a platform without a provider → unsupported_platform (400), and nothing is called', async () => {
    const server = serverWith({ qq: qqOf() })
    const err = await rejection(server.login({ platform: 'douyin', code: douyin.mintCode('nobody') }))
    expect(err).toMatchObject({ code: 'unsupported_platform', status: 400 })
    expect(douyin.calls.jscode2session).toBe(0)
  })

  test('a burst of 20 concurrent Douyin logins, each with its own codes → 20 users, 20 calls; the same code raced twice → one wins', async () => {
    const users = recordingUsers()
    const server = serverWith(allProviders(), users)
    const logins = await Promise.all(
      Array.from({ length: 20 }, (_, i) => server.login({ platform: 'douyin', code: douyin.mintCode(`burst-${i}`), anonymousCode: douyin.mintAnonymousCode(`burst-anon-${i}`) })),
    )
    expect(new Set(logins.map((l) => l.user.id)).size).toBe(20)
    expect(new Set(logins.map((l) => l.refreshToken)).size).toBe(20)
    expect(douyin.calls.jscode2session).toBe(20)

    for (const [platform, mint] of [
      ['douyin', () => douyin.mintCode('raced')],
      ['qq', () => qq.mintCode('raced')],
      ['alipay', () => alipay.mintCode('raced')],
    ] as const) {
      const code = mint()
      const outcomes = await Promise.allSettled([server.login({ platform, code }), server.login({ platform, code })])
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1)
      const loser = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult
      expect(loser.reason).toMatchObject({ code: 'wechat_invalid_code', status: 400 })
    }
  })

  test('a slow host fails the login with a 504-class error and stores nothing; the next login works', async () => {
    const users = recordingUsers()
    const server = serverWith({ alipay: alipayOf({ timeoutMs: 150 }), douyin: douyinOf({ timeoutMs: 150 }) }, users)
    alipay.delay('oauth_token', 1500, { times: 1 })
    douyin.delay('jscode2session', 1500, { times: 1 })
    for (const attempt of [server.login({ platform: 'alipay', code: alipay.mintCode('slow-a') }), server.login({ platform: 'douyin', code: douyin.mintCode('slow-d') })]) {
      const err = await rejection(attempt)
      expect(toHttpBody(err)).toEqual({ status: 504, body: { error: 'wechat_timeout', message: expect.stringMatching(/did not answer within 150 ms/) } })
    }
    expect(users.identities).toEqual([])
    expect((await server.login({ platform: 'alipay', code: alipay.mintCode('fast-a') })).user.id).toBe('u1')
  })

  test('a used code on any host reaches the client as a 400 with the host errcode, never a secret', async () => {
    const server = serverWith(allProviders())
    const code = alipay.mintCode('alipay-twice')
    await server.login({ platform: 'alipay', code })
    const { status, body } = toHttpBody(await rejection(server.login({ platform: 'alipay', code })))
    expect(status).toBe(400)
    expect(body).toEqual({ error: 'wechat_invalid_code', errcode: 40002, message: 'Alipay alipay.system.oauth.token answered errcode 40002: isv.code-invalid 授权码code无效' })
  })
})

describe('providersFromEnv (for the env-configured server)', () => {
  test('each host whose variables are set gets a working provider; keys inline or as file paths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weapp-providers-'))
    try {
      const keyFile = join(dir, 'app-private.pem')
      writeFileSync(keyFile, pem.pkcs1(appKeys.privateKey))
      const providers = providersFromEnv({
        QQ_APPID: qq.appid,
        QQ_SECRET: qq.secret,
        QQ_API_BASE: qq.url,
        DOUYIN_APPID: douyin.appid,
        DOUYIN_SECRET: douyin.secret,
        DOUYIN_API_BASE: douyin.url,
        ALIPAY_APP_ID: alipay.appId,
        ALIPAY_PRIVATE_KEY: keyFile,
        ALIPAY_PUBLIC_KEY: pem.bare(alipay.alipayPublicKey),
        ALIPAY_GATEWAY: alipay.gateway,
      })
      expect(Object.keys(providers).sort()).toEqual(['alipay', 'douyin', 'qq'])
      expect(await providers.qq?.code2Session({ code: qq.mintCode('env-qq') })).toMatchObject({ openid: 'env-qq' })
      expect(await providers.douyin?.code2Session({ code: douyin.mintCode('env-dy') })).toMatchObject({ openid: 'env-dy' })
      expect(await providers.alipay?.code2Session({ code: alipay.mintCode('env-ali') })).toEqual({ openid: 'env-ali' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('nothing set → no providers; half a host → a ConfigError naming what is missing; a bad key names its variable', () => {
    expect(providersFromEnv({})).toEqual({})
    expect(() => providersFromEnv({ DOUYIN_APPID: 'tt1' })).toThrow(new ConfigError('DOUYIN_SECRET must be set too (DOUYIN_APPID is set)'))
    expect(() => providersFromEnv({ ALIPAY_APP_ID: '2021' })).toThrow(new ConfigError('ALIPAY_PRIVATE_KEY, ALIPAY_PUBLIC_KEY must be set too (ALIPAY_APP_ID is set)'))
    expect(() => providersFromEnv({ ALIPAY_APP_ID: '2021', ALIPAY_PRIVATE_KEY: '/no/such/key.pem', ALIPAY_PUBLIC_KEY: alipay.alipayPublicKey })).toThrow(
      new ConfigError('ALIPAY_PRIVATE_KEY is neither a PEM, a base64 key, nor an existing file'),
    )
    expect(() => providersFromEnv({ ALIPAY_APP_ID: '2021', ALIPAY_PRIVATE_KEY: alipay.alipayPublicKey, ALIPAY_PUBLIC_KEY: alipay.alipayPublicKey })).toThrow(/^ALIPAY_\*: alipayProvider: privateKey is a public key/)
    expect(() => providersFromEnv({ QQ_APPID: '1', QQ_SECRET: 's', QQ_API_BASE: 'not a url' })).toThrow(/^QQ_\*: qqProvider: apiBase must be an http\(s\) URL/)
  })
})

describe('the exact text Alipay signed (topLevelMemberSpans)', () => {
  const valueOf = (text: string, key: string) => {
    const span = topLevelMemberSpans(text).spans.get(key)
    return span && text.slice(span.start, span.end)
  }

  test('finds top-level members only, past strings holding keys, braces, quotes and escapes', () => {
    const inner = '{ "sub_msg": "a } and a { and \\" quote", "n": [1, {"x": "}"}], "k": "\\\\" }'
    const text = `{"decoy":"\\"alipay_system_oauth_token_response\\":{}","nested":{"alipay_system_oauth_token_response":{"user_id":"evil"}},\n  "alipay_system_oauth_token_response" : ${inner} , "sign":"abc=","n":-1.5e3,"t":true}`
    expect(() => JSON.parse(text)).not.toThrow()
    expect(valueOf(text, 'alipay_system_oauth_token_response')).toBe(inner)
    expect(valueOf(text, 'sign')).toBe('"abc="')
    expect(valueOf(text, 'n')).toBe('-1.5e3')
    expect(valueOf(text, 't')).toBe('true')
    expect(topLevelMemberSpans(text).duplicated.size).toBe(0)
  })

  test('a duplicated member is reported (the provider refuses such a body)', () => {
    const text = '{"alipay_system_oauth_token_response":{"user_id":"a"},"alipay_system_oauth_token_response":{"user_id":"b"},"sign":"x"}'
    expect([...topLevelMemberSpans(text).duplicated]).toEqual(['alipay_system_oauth_token_response'])
    expect(valueOf(text, 'alipay_system_oauth_token_response')).toBe('{"user_id":"a"}')
    expect(topLevelMemberSpans('{}').spans.size).toBe(0)
    expect(() => topLevelMemberSpans('[1]')).toThrow(SyntaxError)
  })
})

describe('alipayProvider against a man in the middle (a fetch that rewrites genuine signed answers)', () => {
  function rewriting(rewrite: (text: string) => string): typeof fetch {
    return (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      const res = await fetch(input, init)
      return new Response(rewrite(await res.text()), { status: res.status, headers: res.headers })
    }) as typeof fetch
  }

  test('a second response member appended after the signed one → refused, whichever a JSON parser would pick', async () => {
    const provider = alipayOf({ fetch: rewriting((t) => t.replace(/}$/, ',"alipay_system_oauth_token_response":{"open_id":"evil"}}')) })
    const err = await upstreamError(provider.code2Session({ code: alipay.mintCode('alipay-genuine') }))
    expect(err).toMatchObject({ code: 'wechat_bad_response' })
    expect(err.message).toMatch(/duplicated members/)
  })

  test('the signature stripped → refused; a success turned into an unsigned error → the error is believed (a login can only fail)', async () => {
    const unsigned = alipayOf({ fetch: rewriting((t) => t.replace(/,"sign":"[^"]*"/, '')) })
    expect((await upstreamError(unsigned.code2Session({ code: alipay.mintCode('alipay-s') }))).message).toMatch(/answered without a signature/)
    const downgraded = alipayOf({ fetch: rewriting(() => '{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid","sub_msg":"授权码code无效"}}') })
    expect(await hostError(downgraded.code2Session({ code: alipay.mintCode('alipay-d') }))).toMatchObject({ code: 'wechat_invalid_code' })
  })
})
