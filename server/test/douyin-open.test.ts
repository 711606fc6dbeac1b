/**
 * Douyin's open platform on the server, through the public API (createAuthServer, and the bin's
 * fastify app over real HTTP), against the fake Douyin over HTTP, with the client_token shared on
 * a real Redis:
 * - the getPhoneNumber `code` (base library 3.51.0+): exchanged with the client_token, the answer
 *   RSA-decrypted with the application private key, its watermark checked (AppID, 10 minutes);
 * - the text check (antidirt) behind the nickname;
 * - one client_token for every instance, renewed once after Douyin stops taking it;
 * - and the faults: a used code, another app's number, no or a wrong private key, Douyin down,
 *   slow or answering HTML — each a typed error, never a 500, and nothing saved.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { ConfigError, createAuthServer, douyinProvider, memoryStore, providersFromEnv, redisStore, type AuthServer, type AuthServerEvent, type DouyinProviderOptions, type Store } from 'weapp-auth-server'
import { createFakeDouyin, createFakeWechat, type FakeDouyin, type FakeWechat } from 'weapp-auth-server/testing'
import { buildApp } from '../src/app'
import { startRedis, type RedisHandle } from './helpers/redis'
import { rejection } from './helpers/kit'

const APPID = 'wxdouyinopen00001'
const SECRET = 'douyin-open-wx-secret-00000000000'
const JWT_SECRET = 'douyin-open-jwt-secret-at-least-32-bytes'

/** One clock for the servers and the fake; tests move it forward. */
let offset = 0
const clock = () => Date.now() + offset

let wechat: FakeWechat
let douyin: FakeDouyin
let redis: RedisHandle
const stores: Store[] = []
const servers: AuthServer[] = []
const events: AuthServerEvent[] = []

beforeAll(async () => {
  ;[wechat, douyin, redis] = await Promise.all([createFakeWechat({ appid: APPID, secret: SECRET }), createFakeDouyin({ now: clock }), startRedis()])
})

afterAll(async () => {
  for (const s of servers) await s.close()
  for (const s of stores) await s.close().catch(() => undefined)
  await Promise.all([wechat?.close(), douyin?.close(), redis?.stop()])
})

beforeEach(async () => {
  offset += 60_000
  events.length = 0
  douyin.clearFaults()
  douyin.resetCalls()
  await redis.flushAll()
})

const providerOf = (extra: Partial<DouyinProviderOptions> = {}) =>
  douyinProvider({ appid: douyin.appid, secret: douyin.secret, apiBase: douyin.url, openApiBase: douyin.url, privateKey: douyin.appPrivateKey, timeoutMs: 1000, ...extra })

function newStore(kind: 'memory' | 'redis'): Store {
  const store = kind === 'memory' ? memoryStore() : redisStore(redis.url)
  stores.push(store)
  return store
}

/** A server (an instance of the deployment) on `store`, with its own Douyin provider. */
function serverOn(store: Store, provider = providerOf()): AuthServer {
  const server = createAuthServer({
    appid: APPID,
    secret: SECRET,
    jwt: { secret: JWT_SECRET },
    wxApiBase: wechat.url,
    store,
    now: clock,
    loginRateLimit: false,
    phoneRateLimit: false,
    providers: { douyin: provider },
    onEvent: (e) => events.push(e),
  })
  servers.push(server)
  return server
}

const uid = () => randomBytes(6).toString('hex')
let phoneSeq = 13900000000
const nextPhone = () => String(phoneSeq++)
const douyinCtx = { platform: 'douyin' as const }

// ---------------------------------------------------------------------------------------------
// Over HTTP, the bin's app: what a client sees and what is saved
// ---------------------------------------------------------------------------------------------

