/**
 * The phone number as an attacker would go after it, through the fastify routes of two instances
 * sharing one real Redis, against the fake WeChat, QQ and Alipay APIs:
 *
 * - no oracle: every failure to open sealed data (bad base64, bad lengths, bad padding, not JSON,
 *   not an object, another AppID's watermark, a stale or future or missing timestamp, no number)
 *   gets the same status, body and headers;
 * - a padding-oracle attack, run for real on WeChat's legacy format and on QQ, cannot finish: the
 *   user's failure budget (kept in Redis, across instances and logins) stops it after 5 answers;
 * - WeChat's encrypted phone format is off unless asked for; per-user phone limits;
 * - session keys kept per host and AppID; Alipay responses only from Alipay sessions, bound to the
 *   first user; the number masked in login and refresh answers; sessions with an absolute end.
 */
import { createCipheriv, randomBytes } from 'node:crypto'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { alipayProvider, createAuthServer, memoryStore, qqProvider, redisStore, type AuthServer, type AuthServerOptions, type Store, type StoreUserRepository } from 'weapp-auth-server'
import { weappAuth } from 'weapp-auth-server/fastify'
import { createFakeAlipay, createFakeQq, createFakeWechat, type FakeAlipay, type FakeQq, type FakeWechat } from 'weapp-auth-server/testing'
import { SEALED_DATA_FAILURE } from '../src/decrypt'
import { startRedis, type RedisHandle } from './helpers/redis'
import { rejection } from './helpers/kit'

const APPID = 'wxphonesecurity01'
const SECRET = 'phone-security-wx-secret-0000000000'
const JWT_SECRET = 'phone-security-jwt-secret-at-least-32-bytes'
const pem = {
  pkcs8: (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString(),
  spki: (k: KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString(),
}
const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048 })
const alipayKeys = generateKeyPairSync('rsa', { modulusLength: 2048 })

let wechat: FakeWechat
let qq: FakeQq
let alipay: FakeAlipay
let redis: RedisHandle
const closers: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  ;[wechat, qq, alipay, redis] = await Promise.all([
    createFakeWechat({ appid: APPID, secret: SECRET }),
    createFakeQq(),
    createFakeAlipay({ appPublicKey: pem.spki(appKeys.publicKey), alipayPrivateKey: pem.pkcs8(alipayKeys.privateKey) }),
    startRedis(),
  ])
})
afterAll(async () => {
  for (const close of closers.reverse()) await close()
  await Promise.all([wechat?.close(), qq?.close(), alipay?.close(), redis?.stop()])
})

interface Instance {
  auth: AuthServer
  app: FastifyInstance
  store: Store
  url: string
}

/** An instance of the server: the core over its own connection to the shared Redis, and the routes. */
async function instance(options: Partial<AuthServerOptions> = {}, store: Store = redisStore(redis.url)): Promise<Instance> {
  const auth = createAuthServer({
    appid: APPID,
    secret: SECRET,
    jwt: { secret: JWT_SECRET },
    store,
    wxApiBase: wechat.url,
    loginRateLimit: false,
    providers: {
      qq: qqProvider({ appid: qq.appid, secret: qq.secret, apiBase: qq.url }),
      alipay: alipayProvider({ appId: alipay.appId, privateKey: pem.pkcs8(appKeys.privateKey), alipayPublicKey: alipay.alipayPublicKey, gateway: alipay.gateway, aesKey: alipay.aesKey }),
    },
    ...options,
  })
  const app = Fastify({ logger: false })
  await app.register(weappAuth, { auth })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  closers.push(() => store.close(), () => auth.close(), () => app.close())
  return { auth, app, store, url }
}

interface Answer {
  status: number
  body: Record<string, any>
  headers: Record<string, unknown>
}

async function post(i: Instance, path: string, body: unknown, token?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token) headers.authorization = 'Bearer ' + token
  const res = await fetch(i.url + path, { method: 'POST', headers, body: JSON.stringify(body) })
  const text = await res.text()
  const rest: Record<string, unknown> = {}
  res.headers.forEach((value, name) => {
    if (name !== 'date') rest[name] = value
  })
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: rest }
}

const uid = () => randomBytes(6).toString('hex')

async function loginOn(i: Instance, platform: 'weixin' | 'qq' | 'alipay', openid = 'user-' + uid()): Promise<{ token: string; refreshToken: string; userId: string; openid: string; user: Record<string, unknown> }> {
  const code = platform === 'qq' ? qq.mintCode(openid) : platform === 'alipay' ? alipay.mintCode(openid) : wechat.mintCode(openid)
  const r = await post(i, '/api/auth/login', platform === 'weixin' ? { code } : { code, platform })
  expect(r.status).toBe(200)
  return { token: r.body.token, refreshToken: r.body.refreshToken, userId: r.body.user.id, openid, user: r.body.user }
}

