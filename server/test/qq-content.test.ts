/**
 * QQ's text check (security.msgSecCheck) and QQ's shared access_token (api/getToken), against the
 * fake QQ over real HTTP: through createAuthServer({ providers: { qq } }) after a QQ login, and
 * through the bin's app (POST /api/user/profile: a risky nickname is 422 content_risky and nothing
 * is saved). Several instances share one store (a real Redis, and one memory store): ONE getToken
 * call for all of them, which matters more on QQ than anywhere: every getToken call invalidates
 * the token handed out before. A rejected token (40001, or 42001 once expired) is renewed once and
 * the check retried once; a host that is down, slow, answering HTML or an unknown errCode gives a
 * typed upstream error, never a 500, and never the token in a message.
 */
import type { FastifyInstance } from 'fastify'
import {
  ConfigError,
  UpstreamError,
  WechatApiError,
  createAuthServer,
  memoryStore,
  qqProvider,
  redisStore,
  toHttpBody,
  type AuthServer,
  type AuthServerEvent,
  type AuthServerOptions,
  type ProviderContext,
  type Store,
} from 'weapp-auth-server'
import { createFakeQq, createFakeWechat, type FakeQq, type FakeWechat } from 'weapp-auth-server/testing'
import { buildApp } from '../src/app'
import { rejection } from './helpers/kit'
import { startRedis, type RedisHandle } from './helpers/redis'

const JWT_SECRET = 'qq-content-test-jwt-secret-at-least-32-bytes'
/** The QQ app's AppID, and (on purpose) the WeChat app's too: their tokens must not share a store key. */
const APPID = '1112223334'
const QQ_SECRET = 'qq-content-test-secret-000000000'
const WX_SECRET = 'qq-content-test-wx-secret-0000000'
const QQ_KEY = `qq:${APPID}`

let offset = 0
const clock = () => Date.now() + offset

let qq: FakeQq
let wechat: FakeWechat
let redis: RedisHandle
const stores: Store[] = []
const servers: AuthServer[] = []
const events: AuthServerEvent[] = []

beforeAll(async () => {
  ;[qq, wechat, redis] = await Promise.all([
    createFakeQq({ appid: APPID, secret: QQ_SECRET, now: clock }),
    createFakeWechat({ appid: APPID, secret: WX_SECRET, now: clock }),
    startRedis(),
  ])
})
afterAll(async () => {
  for (const s of servers) await s.close()
  for (const s of stores) await s.close().catch(() => undefined)
  await Promise.all([qq.close(), wechat.close(), redis.stop()])
})
beforeEach(async () => {
  offset += 60_000
  events.length = 0
  qq.clearFaults()
  qq.resetCalls()
  wechat.resetCalls()
  await redis.flushAll()
})

function newStore(kind: 'memory' | 'redis'): Store {
  const store = kind === 'memory' ? memoryStore({ now: clock }) : redisStore(redis.url)
  stores.push(store)
  return store
}

/** One server instance: its own qqProvider (as a separate process would have), on `store`. */
function server(store: Store, qqOptions: Partial<Parameters<typeof qqProvider>[0]> = {}, options: Partial<AuthServerOptions> = {}): AuthServer {
  const auth = createAuthServer({
    appid: APPID,
    secret: WX_SECRET,
    wxApiBase: wechat.url,
    jwt: { secret: JWT_SECRET },
    store,
    now: clock,
    loginRateLimit: false,
    onEvent: (e) => events.push(e),
    providers: { qq: qqProvider({ appid: APPID, secret: QQ_SECRET, apiBase: qq.url, timeoutMs: 1000, ...qqOptions }) },
    ...options,
  })
  servers.push(auth)
  return auth
}

let userSeq = 0
/** A QQ login: the user's id. */
async function qqUser(auth: AuthServer): Promise<string> {
  const { user } = await auth.login({ platform: 'qq', code: qq.mintCode(`qq-openid-${++userSeq}`) })
  return String(user.id)
}