describe('over HTTP (the bin’s app on Redis)', () => {
  let app: FastifyInstance
  let base: string
  let auth: AuthServer

  beforeAll(async () => {
    auth = serverOn(newStore('redis'))
    app = buildApp({ auth, log: false })
    base = await app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => {
    await app?.close()
  })

  async function call(method: 'GET' | 'POST', path: string, body?: unknown, token?: string): Promise<{ status: number; json: any; text: string }> {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (token) headers.authorization = 'Bearer ' + token
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : undefined, text }
  }

  async function login(): Promise<{ token: string; id: string }> {
    const r = await call('POST', '/api/auth/login', { code: douyin.mintCode('dy-' + uid()), platform: 'douyin' })
    expect(r.status).toBe(200)
    return { token: r.json.token, id: r.json.user.id }
  }

  test('a phone code: the number comes back masked and is saved; the same code again is a typed 400 and changes nothing', async () => {
    const user = await login()
    const code = douyin.mintPhoneCode('13912345678')
    const first = await call('POST', '/api/auth/phone', { code, platform: 'douyin' }, user.token)
    expect(first).toMatchObject({ status: 200, json: { phoneNumber: '139****5678' } })
    expect((await call('GET', '/api/user/me', undefined, user.token)).json.phoneNumber).toBe('139****5678')
    expect(douyin.calls).toMatchObject({ client_token: 1, get_phonenumber_info: 1 })

    const again = await call('POST', '/api/auth/phone', { code, platform: 'douyin' }, user.token)
    expect(again).toMatchObject({ status: 400, json: { error: 'wechat_invalid_code', errcode: 28001007 } })
    expect(again.json.message).toMatch(/^Douyin api\/apps\/v1\/get_phonenumber_info\/ answered errcode 28001007: code used$/)
    // Another user replaying it gets nothing either.
    const other = await login()
    expect((await call('POST', '/api/auth/phone', { code, platform: 'douyin' }, other.token)).status).toBe(400)
    expect((await call('GET', '/api/user/me', undefined, other.token)).json.phoneNumber).toBeUndefined()
    // One client_token for all of it.
    expect(douyin.calls.client_token).toBe(1)
  })

  test('another app’s number (watermark) is refused and not saved; a body without code or encryptedData says what is needed', async () => {
    const user = await login()
    const foreign = await call('POST', '/api/auth/phone', { code: douyin.mintPhoneCode('13912340000', { watermarkAppid: 'tt-another-app' }), platform: 'douyin' }, user.token)
    expect(foreign).toMatchObject({ status: 400, json: { error: 'watermark_mismatch' } })
    expect((await call('GET', '/api/user/me', undefined, user.token)).json.phoneNumber).toBeUndefined()
    const empty = await call('POST', '/api/auth/phone', { platform: 'douyin' }, user.token)
    expect(empty).toMatchObject({ status: 400, json: { error: 'code_required', message: expect.stringMatching(/^code \(base library 3\.51\.0\+\) or encryptedData and iv/) } })
  })

  test('the nickname goes through antidirt: a risky one is 422 and not saved, a clean one is saved', async () => {
    const user = await login()
    const risky = await call('POST', '/api/user/profile', { nickName: '违规昵称' }, user.token)
    expect(risky).toMatchObject({ status: 422, json: { error: 'content_risky' } })
    expect((await call('GET', '/api/user/me', undefined, user.token)).json.nickName).not.toBe('违规昵称')
    const clean = await call('POST', '/api/user/profile', { nickName: '小抖' }, user.token)
    expect(clean).toMatchObject({ status: 200, json: { nickName: '小抖' } })
    expect(douyin.calls).toMatchObject({ antidirt: 2, client_token: 1 })
  })

  test('Douyin down, slow or answering HTML: typed 5xx, never a 500, nothing saved', async () => {
    const user = await login()
    const before = (await call('GET', '/api/user/me', undefined, user.token)).json

    douyin.html('antidirt', { times: 1 })
    expect(await call('POST', '/api/user/profile', { nickName: '网关坏了' }, user.token)).toMatchObject({ status: 502, json: { error: 'wechat_bad_response' } })
    douyin.html('get_phonenumber_info', { times: 1 })
    expect(await call('POST', '/api/auth/phone', { code: douyin.mintPhoneCode(nextPhone()), platform: 'douyin' }, user.token)).toMatchObject({ status: 502, json: { error: 'wechat_bad_response' } })
    douyin.fail('get_phonenumber_info', -1, { times: 1 })
    expect(await call('POST', '/api/auth/phone', { code: douyin.mintPhoneCode(nextPhone()), platform: 'douyin' }, user.token)).toMatchObject({ status: 503, json: { error: 'wechat_busy', errcode: -1 } })

    await douyin.stop()
    try {
      const down = await call('POST', '/api/auth/phone', { code: 'a-code-nobody-can-check', platform: 'douyin' }, user.token)
      expect(down).toMatchObject({ status: 502, json: { error: 'wechat_unreachable' } })
      expect(down.text).not.toMatch(/127\.0\.0\.1|access-token|clt\./)
      expect((await call('POST', '/api/user/profile', { nickName: '断网' }, user.token)).status).toBe(502)
    } finally {
      await douyin.start()
    }
    expect((await call('GET', '/api/user/me', undefined, user.token)).json).toEqual(before)
  })
})

