/**
 * Alipay's text check (alipay.security.risk.content.detect through the signed Open API gateway),
 * through the public API and the bin's app (buildApp, over real HTTP) against the fake Alipay
 * gateway over HTTP: an Alipay login, then `auth.checkText(…, { platform: 'alipay' })` and
 * `POST /api/user/profile` (422 content_risky for a REJECTED nickname, nothing saved; 200 for a
 * PASSED one). And the faults, none of which may turn into a pass or a saved nickname: a tampered,
 * unsigned or re-signed-by-a-stranger answer, an action that is neither REJECTED nor PASSED, the app
 * without the 文本风险识别 ability (40006, with the hint for the operator), Alipay busy, down, slow, or
 * answering a gateway's HTML page.
 */
import { createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { alipayProvider, createAuthServer, type AuthServer, type AlipayProviderOptions } from 'weapp-auth-server'
import { createFakeAlipay, createFakeWechat, type FakeAlipay, type FakeWechat } from 'weapp-auth-server/testing'
import { buildApp } from '../src/app'
import { alipaySignContent, alipayTimestamp } from '../src/providers/alipay'
import { rejection } from './helpers/kit'

const APPID = 'wxalipaycontent01'
const SECRET = 'alipay-content-wx-secret-000000000'
const JWT_SECRET = 'alipay-content-jwt-secret-at-least-32-bytes'
const API = 'alipay.security.risk.content.detect'
const RESPONSE_KEY = 'alipay_security_risk_content_detect_response'
const pem = {
  pkcs8: (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString(),
  spki: (k: KeyObject) => k.export({ format: 'pem', type: 'spki' }).toString(),
}
const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048 })
const alipayKeys = generateKeyPairSync('rsa', { modulusLength: 2048 })
const strangerKeys = generateKeyPairSync('rsa', { modulusLength: 2048 })

let alipay: FakeAlipay
let wechat: FakeWechat
let auth: AuthServer
let app: FastifyInstance
let base: string

/** What the gateway's answers are turned into on their way to the provider (null: untouched), and what the provider was handed. */
let mangle: ((text: string) => string) | null = null
const received: string[] = []
const wire: typeof fetch = async (input, init) => {
  const res = await fetch(input, init)
  const text = await res.text()
  const sent = mangle ? mangle(text) : text
  received.push(sent)
  return new Response(sent, { status: res.status, headers: res.headers })
}

const providerOptions = (extra: Partial<AlipayProviderOptions> = {}): AlipayProviderOptions => ({
  appId: alipay.appId,
  privateKey: pem.pkcs8(appKeys.privateKey),
  alipayPublicKey: alipay.alipayPublicKey,
  gateway: alipay.gateway,
  timeoutMs: 400,
  fetch: wire,
  ...extra,
})

beforeAll(async () => {
  ;[alipay, wechat] = await Promise.all([
    createFakeAlipay({ appPublicKey: pem.spki(appKeys.publicKey), alipayPrivateKey: pem.pkcs8(alipayKeys.privateKey) }),
    createFakeWechat({ appid: APPID, secret: SECRET }),
  ])
  auth = createAuthServer({
    appid: APPID,
    secret: SECRET,
    jwt: { secret: JWT_SECRET },
    wxApiBase: wechat.url,
    loginRateLimit: false,
    providers: { alipay: alipayProvider(providerOptions()) },
  })
  app = buildApp({ auth, log: false })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app?.close()
  await auth?.close()
  await Promise.all([alipay?.close(), wechat?.close()])
})

afterEach(async () => {
  mangle = null
  received.length = 0
  alipay.clearFaults()
  // Every test's Alipay users stayed on Alipay: nothing went to WeChat.
  expect(wechat.calls.msg_sec_check + wechat.calls.jscode2session).toBe(0)
})

const uid = () => randomBytes(6).toString('hex')

async function call(path: string, init: { body?: unknown; token?: string } = {}): Promise<{ status: number; json: Record<string, any> }> {
  const headers: Record<string, string> = {}
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  if (init.token) headers.authorization = 'Bearer ' + init.token
  const res = await fetch(base + path, { method: init.body === undefined ? 'GET' : 'POST', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) })
  const text = await res.text()
  expect(text).not.toMatch(/\n\s+at |open_?id|sign"/i)
  return { status: res.status, json: text ? JSON.parse(text) : {} }
}