/** AES-128-CBC of `plain` (a whole number of blocks, padded by the caller) under a session_key. */
function sealRaw(sessionKey: string, plain: Buffer, iv = randomBytes(16)): { encryptedData: string; iv: string } {
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv)
  cipher.setAutoPadding(false)
  return { encryptedData: Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64'), iv: iv.toString('base64') }
}
function pkcs7(text: string): Buffer {
  const data = Buffer.from(text, 'utf8')
  const n = 16 - (data.length % 16)
  return Buffer.concat([data, Buffer.alloc(n, n)])
}
const phoneJson = (appid: string, timestamp: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ phoneNumber: '19900001111', purePhoneNumber: '19900001111', countryCode: '86', watermark: { appid, timestamp }, ...extra })

describe('no oracle: every failure to open sealed data is the same answer', () => {
  test.each([
    ['WeChat (legacyPhone)', 'weixin'],
    ['QQ', 'qq'],
  ] as const)('%s: eleven kinds of failure, one status, one body, the same headers', async (_name, platform) => {
    const i = await instance({ legacyPhone: true, decryptFailureLimit: { max: 1000, windowSeconds: 60 }, phoneRateLimit: false })
    const user = await loginOn(i, platform)
    const key = (platform === 'qq' ? qq.sessionKeyOf(user.openid) : wechat.sessionKeyOf(user.openid)) as string
    const appid = platform === 'qq' ? qq.appid : APPID
    const now = Math.floor(Date.now() / 1000)
    const good = sealRaw(key, pkcs7(phoneJson(appid, now)))
    const cases: Record<string, { encryptedData: string; iv: string }> = {
      'bad base64': { encryptedData: 'not base64!!', iv: good.iv },
      'ciphertext not whole blocks': { encryptedData: randomBytes(15).toString('base64'), iv: good.iv },
      'iv of 12 bytes': { encryptedData: good.encryptedData, iv: randomBytes(12).toString('base64') },
      'bad padding': sealRaw(key, Buffer.concat([Buffer.from(phoneJson(appid, now).slice(0, 32)), Buffer.alloc(16, 0)])),
      'not JSON': sealRaw(key, pkcs7('hello, not json at all')),
      'JSON but not an object': sealRaw(key, pkcs7('[1,2,3]')),
      "another AppID's watermark": sealRaw(key, pkcs7(phoneJson('wxsomeoneelse00001', now))),
      'a stale watermark (an hour old)': sealRaw(key, pkcs7(phoneJson(appid, now - 3600))),
      'a watermark from the future': sealRaw(key, pkcs7(phoneJson(appid, now + 3600))),
      'no timestamp': sealRaw(key, pkcs7(JSON.stringify({ phoneNumber: '19900001111', watermark: { appid } }))),
      'no phone number': sealRaw(key, pkcs7(JSON.stringify({ watermark: { appid, timestamp: now } }))),
    }
    const answers: Record<string, Answer> = {}
    for (const [name, data] of Object.entries(cases)) answers[name] = await post(i, '/api/auth/phone', { ...data, platform }, user.token)
    const first = Object.values(answers)[0]
    expect(first).toMatchObject({ status: 400, body: { error: 'decrypt_failed', message: SEALED_DATA_FAILURE } })
    for (const [name, answer] of Object.entries(answers)) expect({ name, answer }).toEqual({ name, answer: first })
    // And the genuine data still opens for this user.
    const ok = await post(i, '/api/auth/phone', { ...good, platform }, user.token)
    expect(ok).toMatchObject({ status: 200, body: { phoneNumber: '199****1111' } })
  })
})