// ---------------------------------------------------------------------------------------------
// The core: phone codes and the text check
// ---------------------------------------------------------------------------------------------

describe('phone codes through createAuthServer', () => {
  test('the whole number for the app, as WeChat’s code path answers it', async () => {
    const auth = serverOn(newStore('memory'))
    const phone = nextPhone()
    await expect(auth.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode(phone) })).resolves.toEqual({ phoneNumber: phone, purePhoneNumber: phone, countryCode: '86' })
  })

  test('OAEP when Douyin uses it (rsaPadding: "oaep"); a padding that does not match is a typed 502, not a 500', async () => {
    const oaep = await createFakeDouyin({ now: clock, rsaPadding: 'oaep', appid: douyin.appid, secret: douyin.secret })
    try {
      const withOaep = serverOn(newStore('memory'), providerOf({ apiBase: oaep.url, openApiBase: oaep.url, privateKey: oaep.appPrivateKey, rsaPadding: 'oaep' }))
      await expect(withOaep.phoneNumber('u1', { platform: 'douyin', code: oaep.mintPhoneCode('13800000001') })).resolves.toMatchObject({ purePhoneNumber: '13800000001' })
      const withPkcs1 = serverOn(newStore('memory'), providerOf({ apiBase: oaep.url, openApiBase: oaep.url, privateKey: oaep.appPrivateKey }))
      const err = await rejection(withPkcs1.phoneNumber('u1', { platform: 'douyin', code: oaep.mintPhoneCode('13800000002') }))
      expect(err).toMatchObject({ name: 'UpstreamError', code: 'wechat_bad_response', status: 502 })
      expect(err.message).toMatch(/privateKey/)
    } finally {
      await oaep.close()
    }
  })

  test('a phone answer longer than one RSA block (a 2048-bit block holds 245 bytes) is read block by block', async () => {
    // A 202-character AppID in the watermark makes the plaintext ~310 bytes: two PKCS#1 blocks.
    const longAppid = 'tt' + 'a'.repeat(200)
    const big = await createFakeDouyin({ now: clock, appid: longAppid, secret: douyin.secret })
    try {
      const auth = serverOn(newStore('memory'), providerOf({ appid: longAppid, apiBase: big.url, openApiBase: big.url, privateKey: big.appPrivateKey }))
      await expect(auth.phoneNumber('u1', { platform: 'douyin', code: big.mintPhoneCode('13800000003') })).resolves.toMatchObject({ purePhoneNumber: '13800000003' })
    } finally {
      await big.close()
    }
  })

  test('another app’s watermark, or one more than 10 minutes from now, is refused (400 watermark_mismatch)', async () => {
    const auth = serverOn(newStore('memory'))
    expect(await rejection(auth.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode(nextPhone(), { watermarkAppid: 'tt-other' }) }))).toMatchObject({
      code: 'watermark_mismatch',
      status: 400,
    })
    // This server's clock runs 11 minutes ahead of Douyin's: the number Douyin stamped now looks stale.
    const ahead = createAuthServer({
      appid: APPID,
      secret: SECRET,
      jwt: { secret: JWT_SECRET },
      wxApiBase: wechat.url,
      store: newStore('memory'),
      now: () => clock() + 11 * 60_000,
      providers: { douyin: providerOf() },
    })
    servers.push(ahead)
    const stale = await rejection(ahead.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode(nextPhone()) }))
    expect(stale).toMatchObject({ code: 'watermark_mismatch', status: 400 })
    expect(stale.message).toMatch(/10 minutes/)
  })

  test('no private key configured: a clear 400 naming what to set, and Douyin is not asked (the code stays usable)', async () => {
    const bare = serverOn(newStore('memory'), providerOf({ privateKey: undefined }))
    const code = douyin.mintPhoneCode('13700000000')
    const err = await rejection(bare.phoneNumber('u1', { platform: 'douyin', code }))
    expect(err).toMatchObject({ code: 'unsupported_platform', status: 400 })
    expect(err.message).toMatch(/privateKey \(DOUYIN_PRIVATE_KEY for the bin\).*开发配置/)
    expect(douyin.calls).toMatchObject({ client_token: 0, get_phonenumber_info: 0 })
    await expect(serverOn(newStore('memory')).phoneNumber('u1', { platform: 'douyin', code })).resolves.toMatchObject({ purePhoneNumber: '13700000000' })
  })

  test('a wrong private key: 502 wechat_bad_response naming privateKey, and the number is not read', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
    const wrong = serverOn(newStore('memory'), providerOf({ privateKey: stranger }))
    const err = await rejection(wrong.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode(nextPhone()) }))
    expect(err).toMatchObject({ name: 'UpstreamError', code: 'wechat_bad_response', status: 502, api: 'api/apps/v1/get_phonenumber_info/' })
    expect(err.message).toMatch(/does not decrypt with privateKey|no JSON object with privateKey/)
    expect(events).toContainEqual({ type: 'upstream_error', api: 'api/apps/v1/get_phonenumber_info/', code: 'wechat_bad_response' })
  })

  test('an unknown code, and a code past its 5 minutes, are 400 wechat_invalid_code', async () => {
    const auth = serverOn(newStore('memory'))
    expect(await rejection(auth.phoneNumber('u1', { platform: 'douyin', code: 'never-minted-code' }))).toMatchObject({ code: 'wechat_invalid_code', status: 400, errcode: 28001007 })
    const code = douyin.mintPhoneCode(nextPhone())
    offset += 5 * 60_000 + 1000
    const late = await rejection(auth.phoneNumber('u1', { platform: 'douyin', code }))
    expect(late).toMatchObject({ code: 'wechat_invalid_code', errcode: 28001007 })
    expect(late.message).toMatch(/code expired/)
  })

  test('a wrong AppSecret: client_token answers 10013 → 502 wechat_invalid_credential, for the phone and the check alike', async () => {
    const auth = serverOn(newStore('memory'), providerOf({ secret: 'not-the-secret' }))
    expect(await rejection(auth.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode(nextPhone()) }))).toMatchObject({
      code: 'wechat_invalid_credential',
      status: 502,
      errcode: 10013,
      api: 'oauth/client_token/',
    })
    expect(await rejection(auth.checkText('u1', 'hello', 1, douyinCtx))).toMatchObject({ code: 'wechat_invalid_credential', errcode: 10013 })
    expect(douyin.calls).toMatchObject({ get_phonenumber_info: 0, antidirt: 0 })
  })

  test('slow: wechat_timeout (504) within the provider’s time limit', async () => {
    const auth = serverOn(newStore('memory'), providerOf({ timeoutMs: 200 }))
    douyin.delay('get_phonenumber_info', 1500, { times: 1 })
    const started = Date.now()
    expect(await rejection(auth.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode(nextPhone()) }))).toMatchObject({ code: 'wechat_timeout', status: 504 })
    expect(Date.now() - started).toBeLessThan(1400)
    douyin.delay('client_token', 1500, { times: 1 })
    expect(await rejection(serverOn(newStore('memory'), providerOf({ timeoutMs: 200 })).checkText('u1', 'hi', 1, douyinCtx))).toMatchObject({ code: 'wechat_timeout' })
  })
})