/** A user logged in on Alipay through the bin's app, with a nickname of their own already saved. */
async function alipayUser(): Promise<{ token: string; userId: string; nick: string }> {
  const login = await call('/api/auth/login', { body: { code: alipay.mintCode('alipay-' + uid()), platform: 'alipay' } })
  expect(login.status).toBe(200)
  const nick = '旧名' + uid().slice(0, 4)
  const saved = await call('/api/user/profile', { body: { nickName: nick }, token: login.json.token })
  expect(saved).toMatchObject({ status: 200, json: { nickName: nick, platform: 'alipay' } })
  return { token: login.json.token, userId: String(login.json.user.id), nick }
}

async function nickOf(token: string): Promise<string> {
  const me = await call('/api/user/me', { token })
  expect(me.status).toBe(200)
  return me.json.nickName
}

/** The gateway's answer with its response member replaced by `edit(response)`, signed again with `key`. */
function resigned(text: string, edit: (response: Record<string, unknown>) => Record<string, unknown>, key: KeyObject = alipayKeys.privateKey): string {
  const body = JSON.parse(text) as Record<string, Record<string, unknown>>
  if (!body[RESPONSE_KEY]) return text
  const value = JSON.stringify(edit(body[RESPONSE_KEY]))
  return `{"${RESPONSE_KEY}":${value},"sign":"${createSign('RSA-SHA256').update(value, 'utf8').sign(key, 'base64')}"}`
}

describe('auth.checkText on an Alipay session: alipay.security.risk.content.detect, signed both ways', () => {
  test('PASSED → pass, REJECTED → risky (label 0), traceId = unique_id; routed on the session without being told', async () => {
    const login = await auth.login({ platform: 'alipay', code: alipay.mintCode('alipay-check-' + uid()) })
    const userId = String(login.user.id)
    alipay.resetCalls()
    const clean = await auth.checkText(userId, '今天天气不错', 1, { platform: 'alipay' })
    expect(clean).toEqual({ suggest: 'pass', label: 0, traceId: expect.stringMatching(/^[0-9a-f]{30}$/) })
    expect(JSON.parse(received.at(-1)!)[RESPONSE_KEY]).toMatchObject({ code: '10000', action: 'PASSED', keywords: [], unique_id: clean.traceId })
    const risky = await auth.checkText(userId, '这是违规内容', 1, { platform: 'alipay' })
    expect(risky).toEqual({ suggest: 'risky', label: 0, traceId: expect.stringMatching(/^[0-9a-f]{30}$/) })
    expect(risky.traceId).not.toBe(clean.traceId)
    expect(JSON.parse(received.at(-1)!)[RESPONSE_KEY]).toMatchObject({ action: 'REJECTED', keywords: ['违规'] })
    // Without a context the core takes the user's own host (the default users keep it): still Alipay.
    await expect(auth.checkText(userId, 'a risky-word here')).resolves.toMatchObject({ suggest: 'risky' })
    expect(alipay.calls).toEqual({ oauth_token: 0, content_detect: 3 })
    expect(auth.checksText('alipay')).toBe(true)
  })

  test('the text is signed and checked as sent: quotes, &, =, +, %, newlines and emoji survive the form encoding and the signature', async () => {
    const { user } = await auth.login({ platform: 'alipay', code: alipay.mintCode('alipay-chars-' + uid()) })
    for (const text of ['a&b=c+d%20 "引号" \\ \n😀', '{"content":"x"}&sign=forged']) {
      await expect(auth.checkText(String(user.id), text, 1, { platform: 'alipay' })).resolves.toMatchObject({ suggest: 'pass' })
      await expect(auth.checkText(String(user.id), text + ' 违规', 1, { platform: 'alipay' })).resolves.toMatchObject({ suggest: 'risky' })
    }
    // Up to the core's limit (2500 characters), and not beyond it (refused before Alipay).
    alipay.resetCalls()
    await expect(auth.checkText(String(user.id), '好'.repeat(2500), 1, { platform: 'alipay' })).resolves.toMatchObject({ suggest: 'pass' })
    expect((await rejection(auth.checkText(String(user.id), '好'.repeat(2501), 1, { platform: 'alipay' }))).code).toBe('bad_request')
    expect(alipay.calls.content_detect).toBe(1)
  })

  test('a request signed with a key Alipay does not know is refused by the gateway (40002 isv.invalid-signature → 502)', async () => {
    const stranger = alipayProvider(providerOptions({ privateKey: pem.pkcs8(strangerKeys.privateKey) }))
    const err = await rejection(stranger.checkText!({ text: '你好', scene: 1 }, undefined as never))
    expect(err).toMatchObject({ code: 'wechat_invalid_credential', status: 502, errcode: 40002, api: API, host: 'Alipay', errmsg: 'isv.invalid-signature 无效签名' })
  })
})

