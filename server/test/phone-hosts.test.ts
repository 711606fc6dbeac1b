/**
 * The phone number on every host (issue 12, item 3, server side), through weapp-auth-server/fastify
 * over real HTTP, the core on a real Redis, each host played by its fake over HTTP:
 * - WeChat `{ code }` (getuserphonenumber), unchanged;
 * - QQ / Douyin `{ encryptedData, iv, platform }` decrypted with the user's session_key, the
 *   watermark checked against THAT host's AppID (not WeChat's);
 * - Alipay `{ response, platform: 'alipay' }`: RSA2 signature by Alipay verified, then AES-decrypted
 *   with the app's AES key.
 * And the faults: stale session_key, another app's watermark, a Douyin guest (no session_key),
 * a tampered or foreign-signed Alipay response, a refusal, a wrong AES key, malformed bodies.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { alipayProvider, createAuthServer, douyinProvider, qqProvider, redisStore, type AuthServer, type PhoneInfo, type Store } from 'weapp-auth-server'
import { weappAuth } from 'weapp-auth-server/fastify'
import { createFakeAlipay, createFakeDouyin, createFakeQq, createFakeWechat, type FakeAlipay, type FakeDouyin, type FakeQq, type FakeWechat } from 'weapp-auth-server/testing'
import { startRedis, type RedisHandle } from './helpers/redis'
import { SEALED_DATA_FAILURE } from '../src/decrypt'
import { rejection } from './helpers/kit'

const APPID = 'wxphonehosts00001'
const SECRET = 'phone-hosts-wx-secret-00000000000'
const JWT_SECRET = 'phone-hosts-jwt-secret-at-least-32-bytes'
const pem = {
  pkcs8: (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString(),
  spki: (k: KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString(),
}
const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048 })
const alipayKeys = generateKeyPairSync('rsa', { modulusLength: 2048 })
const strangerKeys = generateKeyPairSync('rsa', { modulusLength: 2048 })

let wechat: FakeWechat
let qq: FakeQq
let douyin: FakeDouyin
let alipay: FakeAlipay
let redis: RedisHandle
let store: Store
let auth: AuthServer
let app: FastifyInstance
let base: string
const stored: Array<{ userId: string; info: PhoneInfo }> = []
const bodies: string[] = []

beforeAll(async () => {
  ;[wechat, qq, douyin, alipay, redis] = await Promise.all([
    createFakeWechat({ appid: APPID, secret: SECRET }),
    createFakeQq(),
    createFakeDouyin(),
    createFakeAlipay({ appPublicKey: pem.spki(appKeys.publicKey), alipayPrivateKey: pem.pkcs8(alipayKeys.privateKey) }),
    startRedis(),
  ])
  store = redisStore(redis.url)
  auth = createAuthServer({
    appid: APPID,
    secret: SECRET,
    jwt: { secret: JWT_SECRET },
    store,
    wxApiBase: wechat.url,
    loginRateLimit: false,
    providers: {
      qq: qqProvider({ appid: qq.appid, secret: qq.secret, apiBase: qq.url }),
      douyin: douyinProvider({ appid: douyin.appid, secret: douyin.secret, apiBase: douyin.url }),
      alipay: alipayProvider({ appId: alipay.appId, privateKey: pem.pkcs8(appKeys.privateKey), alipayPublicKey: alipay.alipayPublicKey, gateway: alipay.gateway, aesKey: alipay.aesKey }),
    },
  })
  app = Fastify({ logger: false })
  await app.register(weappAuth, { auth, onPhoneNumber: (userId, info) => void stored.push({ userId, info }) })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app?.close()
  await auth?.close()
  await store?.close()
  await Promise.all([wechat?.close(), qq?.close(), douyin?.close(), alipay?.close(), redis?.stop()])
  // No answer of this file carried a stack, a session_key or an openid.
  for (const text of bodies) expect(text).not.toMatch(/\n\s+at |node_modules|session_?key"|openid/i)
})

interface Answer {
  status: number
  json: Record<string, any> | undefined
}

async function post(path: string, body: unknown, token?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token) headers.authorization = 'Bearer ' + token
  const res = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body) })
  const text = await res.text()
  bodies.push(text)
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

function expectError(r: Answer, status: number, error: string, message?: RegExp): void {
  expect({ status: r.status, error: r.json?.error }).toEqual({ status, error })
  if (message) expect(r.json?.message).toMatch(message)
}

const uid = () => randomBytes(6).toString('hex')

async function loginOn(platform: 'weixin' | 'qq' | 'douyin' | 'alipay', openid = 'user-' + uid()): Promise<{ token: string; userId: string; openid: string }> {
  const code = platform === 'qq' ? qq.mintCode(openid) : platform === 'douyin' ? douyin.mintCode(openid) : platform === 'alipay' ? alipay.mintCode(openid) : wechat.mintCode(openid)
  const body: Record<string, string> = { code }
  if (platform !== 'weixin') body.platform = platform
  if (platform === 'douyin') body.anonymousCode = douyin.mintAnonymousCode('anon-' + openid)
  const r = await post('/api/auth/login', body)
  expect(r.status).toBe(200)
  return { token: r.json!.token, userId: r.json!.user.id, openid }
}

describe('QQ and Douyin: { encryptedData, iv, platform } with the session_key of the user’s login on that host', () => {
  test.each(['qq', 'douyin'] as const)('%s: the number the host encrypted comes back masked, the app gets it whole', async (platform) => {
    const fake = platform === 'qq' ? qq : douyin
    const user = await loginOn(platform)
    const data = fake.encryptPhone('13912345678', { openid: user.openid })
    const r = await post('/api/auth/phone', { ...data, platform }, user.token)
    expect(r.status).toBe(200)
    expect(r.json).toEqual({ phoneNumber: '139****5678' })
    expect(stored.filter((s) => s.userId === user.userId)).toEqual([{ userId: user.userId, info: { phoneNumber: '13912345678', purePhoneNumber: '13912345678', countryCode: '86' } }])
  })

  test('the watermark must be the host’s own AppID: QQ data posted as WeChat’s, or Douyin data of another app, is refused', async () => {
    const q = await loginOn('qq')
    // As WeChat's: WeChat's encrypted phone format is off (legacyPhone), so it is not even opened.
    const asWechat = await post('/api/auth/phone', { ...qq.encryptPhone('13912345678', { openid: q.openid }), platform: 'weixin' }, q.token)
    expectError(asWechat, 400, 'code_required')
    const d = await loginOn('douyin')
    const foreign = await post('/api/auth/phone', { ...douyin.encryptPhone('13912345678', { openid: d.openid, watermarkAppid: 'tt-another-app' }), platform: 'douyin' }, d.token)
    expectError(foreign, 400, 'decrypt_failed', new RegExp(SEALED_DATA_FAILURE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    // core decrypt() with platform: the same rule outside the route
    const data = douyin.encryptPhone('13900000000', { openid: d.openid })
    await expect(auth.decrypt(d.userId, data.encryptedData, data.iv, { platform: 'douyin' })).resolves.toMatchObject({ phoneNumber: '13900000000' })
    // Without platform, decrypt() reads WeChat's session: a Douyin user has none, and a Douyin key never opens it.
    expect((await rejection(auth.decrypt(d.userId, data.encryptedData, data.iv))).code).toBe('session_key_expired')
  })

  test('data encrypted before the user logged in again (a stale session_key) is decrypt_failed, and works after the client asks again', async () => {
    const openid = 'stale-' + uid()
    const first = await loginOn('douyin', openid)
    const old = douyin.encryptPhone('13700000001', { openid })
    const second = await loginOn('douyin', openid) // tt.login again: a new session_key on the server
    expect(second.userId).toBe(first.userId)
    expectError(await post('/api/auth/phone', { ...old, platform: 'douyin' }, second.token), 400, 'decrypt_failed', /log in again/)
    const fresh = douyin.encryptPhone('13700000001', { openid })
    expect((await post('/api/auth/phone', { ...fresh, platform: 'douyin' }, second.token)).json).toEqual({ phoneNumber: '137****0001' })
  })

  test('a Douyin guest (only an anonymousCode, empty code) logs in over HTTP, and has no session_key to decrypt with: 409', async () => {
    const guest = await post('/api/auth/login', { code: '', anonymousCode: douyin.mintAnonymousCode('guest-' + uid()), platform: 'douyin' })
    expect(guest.status).toBe(200)
    const someone = await loginOn('douyin')
    const data = douyin.encryptPhone('13700000002', { openid: someone.openid })
    expectError(await post('/api/auth/phone', { ...data, platform: 'douyin' }, guest.json!.token), 409, 'session_key_expired', /douyin|Douyin/)
    // An empty code without an anonymousCode is still refused, and so is a guest on another host.
    expectError(await post('/api/auth/login', { code: '', platform: 'douyin' }), 400, 'code_required')
    expectError(await post('/api/auth/login', { code: '', anonymousCode: 'x'.repeat(20), platform: 'qq' }), 400, 'code_required')
  })

  test('ten users of each host bind their numbers at once: every user gets their own number (session keys do not cross)', async () => {
    const users = await Promise.all(
      Array.from({ length: 20 }, (_, i) => loginOn(i % 2 ? 'qq' : 'douyin').then((u) => ({ ...u, platform: (i % 2 ? 'qq' : 'douyin') as 'qq' | 'douyin', phone: '1360000' + String(i).padStart(4, '0') }))),
    )
    const answers = await Promise.all(
      users.map((u) => post('/api/auth/phone', { ...(u.platform === 'qq' ? qq : douyin).encryptPhone(u.phone, { openid: u.openid }), platform: u.platform }, u.token)),
    )
    expect(answers.map((a) => a.status)).toEqual(users.map(() => 200))
    for (const u of users) expect(stored.filter((s) => s.userId === u.userId).map((s) => s.info.phoneNumber)).toEqual([u.phone])
  })
})

describe('Alipay: { response, platform: "alipay" }, verified with Alipay’s public key, decrypted with the app’s AES key', () => {
  test('the response my.getPhoneNumber hands out gives the number', async () => {
    const user = await loginOn('alipay')
    const r = await post('/api/auth/phone', { response: alipay.phoneResponse('15976719050'), platform: 'alipay' }, user.token)
    expect(r.status).toBe(200)
    expect(r.json).toEqual({ phoneNumber: '159****9050' })
    expect(stored.filter((s) => s.userId === user.userId).map((s) => s.info)).toEqual([{ phoneNumber: '15976719050', purePhoneNumber: '15976719050', countryCode: '' }])
  })

  test('a response changed on the way, or signed by anyone but Alipay, is signature_invalid and nothing is decrypted', async () => {
    const user = await loginOn('alipay')
    const genuine = JSON.parse(alipay.phoneResponse('15976719050')) as Record<string, string>
    // Another app's ciphertext (another AES key) under this response's sign
    const other = await createFakeAlipay({ appPublicKey: pem.spki(appKeys.publicKey), alipayPrivateKey: pem.pkcs8(alipayKeys.privateKey) })
    const swapped = JSON.parse(other.phoneResponse('13800000000'))
    await other.close()
    const tampered = JSON.stringify({ ...genuine, response: swapped.response })
    expectError(await post('/api/auth/phone', { response: tampered, platform: 'alipay' }, user.token), 400, 'signature_invalid')
    // Re-signed by a stranger's key
    const { createSign } = await import('node:crypto')
    const forged = JSON.stringify({ ...genuine, sign: createSign('RSA-SHA256').update(JSON.stringify(genuine.response)).sign(strangerKeys.privateKey, 'base64') })
    expectError(await post('/api/auth/phone', { response: forged, platform: 'alipay' }, user.token), 400, 'signature_invalid')
    const unsigned = JSON.stringify({ response: genuine.response })
    expectError(await post('/api/auth/phone', { response: unsigned, platform: 'alipay' }, user.token), 400, 'signature_invalid', /no sign/)
    expect(stored.filter((s) => s.userId === user.userId)).toEqual([])
  })

  test('a user who did not authorize: 403 phone_not_authorized; garbage: decrypt_failed; a wrong AES key on the server: decrypt_failed', async () => {
    const user = await loginOn('alipay')
    expectError(await post('/api/auth/phone', { response: alipay.phoneResponse('15976719050', { refused: true }), platform: 'alipay' }, user.token), 403, 'phone_not_authorized', /isv\.invalid-auth-relations/)
    expectError(await post('/api/auth/phone', { response: 'ENCRYPTED-PHONE-1', platform: 'alipay' }, user.token), 400, 'decrypt_failed')
    expectError(await post('/api/auth/phone', { response: { response: 'x' }, platform: 'alipay' }, user.token), 400, 'bad_request', /response must be a string/)
    const wrongKey = alipayProvider({ appId: alipay.appId, privateKey: pem.pkcs8(appKeys.privateKey), alipayPublicKey: alipay.alipayPublicKey, gateway: alipay.gateway, aesKey: randomBytes(16).toString('base64') })
    const err = await rejection(Promise.resolve().then(() => wrongKey.phoneNumber!({ platform: 'alipay', response: alipay.phoneResponse('15976719050') }, undefined)))
    expect(err.code).toBe('decrypt_failed')
  })

  test('without an aesKey the Alipay provider reads no phone numbers (400 naming ALIPAY_AES_KEY); a bad aesKey fails at construction', async () => {
    const noKey = alipayProvider({ appId: alipay.appId, privateKey: pem.pkcs8(appKeys.privateKey), alipayPublicKey: alipay.alipayPublicKey, gateway: alipay.gateway })
    const err = await rejection(Promise.resolve().then(() => noKey.phoneNumber!({ platform: 'alipay', response: alipay.phoneResponse('15976719050') }, undefined)))
    expect({ code: err.code, message: err.message }).toEqual({ code: 'unsupported_platform', message: expect.stringMatching(/ALIPAY_AES_KEY/) })
    expect(() => alipayProvider({ appId: alipay.appId, privateKey: pem.pkcs8(appKeys.privateKey), alipayPublicKey: alipay.alipayPublicKey, aesKey: 'c2hvcnQ=' })).toThrow(/aesKey must be the base64 of a 16-byte AES key/)
  })
})

describe('WeChat and malformed bodies', () => {
  test('WeChat’s { code } (and with platform: "weixin") still goes to getuserphonenumber', async () => {
    const user = await loginOn('weixin')
    const a = await post('/api/auth/phone', { code: wechat.mintPhoneCode('13812345678') }, user.token)
    const b = await post('/api/auth/phone', { code: wechat.mintPhoneCode('13812345679'), platform: 'weixin' }, user.token)
    expect([a.json, b.json]).toEqual([{ phoneNumber: '138****5678' }, { phoneNumber: '138****5679' }])
  })

  test('each malformed body is a 400 naming what is missing, never a 500', async () => {
    const user = await loginOn('douyin')
    expectError(await post('/api/auth/phone', { platform: 'douyin' }, user.token), 400, 'code_required', /^code \(base library 3\.51\.0\+\) or encryptedData and iv are required on douyin/)
    expectError(await post('/api/auth/phone', { encryptedData: 'AAAA', platform: 'douyin' }, user.token), 400, 'code_required', /come together/)
    // Douyin's newer button code needs the application private key, which this server was not given.
    expectError(await post('/api/auth/phone', { code: 'abcdef', platform: 'douyin' }, user.token), 400, 'unsupported_platform', /privateKey \(DOUYIN_PRIVATE_KEY/)
    expect(douyin.calls.get_phonenumber_info).toBe(0)
    expectError(await post('/api/auth/phone', { platform: 'alipay' }, user.token), 400, 'code_required', /my\.getPhoneNumber/)
    expectError(await post('/api/auth/phone', { code: 'abcdef', platform: 'harmony' }, user.token), 400, 'unsupported_platform')
    expectError(await post('/api/auth/phone', { encryptedData: 'not base64!', iv: 'AAAAAAAAAAAAAAAAAAAAAA==', platform: 'douyin' }, user.token), 400, 'decrypt_failed')
    expectError(await post('/api/auth/phone', {}, user.token), 400, 'code_required')
  })

  test('a host without a provider: 400 unsupported_platform naming the option', async () => {
    const bare = createAuthServer({ appid: APPID, secret: SECRET, jwt: { secret: JWT_SECRET }, wxApiBase: wechat.url })
    const err = await rejection(bare.phoneNumber('u1', { platform: 'qq', encryptedData: 'AAAA', iv: 'BBBB' }))
    expect({ code: err.code, message: err.message }).toEqual({ code: 'unsupported_platform', message: expect.stringMatching(/options\.providers\.qq/) })
    await bare.close()
  })
})