const check = (auth: AuthServer, userId: string, text: string) => auth.checkText(userId, text, 1, { platform: 'qq' })

async function storedToken(store: Store): Promise<string> {
  const cached = await store.getAccessToken(QQ_KEY)
  if (!cached) throw new Error(`no token under ${QQ_KEY}`)
  return cached.token
}

describe('QQ text check through createAuthServer', () => {
  test('pass and risky: one getToken, then MsgSecCheck per check; the token is kept under qq:<appid>, apart from WeChat’s', async () => {
    const store = newStore('memory')
    const auth = server(store)
    const userId = await qqUser(auth)
    expect(await check(auth, userId, '小明')).toEqual({ suggest: 'pass', label: 0 })
    expect(await check(auth, userId, '这是违规昵称')).toEqual({ suggest: 'risky', label: 87014 })
    expect(await check(auth, userId, 'a risky-word here')).toEqual({ suggest: 'risky', label: 87014 })
    expect(qq.calls).toEqual({ jscode2session: 1, getToken: 1, MsgSecCheck: 3 })
    expect(events.filter((e) => e.type === 'access_token')).toEqual([{ type: 'access_token', forced: false }])

    // Same AppID on both hosts: two tokens, two keys; neither host's token is handed to the other.
    const qqToken = await storedToken(store)
    const wxToken = await auth.accessToken()
    expect(wxToken).not.toBe(qqToken)
    expect((await store.getAccessToken(APPID))?.token).toBe(wxToken)
    expect(await storedToken(store)).toBe(qqToken)
    expect(wechat.calls.stable_token).toBe(1)
    expect(await check(auth, userId, '小红')).toEqual({ suggest: 'pass', label: 0 })
    expect(qq.calls.getToken).toBe(1)
  })

  test('provider.accessToken: the shared token, and { force: true } fetches a new one (the old one stops at QQ)', async () => {
    const store = newStore('memory')
    const provider = qqProvider({ appid: APPID, secret: QQ_SECRET, apiBase: qq.url })
    const context: ProviderContext = { nowMs: clock(), now: clock, store, emit: (e) => events.push(e) }
    const first = await provider.accessToken!(context)
    expect(await provider.accessToken!(context)).toBe(first)
    expect(qq.calls.getToken).toBe(1)
    const forced = await provider.accessToken!(context, { force: true })
    expect(forced).not.toBe(first)
    expect(await storedToken(store)).toBe(forced)
    expect(qq.calls.getToken).toBe(2)
    expect(events.filter((e) => e.type === 'access_token')).toEqual([
      { type: 'access_token', forced: false },
      { type: 'access_token', forced: true },
    ])
  })

  test('40 concurrent checks on 4 instances sharing a real Redis: exactly 1 getToken', async () => {
    const instances = Array.from({ length: 4 }, () => server(newStore('redis')))
    const users = await Promise.all(instances.map(qqUser))
    const texts = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? `违规-${i}` : `nick-${i}`))
    const results = await Promise.all(texts.map((text, i) => check(instances[i % 4], users[i % 4], text)))
    expect(results.map((r) => r.suggest)).toEqual(texts.map((t) => (t.startsWith('违规') ? 'risky' : 'pass')))
    expect(qq.calls).toMatchObject({ getToken: 1, MsgSecCheck: 40 })
    expect(events.filter((e) => e.type === 'access_token')).toHaveLength(1)
  })

  test('20 concurrent checks on 3 instances sharing one memory store: exactly 1 getToken', async () => {
    const store = newStore('memory')
    const instances = Array.from({ length: 3 }, () => server(store))
    const userId = await qqUser(instances[0])
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => check(instances[i % 3], userId, `nick-${i}`)))
    expect(results.every((r) => r.suggest === 'pass')).toBe(true)
    expect(qq.calls).toMatchObject({ getToken: 1, MsgSecCheck: 20 })
  })

  test('inside the margin: one instance renews for all (QQ would invalidate the token of a second renewal)', async () => {
    const instances = Array.from({ length: 3 }, () => server(newStore('redis')))
    const userId = await qqUser(instances[0])
    await check(instances[0], userId, 'first')
    const before = await storedToken(stores[stores.length - 1])
    offset += (7200 - 299) * 1000 // 299 s left: inside the default 300 s margin
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => check(instances[i % 3], userId, `nick-${i}`)))
    expect(results.every((r) => r.suggest === 'pass')).toBe(true)
    expect(qq.calls).toMatchObject({ getToken: 2, MsgSecCheck: 13 })
    expect(await storedToken(stores[stores.length - 1])).not.toBe(before)
  })

  test('the token invalidated at QQ (another getToken elsewhere): 40001, exactly one more getToken, the check succeeds', async () => {
    const store = newStore('redis')
    const auth = server(store)
    const userId = await qqUser(auth)
    await check(auth, userId, 'first')
    const old = await storedToken(store)
    qq.invalidateAccessToken()
    expect(await check(auth, userId, '违规')).toEqual({ suggest: 'risky', label: 87014 })
    expect(qq.calls).toMatchObject({ getToken: 2, MsgSecCheck: 3 })
    expect(await storedToken(store)).not.toBe(old)
    expect(events.filter((e) => e.type === 'access_token')).toEqual([
      { type: 'access_token', forced: false },
      { type: 'access_token', forced: true },
    ])
  })

  test('invalidated while 4 instances on Redis check at once: still exactly one more getToken, every check succeeds', async () => {
    const instances = Array.from({ length: 4 }, () => server(newStore('redis')))
    const userId = await qqUser(instances[0])
    await check(instances[0], userId, 'first')
    qq.invalidateAccessToken()
    qq.resetCalls()
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => check(instances[i % 4], userId, `nick-${i}`)))
    expect(results.every((r) => r.suggest === 'pass')).toBe(true)
    expect(qq.calls.getToken).toBe(1)
    expect(qq.calls.MsgSecCheck).toBeGreaterThanOrEqual(17) // each instance saw 40001 at least once
    expect(qq.calls.MsgSecCheck).toBeLessThanOrEqual(32)
  })

  test('an expired token (42001): one new token, one retry, success', async () => {
    const store = newStore('memory')
    const auth = server(store)
    const userId = await qqUser(auth)
    await check(auth, userId, 'first')
    qq.expireAccessTokens()
    expect(await check(auth, userId, 'again')).toEqual({ suggest: 'pass', label: 0 })
    expect(qq.calls).toMatchObject({ getToken: 2, MsgSecCheck: 3 })
  })

  test('rejected again after the renewal: wechat_invalid_credential (502), one renewal only, no loop', async () => {
    const auth = server(newStore('memory'))
    const userId = await qqUser(auth)
    qq.fail('MsgSecCheck', 40001)
    const err = await rejection(check(auth, userId, 'nick'))
    expect(err).toBeInstanceOf(WechatApiError)
    expect(err).toMatchObject({ code: 'wechat_invalid_credential', status: 502, errcode: 40001, host: 'QQ', api: 'api/json/security/MsgSecCheck' })
    expect(qq.calls).toMatchObject({ getToken: 2, MsgSecCheck: 2 })
  })

  test('an unknown errCode: a typed WechatApiError (host QQ, 502), no renewal; -1 is wechat_busy (503)', async () => {
    const store = newStore('memory')
    const auth = server(store)
    const userId = await qqUser(auth)
    qq.fail('MsgSecCheck', 61099, { times: 1 })
    const err = await rejection(check(auth, userId, 'nick'))
    expect(err).toBeInstanceOf(WechatApiError)
    expect(err).toMatchObject({ code: 'wechat_error', status: 502, errcode: 61099, host: 'QQ' })
    expect(toHttpBody(err)).toMatchObject({ status: 502, body: { error: 'wechat_error', errcode: 61099 } })
    qq.fail('MsgSecCheck', -1, { times: 1 })
    expect(await rejection(check(auth, userId, 'nick'))).toMatchObject({ code: 'wechat_busy', status: 503, errcode: -1 })
    expect(qq.calls).toMatchObject({ getToken: 1, MsgSecCheck: 2 })
    expect(events).toContainEqual({ type: 'upstream_error', api: 'api/json/security/MsgSecCheck', code: 'wechat_error' })
    expect(await check(auth, userId, 'nick')).toEqual({ suggest: 'pass', label: 0 })
  })

  test('getToken refused (a wrong AppSecret: QQ’s 40001): a typed error, no check sent', async () => {
    const auth = server(newStore('memory'), { secret: 'not-the-qq-secret-00000000000000' })
    const userId = await qqUser(server(newStore('memory')))
    const err = await rejection(check(auth, userId, 'nick'))
    expect(err).toBeInstanceOf(WechatApiError)
    expect(err).toMatchObject({ code: 'wechat_invalid_credential', status: 502, errcode: 40001, host: 'QQ', api: 'api/getToken' })
    expect(qq.calls).toMatchObject({ getToken: 1, MsgSecCheck: 0 })
  })

  test('QQ down: wechat_unreachable (502) whether the token or the check cannot be reached; back when QQ is', async () => {
    const store = newStore('memory')
    const auth = server(store)
    const userId = await qqUser(auth)
    const fresh = server(newStore('memory'))
    await check(auth, userId, 'first')
    const token = await storedToken(store)
    await qq.stop()
    try {
      const onCheck = await rejection(check(auth, userId, 'nick')) // token cached: MsgSecCheck unreachable
      const onToken = await rejection(check(fresh, userId, 'nick')) // no token yet: getToken unreachable
      for (const err of [onCheck, onToken]) {
        expect(err).toBeInstanceOf(UpstreamError)
        expect(err).toMatchObject({ code: 'wechat_unreachable', status: 502 })
        expect(`${err.message} ${String((err as { cause?: Error }).cause?.message)} ${JSON.stringify(toHttpBody(err))}`).not.toContain(token)
      }
      expect(onCheck).toMatchObject({ api: 'api/json/security/MsgSecCheck' })
      expect(onToken).toMatchObject({ api: 'api/getToken' })
    } finally {
      await qq.start()
    }
    expect(await check(auth, userId, 'nick')).toEqual({ suggest: 'pass', label: 0 })
  })

  test('QQ slower than timeoutMs: wechat_timeout (504), well before QQ would answer', async () => {
    const store = newStore('memory')
    const auth = server(store, { timeoutMs: 300 })
    const userId = await qqUser(auth)
    qq.delay('getToken', 2000, { times: 1 })
    let started = Date.now()
    expect(await rejection(check(auth, userId, 'nick'))).toMatchObject({ name: 'UpstreamError', code: 'wechat_timeout', status: 504, api: 'api/getToken' })
    expect(Date.now() - started).toBeLessThan(1500)
    qq.delay('MsgSecCheck', 2000, { times: 1 })
    started = Date.now()
    const err = await rejection(check(auth, userId, 'nick'))
    expect(err).toMatchObject({ name: 'UpstreamError', code: 'wechat_timeout', status: 504, api: 'api/json/security/MsgSecCheck' })
    expect(Date.now() - started).toBeLessThan(1500)
    expect(err.message).not.toContain(await storedToken(store))
  })

  test('an HTML page instead of JSON: wechat_bad_response (502), for the token and for the check', async () => {
    const auth = server(newStore('memory'))
    const userId = await qqUser(auth)
    qq.html('getToken', { times: 1 })
    expect(await rejection(check(auth, userId, 'nick'))).toMatchObject({ name: 'UpstreamError', code: 'wechat_bad_response', status: 502, api: 'api/getToken' })
    qq.html('MsgSecCheck', { times: 1 })
    expect(await rejection(check(auth, userId, 'nick'))).toMatchObject({ name: 'UpstreamError', code: 'wechat_bad_response', status: 502, api: 'api/json/security/MsgSecCheck' })
    expect(events).toContainEqual({ type: 'upstream_error', api: 'api/json/security/MsgSecCheck', code: 'wechat_bad_response' })
    expect(await check(auth, userId, 'nick')).toEqual({ suggest: 'pass', label: 0 })
  })

  test('options are checked at construction', () => {
    for (const accessTokenMarginSeconds of [-1, 7200, Number.NaN, '60' as unknown as number]) {
      expect(() => qqProvider({ appid: APPID, secret: QQ_SECRET, accessTokenMarginSeconds })).toThrow(ConfigError)
    }
    expect(qqProvider({ appid: APPID, secret: QQ_SECRET }).checkText).toEqual(expect.any(Function))
  })
})