describe('POST /api/user/profile on an Alipay session (the bin’s app)', () => {
  test('a REJECTED nickname is 422 content_risky and not saved; a PASSED one is saved', async () => {
    const user = await alipayUser()
    alipay.resetCalls()
    const risky = await call('/api/user/profile', { body: { nickName: '违规昵称' }, token: user.token })
    expect(risky).toMatchObject({ status: 422, json: { error: 'content_risky' } })
    expect(await nickOf(user.token)).toBe(user.nick)
    const clean = await call('/api/user/profile', { body: { nickName: '  小明 ' }, token: user.token })
    expect(clean).toMatchObject({ status: 200, json: { id: user.userId, nickName: '小明', platform: 'alipay' } })
    expect(await nickOf(user.token)).toBe('小明')
    expect(alipay.calls).toEqual({ oauth_token: 0, content_detect: 2 })
    // Only the nickname is checked: an avatar alone goes nowhere near Alipay.
    expect((await call('/api/user/profile', { body: { avatarUrl: 'https://cdn.example.com/a.png' }, token: user.token })).status).toBe(200)
    expect(alipay.calls.content_detect).toBe(2)
  })
})

describe('answers that must not be believed: typed errors, never a pass, nothing saved', () => {
  test('tampered on the way (REJECTED turned into PASSED under Alipay’s signature of the original) → 502 wechat_bad_response', async () => {
    const user = await alipayUser()
    alipay.tamper({ times: 2 })
    const err = await rejection(auth.checkText(user.userId, '违规内容', 1, { platform: 'alipay' }))
    expect(err).toMatchObject({ code: 'wechat_bad_response', status: 502, api: API })
    expect(err.message).toMatch(/signature that does not verify with alipayPublicKey/)
    // It really was the dangerous change: the provider was handed a PASSED verdict.
    expect(JSON.parse(received.at(-1)!)[RESPONSE_KEY]).toMatchObject({ action: 'PASSED', keywords: ['违规'] })
    const r = await call('/api/user/profile', { body: { nickName: '违规昵称' }, token: user.token })
    expect(r).toMatchObject({ status: 502, json: { error: 'wechat_bad_response' } })
    expect(await nickOf(user.token)).toBe(user.nick)
  })

  test('unsigned, or signed by someone other than Alipay → 502 wechat_bad_response', async () => {
    const user = await alipayUser()
    mangle = (text) => text.replace(/,"sign":"[^"]*"/, '')
    const unsigned = await rejection(auth.checkText(user.userId, '违规', 1, { platform: 'alipay' }))
    expect(unsigned).toMatchObject({ code: 'wechat_bad_response', api: API, message: expect.stringMatching(/without a signature/) })
    expect(received.at(-1)).not.toMatch(/"sign"/)
    expect((await call('/api/user/profile', { body: { nickName: '违规昵称' }, token: user.token })).json.error).toBe('wechat_bad_response')
    mangle = (text) => resigned(text, (r) => ({ ...r, action: 'PASSED', keywords: [] }), strangerKeys.privateKey)
    expect(await rejection(auth.checkText(user.userId, '违规', 1, { platform: 'alipay' }))).toMatchObject({ code: 'wechat_bad_response', api: API })
    expect((await call('/api/user/profile', { body: { nickName: '违规昵称' }, token: user.token })).json.error).toBe('wechat_bad_response')
    expect(await nickOf(user.token)).toBe(user.nick)
  })

  test.each([
    ['no action', (r: Record<string, unknown>) => ({ code: r.code, msg: r.msg, unique_id: r.unique_id }), /without an action/],
    ['an unknown action', (r: Record<string, unknown>) => ({ ...r, action: 'REVIEW' }), /the action "REVIEW", neither REJECTED nor PASSED/],
    ['a lower-case action', (r: Record<string, unknown>) => ({ ...r, action: 'passed' }), /the action "passed"/],
    ['action null', (r: Record<string, unknown>) => ({ ...r, action: null }), /the action null/],
  ])('a genuinely signed answer with %s → 502 wechat_bad_response, never a pass', async (_name, edit, message) => {
    const user = await alipayUser()
    mangle = (text) => resigned(text, edit)
    const err = await rejection(auth.checkText(user.userId, '普通文本', 1, { platform: 'alipay' }))
    expect(err).toMatchObject({ code: 'wechat_bad_response', status: 502, api: API, message: expect.stringMatching(message) })
    expect((await call('/api/user/profile', { body: { nickName: '新名字' }, token: user.token })).json.error).toBe('wechat_bad_response')
    expect(await nickOf(user.token)).toBe(user.nick)
  })

  test('a code other than 10000 inside a signed response is the host’s error, not a verdict', async () => {
    const user = await alipayUser()
    mangle = (text) => resigned(text, (r) => ({ ...r, code: '40004', msg: 'Business Failed', sub_code: 'SYSTEM_ERROR', sub_msg: '系统异常' }))
    expect(await rejection(auth.checkText(user.userId, '普通文本', 1, { platform: 'alipay' }))).toMatchObject({ code: 'wechat_error', status: 502, errcode: 40004, errmsg: 'SYSTEM_ERROR 系统异常' })
  })
})