describe('a padding-oracle attack cannot finish', () => {
  /**
   * The attack on the last byte of the first block: the attacker flips byte 15 of the IV through
   * all 256 values; the one whose padding is valid would answer differently, which reveals the
   * plaintext byte. It needs up to 256 answers per byte, ~2,000 per block.
   */
  async function attack(i: Instance, platform: 'weixin' | 'qq', token: string, sealed: { encryptedData: string; iv: string }) {
    const firstBlock = Buffer.from(sealed.encryptedData, 'base64').subarray(0, 16).toString('base64')
    const iv = Buffer.from(sealed.iv, 'base64')
    const answers: Answer[] = []
    for (let g = 0; g < 256; g++) {
      const forged = Buffer.from(iv)
      forged[15] ^= g
      answers.push(await post(i, '/api/auth/phone', { encryptedData: firstBlock, iv: forged.toString('base64'), platform }, token))
    }
    const opened = answers.filter((a) => a.status === 400)
    const refused = answers.filter((a) => a.status === 429)
    return { answers, opened, refused, distinctOpened: new Set(opened.map((a) => JSON.stringify(a.body))).size }
  }

  test.each([
    ['WeChat (legacyPhone)', 'weixin'],
    ['QQ', 'qq'],
  ] as const)('%s: 256 forged queries get 5 answers, all alike, then 429; logging in again or moving to another instance does not reset it', async (_name, platform) => {
    // The phone limit is lifted so only the failure budget is at work.
    const a = await instance({ legacyPhone: true, phoneRateLimit: false })
    const b = await instance({ legacyPhone: true, phoneRateLimit: false })
    const attacker = await loginOn(a, platform)
    const sealed = platform === 'qq' ? qq.encryptPhone('13900001111', { openid: attacker.openid }) : wechat.encryptFor(attacker.openid, JSON.parse(phoneJson(APPID, Math.floor(Date.now() / 1000))))

    const run = await attack(a, platform, attacker.token, sealed)
    expect({ opened: run.opened.length, refused: run.refused.length, distinctOpened: run.distinctOpened }).toEqual({ opened: 5, refused: 251, distinctOpened: 1 })
    for (const r of run.refused) {
      expect(r.body.error).toBe('rate_limited')
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(3600)
    }
    // The session_key is gone: the user must log in again for a new one.
    expect(await a.store.getSession(attacker.userId)).toBeNull()

    // A new login, on the other instance: still nothing is opened for this user.
    const again = await loginOn(b, platform, attacker.openid)
    expect(again.userId).toBe(attacker.userId)
    const second = await attack(b, platform, again.token, sealed)
    expect({ opened: second.opened.length, refused: second.refused.length }).toEqual({ opened: 0, refused: 256 })
    // Even the genuine data waits for the window to end.
    expect((await post(b, '/api/auth/phone', { ...sealed, platform }, again.token)).status).toBe(429)

    // Another user is not affected.
    const bystander = await loginOn(b, platform)
    const theirs = platform === 'qq' ? qq.encryptPhone('13900002222', { openid: bystander.openid }) : wechat.encryptFor(bystander.openid, JSON.parse(phoneJson(APPID, Math.floor(Date.now() / 1000))))
    expect((await post(a, '/api/auth/phone', { ...theirs, platform }, bystander.token)).status).toBe(200)
  })
})