describe('the bin’s app: POST /api/user/profile for a QQ user', () => {
  let app: FastifyInstance
  let base: string
  let store: Store

  beforeAll(async () => {
    store = newStore('memory')
    app = buildApp({ auth: server(store), log: false })
    base = await app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => {
    await app.close()
  })

  async function call(path: string, init: { body?: unknown; token?: string } = {}) {
    const headers: Record<string, string> = {}
    if (init.body !== undefined) headers['content-type'] = 'application/json'
    if (init.token) headers.authorization = 'Bearer ' + init.token
    const res = await fetch(base + path, { method: init.body !== undefined ? 'POST' : 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : undefined, text }
  }

  test('a QQ user: a clean nickname is saved; a risky one is 422 content_risky and nothing is saved', async () => {
    const login = await call('/api/auth/login', { body: { code: qq.mintCode('qq-profile-user'), platform: 'qq' } })
    expect(login.status).toBe(200)
    const { token } = login.json
    const saved = await call('/api/user/profile', { body: { nickName: ' 小明 ' }, token })
    expect(saved).toMatchObject({ status: 200, json: { nickName: '小明', platform: 'qq' } })
    const risky = await call('/api/user/profile', { body: { nickName: '违规昵称', avatarUrl: 'https://cdn.example.com/b.png' }, token })
    expect(risky).toMatchObject({ status: 422, json: { error: 'content_risky' } })
    expect(risky.json.message).toMatch(/87014/)
    const me = await call('/api/user/me', { token })
    expect(me.json).toMatchObject({ nickName: '小明', avatarUrl: '' })
    expect(qq.calls).toMatchObject({ getToken: 1, MsgSecCheck: 2 })
    expect(wechat.calls.msg_sec_check).toBe(0)
  })

  test('QQ down or answering an unknown errCode: a typed 5xx (never 500), nothing saved', async () => {
    const login = await call('/api/auth/login', { body: { code: qq.mintCode('qq-profile-down'), platform: 'qq' } })
    const { token } = login.json
    await qq.stop()
    try {
      const down = await call('/api/user/profile', { body: { nickName: '小刚' }, token })
      expect(down).toMatchObject({ status: 502, json: { error: 'wechat_unreachable' } })
      expect(down.text).not.toMatch(/127\.0\.0\.1|access_token|\n\s+at /)
    } finally {
      await qq.start()
    }
    qq.fail('MsgSecCheck', 61099, { times: 1 })
    const odd = await call('/api/user/profile', { body: { nickName: '小刚' }, token })
    expect(odd).toMatchObject({ status: 502, json: { error: 'wechat_error', errcode: 61099 } })
    expect((await call('/api/user/me', { token })).json.nickName).not.toBe('小刚')
    expect((await call('/api/user/profile', { body: { nickName: '小刚' }, token })).json.nickName).toBe('小刚')
  })
})

describe('the fake QQ keeps QQ’s token and check rules', () => {
  const getToken = async (query: Record<string, string>) => (await (await fetch(`${qq.url}/api/getToken?${new URLSearchParams(query)}`)).json()) as Record<string, any>
  const good = () => ({ grant_type: 'client_credential', appid: APPID, secret: QQ_SECRET })
  async function msgSecCheck(token: string, body: unknown) {
    const res = await fetch(`${qq.url}/api/json/security/MsgSecCheck?access_token=${encodeURIComponent(token)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
    return res.json()
  }

  test('getToken: 7200 s; wrong grant_type 40002, appid 40013, secret 40001; each new token stops the previous one', async () => {
    expect(await getToken({ ...good(), grant_type: 'authorization_code' })).toMatchObject({ errcode: 40002 })
    expect(await getToken({ ...good(), appid: '999' })).toMatchObject({ errcode: 40013 })
    expect(await getToken({ ...good(), secret: 'nope' })).toMatchObject({ errcode: 40001 })
    const first = await getToken(good())
    expect(first).toEqual({ access_token: expect.any(String), expires_in: 7200 })
    expect(await msgSecCheck(first.access_token, { appid: APPID, content: 'hello' })).toEqual({ errCode: 0, errMsg: 'ok' })
    const second = await getToken(good())
    expect(second.access_token).not.toBe(first.access_token)
    expect(await msgSecCheck(first.access_token, { appid: APPID, content: 'hello' })).toEqual({ errCode: 40001, errMsg: expect.any(String) })
    expect(await msgSecCheck(second.access_token, { appid: APPID, content: '违规' })).toEqual({ errCode: 87014, errMsg: 'risky content' })
    expect(qq.calls).toMatchObject({ getToken: 5, MsgSecCheck: 3 })
  })

  test('MsgSecCheck: the body appid must be this app’s, content a string; an expired token 42001, none 41001; controls over HTTP', async () => {
    const { access_token: token } = await getToken(good())
    expect(await msgSecCheck(token, { appid: 'another', content: 'x' })).toMatchObject({ errCode: 40013 })
    expect(await msgSecCheck(token, { appid: APPID })).toMatchObject({ errCode: 47001 })
    expect(await msgSecCheck(token, 'not json')).toMatchObject({ errCode: 47001 })
    expect(await msgSecCheck('', { appid: APPID, content: 'x' })).toMatchObject({ errCode: 41001 })
    expect((await fetch(`${qq.url}/__fake/expire-access-token`, { method: 'POST' })).status).toBe(200)
    expect(await msgSecCheck(token, { appid: APPID, content: 'x' })).toMatchObject({ errCode: 42001 })
    const { access_token: next } = await getToken(good())
    expect(await (await fetch(`${qq.url}/__fake/invalidate-access-token`, { method: 'POST' })).json()).toEqual({ ok: true })
    expect(await msgSecCheck(next, { appid: APPID, content: 'x' })).toMatchObject({ errCode: 40001 })
    qq.fail('MsgSecCheck', 45011, { times: 1 })
    expect(await msgSecCheck(next, { appid: APPID, content: 'x' })).toEqual({ errCode: 45011, errMsg: expect.any(String) })
    qq.fail('getToken', -1, { times: 1 })
    expect(await getToken(good())).toMatchObject({ errcode: -1 })
    expect(await (await fetch(`${qq.url}/__fake/stats`)).json()).toMatchObject({ getToken: 3, MsgSecCheck: 7 })
  })

  test('riskyWords and accessTokenTtlSeconds are options', async () => {
    const custom = await createFakeQq({ appid: APPID, secret: QQ_SECRET, riskyWords: ['banana'], accessTokenTtlSeconds: 60 })
    try {
      const res = (await (await fetch(`${custom.url}/api/getToken?${new URLSearchParams(good())}`)).json()) as Record<string, any>
      expect(res.expires_in).toBe(60)
      const ask = async (content: string) =>
        (await fetch(`${custom.url}/api/json/security/MsgSecCheck?access_token=${res.access_token}`, { method: 'POST', body: JSON.stringify({ appid: APPID, content }) })).json()
      expect(await ask('a banana')).toMatchObject({ errCode: 87014 })
      expect(await ask('违规')).toMatchObject({ errCode: 0 })
    } finally {
      await custom.close()
    }
    await expect(createFakeQq({ riskyWords: [''] })).rejects.toThrow(TypeError)
  })
})