describe('Alipay refusing or failing: typed errors, nothing saved, the login path untouched', () => {
  test('the app lacks the 文本风险识别 ability (40006 isv.insufficient-isv-permissions) → 502 wechat_invalid_credential telling the operator what to add', async () => {
    const user = await alipayUser()
    alipay.fail('content_detect', 'isv.insufficient-isv-permissions')
    const err = await rejection(auth.checkText(user.userId, '你好', 1, { platform: 'alipay' }))
    expect(err).toMatchObject({ code: 'wechat_invalid_credential', status: 502, errcode: 40006, api: API, host: 'Alipay' })
    expect(err.message).toMatch(/^Alipay alipay\.security\.risk\.content\.detect answered errcode 40006: isv\.insufficient-isv-permissions .*文本风险识别.*open platform console/)
    const r = await call('/api/user/profile', { body: { nickName: '小红' }, token: user.token })
    expect(r).toMatchObject({ status: 502, json: { error: 'wechat_invalid_credential', errcode: 40006, message: expect.stringMatching(/文本风险识别/) } })
    expect(await nickOf(user.token)).toBe(user.nick)
    // The fault is the content check's alone: logins still work.
    expect((await call('/api/auth/login', { body: { code: alipay.mintCode('alipay-' + uid()), platform: 'alipay' } })).status).toBe(200)
  })

  test('the permission hint is for that failure only: other gateway errors read as they are', async () => {
    const user = await alipayUser()
    alipay.fail('content_detect', 'isp.unknow-error', { times: 1 })
    const busy = await rejection(auth.checkText(user.userId, '你好', 1, { platform: 'alipay' }))
    expect(busy).toMatchObject({ code: 'wechat_busy', status: 503, errcode: 20000, errmsg: 'isp.unknow-error 服务暂不可用' })
    alipay.fail('content_detect', 'isv.invalid-app-id', { times: 1 })
    expect(await rejection(auth.checkText(user.userId, '你好', 1, { platform: 'alipay' }))).toMatchObject({ code: 'wechat_invalid_credential', errcode: 40002 })
    await expect(auth.checkText(user.userId, '你好', 1, { platform: 'alipay' })).resolves.toMatchObject({ suggest: 'pass' })
  })

  test('Alipay down, slow, or a gateway’s HTML page → wechat_unreachable / wechat_timeout / wechat_bad_response, nothing saved', async () => {
    const user = await alipayUser()
    const attempt = () => call('/api/user/profile', { body: { nickName: '新名字' }, token: user.token })

    alipay.html('content_detect', { times: 2 })
    expect(await rejection(auth.checkText(user.userId, '你好', 1, { platform: 'alipay' }))).toMatchObject({ code: 'wechat_bad_response', status: 502, message: expect.stringMatching(/HTTP 502 with something that is not JSON/) })
    expect(await attempt()).toMatchObject({ status: 502, json: { error: 'wechat_bad_response' } })

    alipay.delay('content_detect', 1500, { times: 2 })
    const slow = await rejection(auth.checkText(user.userId, '你好', 1, { platform: 'alipay' }))
    expect(slow).toMatchObject({ code: 'wechat_timeout', status: 504, message: `Alipay ${API} did not answer within 400 ms` })
    expect(await attempt()).toMatchObject({ status: 504, json: { error: 'wechat_timeout' } })

    await alipay.stop()
    try {
      expect(await rejection(auth.checkText(user.userId, '你好', 1, { platform: 'alipay' }))).toMatchObject({ code: 'wechat_unreachable', status: 502 })
      expect(await attempt()).toMatchObject({ status: 502, json: { error: 'wechat_unreachable' } })
    } finally {
      await alipay.start()
    }
    expect(await nickOf(user.token)).toBe(user.nick)
    // Back up: the same request goes through.
    expect((await attempt()).status).toBe(200)
    expect(await nickOf(user.token)).toBe('新名字')
  })
})