describe('the text check through createAuthServer', () => {
  test('pass and risky, with Douyin’s log_id as traceId; a guest (no session_key) is checked too', async () => {
    const auth = serverOn(newStore('memory'))
    const pass = await auth.checkText('u1', '你好呀', 1, douyinCtx)
    expect(pass).toEqual({ suggest: 'pass', label: 0, traceId: expect.stringMatching(/^[0-9A-F]{20}$/) })
    expect(await auth.checkText('u1', 'this has a risky-word in it', 2, douyinCtx)).toMatchObject({ suggest: 'risky', label: 0 })
    const guest = await auth.login({ platform: 'douyin', code: '', anonymousCode: douyin.mintAnonymousCode('guest-' + uid()) })
    expect(await auth.checkText(guest.user.id as string, '违规', 1, douyinCtx)).toMatchObject({ suggest: 'risky' })
    expect(auth.checksText('douyin')).toBe(true)
    expect(douyin.calls).toMatchObject({ antidirt: 3, client_token: 1 })
  })

  test('a check Douyin fails (code 500) is a typed 502, never a pass', async () => {
    const auth = serverOn(newStore('memory'))
    douyin.fail('antidirt', 500, { times: 1 })
    expect(await rejection(auth.checkText('u1', 'x', 1, douyinCtx))).toMatchObject({ code: 'wechat_error', status: 502, errcode: 500 })
  })
})