describe('budgets and defaults', () => {
  test("WeChat's encrypted phone format is refused unless legacyPhone is on; the code path is unaffected", async () => {
    const i = await instance()
    const user = await loginOn(i, 'weixin')
    const sealed = wechat.encryptFor(user.openid, JSON.parse(phoneJson(APPID, Math.floor(Date.now() / 1000))))
    const refused = await post(i, '/api/auth/phone', sealed, user.token)
    expect(refused).toMatchObject({ status: 400, body: { error: 'code_required' } })
    expect(refused.body.message).toMatch(/legacyPhone/)
    expect((await post(i, '/api/auth/phone', { code: wechat.mintPhoneCode('13800138000') }, user.token)).body).toEqual({ phoneNumber: '138****8000' })
    const legacy = await instance({ legacyPhone: true })
    expect((await post(legacy, '/api/auth/phone', sealed, user.token)).body).toEqual({ phoneNumber: '199****1111' })
  })

  test('phone calls are limited per user across instances: the 11th within the hour is 429 with retry-after; another user is not limited', async () => {
    const a = await instance()
    const b = await instance()
    const user = await loginOn(a, 'weixin')
    const statuses: number[] = []
    for (let n = 0; n < 11; n++) statuses.push((await post(n % 2 ? b : a, '/api/auth/phone', { code: wechat.mintPhoneCode('13800138000') }, user.token)).status)
    expect(statuses).toEqual([...Array(10).fill(200), 429])
    const limited = await post(a, '/api/auth/phone', { code: wechat.mintPhoneCode('13800138000') }, user.token)
    expect(limited.body.error).toBe('rate_limited')
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3000)
    const other = await loginOn(b, 'weixin')
    expect((await post(b, '/api/auth/phone', { code: wechat.mintPhoneCode('13800138001') }, other.token)).status).toBe(200)
  })

  test('session keys are kept per host and AppID: the same openid string on WeChat, on QQ and in another app never reads another’s key', async () => {
    const i = await instance({ legacyPhone: true })
    const openid = 'shared-openid-' + uid()
    const onWechat = await loginOn(i, 'weixin', openid)
    const onQq = await loginOn(i, 'qq', openid)
    expect(onQq.userId).not.toBe(onWechat.userId)
    // Each host's data opens with that host's key, for that host's user only.
    const qqData = qq.encryptPhone('13900003333', { openid })
    expect((await post(i, '/api/auth/phone', { ...qqData, platform: 'qq' }, onQq.token)).status).toBe(200)
    expect(await rejection(i.auth.decrypt(onQq.userId, qqData.encryptedData, qqData.iv))).toMatchObject({ code: 'session_key_expired' })
    expect(await rejection(i.auth.decrypt(onWechat.userId, qqData.encryptedData, qqData.iv, { platform: 'qq' }))).toMatchObject({ code: 'session_key_expired' })
    // Another mini program (another AppID) on the same store does not get this app's key.
    const otherApp = await instance({ appid: 'wxanotherapp00001', legacyPhone: true })
    const wxData = wechat.encryptFor(openid, JSON.parse(phoneJson(APPID, Math.floor(Date.now() / 1000))))
    expect(await rejection(otherApp.auth.decrypt(onWechat.userId, wxData.encryptedData, wxData.iv))).toMatchObject({ code: 'session_key_expired' })
    await expect(i.auth.decrypt(onWechat.userId, wxData.encryptedData, wxData.iv)).resolves.toMatchObject({ phoneNumber: '19900001111' })
  })

  test('an Alipay phone response works only from an Alipay session, and only for the first user who sends it', async () => {
    const i = await instance()
    const response = alipay.phoneResponse('15976710001')
    const fromWechat = await loginOn(i, 'weixin')
    expect(await post(i, '/api/auth/phone', { response, platform: 'alipay' }, fromWechat.token)).toMatchObject({ status: 403, body: { error: 'platform_mismatch' } })
    const owner = await loginOn(i, 'alipay')
    expect((await post(i, '/api/auth/phone', { response, platform: 'alipay' }, owner.token)).body).toEqual({ phoneNumber: '159****0001' })
    const other = await loginOn(i, 'alipay')
    expect(await post(i, '/api/auth/phone', { response, platform: 'alipay' }, other.token)).toMatchObject({ status: 409, body: { error: 'phone_response_used' } })
    // The owner may send it again (the same number always gives the same response).
    expect((await post(i, '/api/auth/phone', { response, platform: 'alipay' }, owner.token)).status).toBe(200)
    // The core outside the routes: the session's host comes from the users the store keeps.
    await expect(i.auth.phoneNumber(owner.userId, { platform: 'alipay', response })).resolves.toMatchObject({ phoneNumber: '15976710001' })
    expect(await rejection(i.auth.phoneNumber(fromWechat.userId, { platform: 'alipay', response }))).toMatchObject({ code: 'platform_mismatch' })
  })

  test('two Alipay users racing with one response on two instances: exactly one binds it', async () => {
    const a = await instance()
    const b = await instance()
    const response = alipay.phoneResponse('15976710002')
    const [first, second] = await Promise.all([loginOn(a, 'alipay'), loginOn(b, 'alipay')])
    const answers = await Promise.all([post(a, '/api/auth/phone', { response, platform: 'alipay' }, first.token), post(b, '/api/auth/phone', { response, platform: 'alipay' }, second.token)])
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409])
    expect(answers.find((r) => r.status === 409)?.body.error).toBe('phone_response_used')
  })

  test('the phone number is masked in login and refresh answers, as in every other answer', async () => {
    const i = await instance()
    const user = await loginOn(i, 'weixin')
    await (i.auth.users as StoreUserRepository).updateUser(user.userId, { phoneNumber: '13812345678' })
    const refreshed = await post(i, '/api/auth/refresh', { refreshToken: user.refreshToken })
    expect(refreshed.body.user.phoneNumber).toBe('138****5678')
    const again = await loginOn(i, 'weixin', user.openid)
    expect(again.user.phoneNumber).toBe('138****5678')
    expect(JSON.stringify([refreshed.body, again.user])).not.toContain('13812345678')
  })

  test('a session ends sessionMaxSeconds after its login, however often it is refreshed', async () => {
    let t = Date.now()
    const now = () => t
    const i = await instance({ now, tokenTtlSeconds: 60, refreshTtlSeconds: 120, sessionMaxSeconds: 300 }, memoryStore({ now }))
    const user = await loginOn(i, 'weixin')
    let refreshToken = user.refreshToken
    for (let n = 0; n < 2; n++) {
      t += 100_000
      const r = await post(i, '/api/auth/refresh', { refreshToken })
      expect(r.status).toBe(200)
      refreshToken = r.body.refreshToken
    }
    t += 100_001 // 300 s and a millisecond after the login; the token itself is 100 s old
    const ended = await post(i, '/api/auth/refresh', { refreshToken })
    expect(ended).toMatchObject({ status: 401, body: { error: 'refresh_token_expired' } })
    // A new login starts a new session.
    expect((await post(i, '/api/auth/refresh', { refreshToken: (await loginOn(i, 'weixin', user.openid)).refreshToken })).status).toBe(200)
  })
})