describe('the fake gateway’s content.detect', () => {
  test('per-method counts and faults, its own risky words, biz_content required', async () => {
    const fake = await createFakeAlipay({ appPublicKey: pem.spki(appKeys.publicKey), alipayPrivateKey: pem.pkcs8(alipayKeys.privateKey), riskyWords: ['博彩'] })
    try {
      const provider = alipayProvider(providerOptions({ gateway: fake.gateway, alipayPublicKey: fake.alipayPublicKey }))
      await expect(provider.checkText!({ text: '违规', scene: 1 }, undefined as never)).resolves.toMatchObject({ suggest: 'pass' })
      await expect(provider.checkText!({ text: '线上博彩', scene: 1 }, undefined as never)).resolves.toMatchObject({ suggest: 'risky' })
      fake.fail('oauth_token', 'isp.unknow-error')
      await expect(provider.checkText!({ text: 'ok', scene: 1 }, undefined as never)).resolves.toMatchObject({ suggest: 'pass' })
      expect(fake.calls).toEqual({ oauth_token: 0, content_detect: 3 })
      expect(() => fake.fail('nope' as never, 'isp.unknow-error')).toThrow(/api must be one of oauth_token, content_detect/)
      await expect(createFakeAlipay({ appPublicKey: pem.spki(appKeys.publicKey), riskyWords: [''] })).rejects.toThrow(/riskyWords/)
      expect(await rejection(provider.checkText!({ text: '', scene: 1 }, undefined as never))).toMatchObject({ code: 'bad_request' })
      expect(fake.calls.content_detect).toBe(3)

      // A correctly signed request (the method in the form body) without biz_content, or with no content in it.
      const post = async (business: Record<string, string>) => {
        const params: Record<string, string> = { app_id: fake.appId, method: API, format: 'JSON', charset: 'utf-8', sign_type: 'RSA2', timestamp: alipayTimestamp(Date.now()), version: '1.0', ...business }
        params.sign = createSign('RSA-SHA256').update(alipaySignContent(params), 'utf8').sign(appKeys.privateKey, 'base64')
        const res = await fetch(fake.gateway, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' }, body: new URLSearchParams(params).toString() })
        return JSON.parse(await res.text()) as Record<string, Record<string, unknown>>
      }
      for (const business of [{}, { biz_content: '{"text":"x"}' }, { biz_content: 'not json' }] as Array<Record<string, string>>) {
        expect((await post(business)).error_response).toMatchObject({ code: '40002', sub_code: 'isv.invalid-parameter' })
      }
      expect((await post({ biz_content: '{"content":"x"}' }))[RESPONSE_KEY]).toMatchObject({ code: '10000', action: 'PASSED' })
      expect(fake.calls.content_detect).toBe(7)
    } finally {
      await fake.close()
    }
  })
})