// ---------------------------------------------------------------------------------------------
// The shared client_token
// ---------------------------------------------------------------------------------------------

describe('one client_token for every instance (Redis)', () => {
  test('60 concurrent phone codes and checks across 4 instances: exactly 1 client_token call', async () => {
    const instances = Array.from({ length: 4 }, () => serverOn(newStore('redis')))
    const phones = Array.from({ length: 30 }, nextPhone)
    const results = await Promise.all([
      ...phones.map((p, i) => instances[i % 4].phoneNumber(`u${i}`, { platform: 'douyin', code: douyin.mintPhoneCode(p) })),
      ...phones.map((_, i) => instances[(i + 1) % 4].checkText(`u${i}`, i % 3 ? 'fine' : '违规', 1, douyinCtx)),
    ])
    expect(results.slice(0, 30).map((r) => (r as { purePhoneNumber: string }).purePhoneNumber)).toEqual(phones)
    expect(results.slice(30).map((r) => (r as { suggest: string }).suggest)).toEqual(phones.map((_, i) => (i % 3 ? 'pass' : 'risky')))
    expect(douyin.calls).toMatchObject({ client_token: 1, get_phonenumber_info: 30, antidirt: 30 })
    expect(events.filter((e) => e.type === 'access_token')).toEqual([{ type: 'access_token', forced: false }])
  })

  test('Douyin stops taking the token (28001003 / antidirt 401): one more client_token call for all instances, every call succeeds', async () => {
    const instances = Array.from({ length: 3 }, () => serverOn(newStore('redis')))
    await instances[0].checkText('u0', 'warm up', 1, douyinCtx)
    expect(douyin.calls.client_token).toBe(1)
    douyin.resetCalls()
    douyin.invalidateAccessTokens()
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2 ? instances[i % 3].phoneNumber(`u${i}`, { platform: 'douyin', code: douyin.mintPhoneCode(String(13600000000 + i)) }) : instances[i % 3].checkText(`u${i}`, 'ok', 1, douyinCtx),
      ),
    )
    expect(results).toHaveLength(12)
    expect(douyin.calls.client_token).toBe(1)
    // Each call that met the dead token tried once more, and no more than once.
    for (const api of ['get_phonenumber_info', 'antidirt'] as const) {
      expect(douyin.calls[api]).toBeGreaterThanOrEqual(6)
      expect(douyin.calls[api]).toBeLessThanOrEqual(12)
    }
  })

  test('an expired token (28001008) is replaced the same way; a token Douyin keeps refusing is 502 after exactly one renewal', async () => {
    const auth = serverOn(newStore('redis'))
    await auth.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode(nextPhone()) })
    douyin.expireAccessTokens()
    await expect(auth.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode('13500000000') })).resolves.toMatchObject({ purePhoneNumber: '13500000000' })
    expect(douyin.calls).toMatchObject({ client_token: 2, get_phonenumber_info: 3 })

    const stubborn = serverOn(newStore('memory'))
    douyin.resetCalls()
    douyin.fail('get_phonenumber_info', 28001003)
    const err = await rejection(stubborn.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode(nextPhone()) }))
    expect(err).toMatchObject({ code: 'wechat_invalid_credential', status: 502, errcode: 28001003 })
    expect(douyin.calls).toMatchObject({ client_token: 2, get_phonenumber_info: 2 })
  })

  test('less than the margin left: one instance renews, the others read its token; the old one still works meanwhile', async () => {
    const instances = Array.from({ length: 3 }, () => serverOn(newStore('redis')))
    await instances[0].checkText('u0', 'first', 1, douyinCtx)
    offset += (7200 - 299) * 1000 // 299 s left: inside the 300 s margin
    await Promise.all(instances.flatMap((s, i) => [s.checkText(`u${i}`, 'a', 1, douyinCtx), s.phoneNumber(`u${i}`, { platform: 'douyin', code: douyin.mintPhoneCode(nextPhone()) })]))
    expect(douyin.calls.client_token).toBe(2)
    await Promise.all(instances.map((s) => s.checkText('u9', 'b', 1, douyinCtx)))
    expect(douyin.calls.client_token).toBe(2)
  })
})

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

describe('configuration', () => {
  test('options are checked at construction, naming the option', () => {
    const base = { appid: douyin.appid, secret: douyin.secret }
    const publicPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }) as string
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
    const cases: Array<[Partial<DouyinProviderOptions>, RegExp]> = [
      [{ privateKey: publicPem }, /privateKey is a public key/],
      [{ privateKey: small }, /privateKey is RSA-1024/],
      [{ privateKey: ec }, /privateKey is a ec key/],
      [{ privateKey: 'not a key at all!' }, /privateKey is neither a PEM nor a base64 key/],
      [{ privateKey: '' }, /privateKey must be a non-empty string/],
      [{ openApiBase: 'ftp://open.douyin.com' }, /openApiBase must be an http\(s\) URL/],
      [{ rsaPadding: 'none' as 'pkcs1' }, /rsaPadding must be 'pkcs1' or 'oaep'/],
      [{ accessTokenMarginSeconds: 7200 }, /accessTokenMarginSeconds/],
    ]
    for (const [extra, message] of cases) {
      expect(() => douyinProvider({ ...base, ...extra })).toThrow(ConfigError)
      expect(() => douyinProvider({ ...base, ...extra })).toThrow(message)
    }
    // The key's bare base64 body (PKCS#8 DER) is taken as well as its PEM.
    const body = (douyin.appPrivateKey as string).replace(/-----[^-]+-----|\s/g, '')
    expect(() => douyinProvider({ ...base, privateKey: body })).not.toThrow()
  })

  test('from the environment: DOUYIN_PRIVATE_KEY (PEM, base64 or a file) and DOUYIN_OPEN_API_BASE; a bad key or padding is a ConfigError naming DOUYIN_*', async () => {
    const env = { DOUYIN_APPID: douyin.appid, DOUYIN_SECRET: douyin.secret, DOUYIN_API_BASE: douyin.url, DOUYIN_OPEN_API_BASE: douyin.url, DOUYIN_PRIVATE_KEY: douyin.appPrivateKey }
    const provider = providersFromEnv(env).douyin!
    const auth = serverOn(newStore('memory'), provider)
    await expect(auth.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode('13400000000') })).resolves.toMatchObject({ purePhoneNumber: '13400000000' })
    const { DOUYIN_PRIVATE_KEY: _key, ...withoutKey } = env
    const noKey = serverOn(newStore('memory'), providersFromEnv(withoutKey).douyin!)
    expect(await rejection(noKey.phoneNumber('u1', { platform: 'douyin', code: douyin.mintPhoneCode(nextPhone()) }))).toMatchObject({ code: 'unsupported_platform' })
    expect(() => providersFromEnv({ ...env, DOUYIN_PRIVATE_KEY: '/no/such/key.pem' })).toThrow(/DOUYIN_PRIVATE_KEY is neither a PEM, a base64 key, nor an existing file/)
    expect(() => providersFromEnv({ ...env, DOUYIN_RSA_PADDING: 'raw' })).toThrow(/^DOUYIN_\*: douyinProvider: rsaPadding/)
  })
})

// ---------------------------------------------------------------------------------------------
// The fake keeps Douyin's rules
// ---------------------------------------------------------------------------------------------

describe('the fake Douyin’s open platform', () => {
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(douyin.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
    return { status: res.status, json: (await res.json()) as any }
  }
  const token = async () => (await post('/oauth/client_token/', { client_key: douyin.appid, client_secret: douyin.secret, grant_type: 'client_credential' })).json.data.access_token as string

  test('client_token: Douyin’s answer and error codes; a new token leaves the previous one 5 more minutes', async () => {
    const first = await post('/oauth/client_token/', { client_key: douyin.appid, client_secret: douyin.secret, grant_type: 'client_credential' })
    expect(first).toEqual({ status: 200, json: { data: { access_token: expect.stringMatching(/^clt\./), description: '', error_code: 0, expires_in: 7200 }, message: 'success' } })
    expect((await post('/oauth/client_token/', { client_key: 'tt-unknown', client_secret: 'x', grant_type: 'client_credential' })).json.data.error_code).toBe(10003)
    expect((await post('/oauth/client_token/', { client_key: douyin.appid, client_secret: 'x', grant_type: 'client_credential' })).json.data.error_code).toBe(10013)
    expect((await post('/oauth/client_token/', { client_key: douyin.appid })).json.data.error_code).toBe(10002)

    const old = first.json.data.access_token as string
    const fresh = await token()
    const phoneWith = async (t: string) => (await post('/api/apps/v1/get_phonenumber_info/', { code: douyin.mintPhoneCode(nextPhone()) }, { 'access-token': t })).json.err_no
    expect(await phoneWith(old)).toBe(0)
    offset += 5 * 60_000 + 1000
    expect(await phoneWith(old)).toBe(28001008)
    expect(await phoneWith(fresh)).toBe(0)
    expect(await phoneWith('clt.made-up')).toBe(28001003)
  })

  test('antidirt: 401 without a good token, 400 without tasks; controls over HTTP mint phone codes and revoke tokens', async () => {
    expect(await post('/api/v2/tags/text/antidirt', { tasks: [{ content: 'x' }] })).toMatchObject({ status: 401, json: { code: 401, message: 'Authentication credentials were not provided.' } })
    const t = await token()
    expect(await post('/api/v2/tags/text/antidirt', { tasks: [] }, { 'X-Token': t })).toMatchObject({ status: 400, json: { code: 400 } })
    const checked = await post('/api/v2/tags/text/antidirt', { tasks: [{ content: '违规' }, { content: 'fine' }] }, { 'X-Token': t })
    expect(checked.json.data.map((d: any) => d.predicts[0])).toEqual([
      { prob: 1, hit: true, model_name: 'antidirt', target: 'default' },
      { prob: 0, hit: false, model_name: 'antidirt', target: 'default' },
    ])
    const { code } = (await post('/__fake/phone-codes', { phoneNumber: '13300000000' })).json
    expect((await post('/api/apps/v1/get_phonenumber_info/', { code }, { 'access-token': t })).json).toMatchObject({ err_no: 0, data: expect.any(String) })
    expect((await post('/__fake/invalidate-tokens', {})).json).toEqual({ ok: true })
    expect((await post('/api/v2/tags/text/antidirt', { tasks: [{ content: 'x' }] }, { 'X-Token': t })).status).toBe(401)
  })
})
