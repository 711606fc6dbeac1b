/**
 * The fake WeChat API, driven over real HTTP with fetch, as the server core and the adapters use it:
 * WeChat's rules (single-use codes, 5-minute expiry, stable_token's modes and limits, the classic
 * token's overlap, 40001/42001), the open-ability APIs, and the test controls (faults, stop/start,
 * counts, the standalone process).
 */
import { spawn } from 'node:child_process'
import { createDecipheriv } from 'node:crypto'
import { join } from 'node:path'
import { createFakeWechat, type FakeWechat, type FakeWechatOptions } from '../src/testing'

const T0 = Date.UTC(2026, 0, 5, 2, 0, 0) // 10:00 in Beijing
const MIN = 60 * 1000

interface Answer {
  status: number
  body: any // eslint-disable-line @typescript-eslint/no-explicit-any
}

let clock = T0
let fake: FakeWechat
const extra: FakeWechat[] = []

async function start(options: FakeWechatOptions = {}): Promise<FakeWechat> {
  const f = await createFakeWechat({ now: () => clock, ...options })
  extra.push(f)
  return f
}

beforeEach(async () => {
  clock = T0
  fake = await start()
})

afterEach(async () => {
  await Promise.all(extra.splice(0).map((f) => f.close()))
})

async function get(path: string, f: FakeWechat = fake): Promise<Answer> {
  const res = await fetch(f.url + path)
  return { status: res.status, body: await res.json() }
}

async function post(path: string, body: unknown, f: FakeWechat = fake): Promise<Answer> {
  const res = await fetch(f.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}

function exchange(code: string, f: FakeWechat = fake, overrides: Record<string, string | undefined> = {}): Promise<Answer> {
  const params: Record<string, string | undefined> = { appid: f.appid, secret: f.secret, js_code: code, grant_type: 'authorization_code', ...overrides }
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v)
  return get('/sns/jscode2session?' + q, f)
}

function stableToken(f: FakeWechat = fake, extraBody: Record<string, unknown> = {}): Promise<Answer> {
  return post('/cgi-bin/stable_token', { grant_type: 'client_credential', appid: f.appid, secret: f.secret, ...extraBody }, f)
}

function classicToken(f: FakeWechat = fake): Promise<Answer> {
  return get(`/cgi-bin/token?grant_type=client_credential&appid=${f.appid}&secret=${encodeURIComponent(f.secret)}`, f)
}

function phone(accessToken: string | undefined, code: string, f: FakeWechat = fake): Promise<Answer> {
  const q = accessToken === undefined ? '' : '?access_token=' + encodeURIComponent(accessToken)
  return post('/wxa/business/getuserphonenumber' + q, { code }, f)
}

function secCheck(accessToken: string, body: Record<string, unknown>, f: FakeWechat = fake): Promise<Answer> {
  return post('/wxa/msg_sec_check?access_token=' + encodeURIComponent(accessToken), body, f)
}

/** Whether WeChat accepts this access_token right now: 0, or the errcode getuserphonenumber answers. */
async function tokenState(accessToken: string, f: FakeWechat = fake): Promise<number> {
  const { body } = await phone(accessToken, f.mintPhoneCode('13800138000'), f)
  return body.errcode
}

async function login(openid: string, f: FakeWechat = fake): Promise<string> {
  const { body } = await exchange(f.mintCode(openid), f)
  expect(body.openid).toBe(openid)
  return body.session_key
}

describe('code2Session (GET /sns/jscode2session)', () => {
  test('a minted code gives openid and a fresh 16-byte session_key, without errcode', async () => {
    const { status, body } = await exchange(fake.mintCode('o-alice'))
    expect(status).toBe(200)
    expect(Object.keys(body).sort()).toEqual(['openid', 'session_key'])
    expect(body.openid).toBe('o-alice')
    expect(Buffer.from(body.session_key, 'base64')).toHaveLength(16)
    expect(fake.sessionKeyOf('o-alice')).toBe(body.session_key)

    const again = await exchange(fake.mintCode('o-alice'))
    expect(again.body.session_key).not.toBe(body.session_key)
    expect(fake.sessionKeyOf('o-alice')).toBe(again.body.session_key)
    expect(fake.sessionKeyOf('o-nobody')).toBeUndefined()
  })

  test('unionid comes back only when the code was minted with one (Open Platform binding), and stays bound', async () => {
    const bound = await exchange(fake.mintCode('o-bound', { unionid: 'u-1' }))
    expect(bound.body.unionid).toBe('u-1')
    expect((await exchange(fake.mintCode('o-bound'))).body.unionid).toBe('u-1')
    expect((await exchange(fake.mintCode('o-free'))).body).not.toHaveProperty('unionid')
  })

  test('a code works once: the second use answers 40163, an unknown code 40029, both with HTTP 200', async () => {
    const code = fake.mintCode('o-alice')
    expect((await exchange(code)).body.openid).toBe('o-alice')
    const reused = await exchange(code)
    expect(reused.status).toBe(200)
    expect(reused.body).toEqual({ errcode: 40163, errmsg: expect.stringMatching(/^code been used/) })
    expect((await exchange('never-minted-code')).body.errcode).toBe(40029)
  })

  test('of 20 concurrent exchanges of one code exactly one succeeds', async () => {
    const code = fake.mintCode('o-race')
    const answers = await Promise.all(Array.from({ length: 20 }, () => exchange(code)))
    expect(answers.filter((a) => a.body.openid === 'o-race')).toHaveLength(1)
    expect(answers.filter((a) => a.body.errcode === 40163)).toHaveLength(19)
  })

  test('a code expires 5 minutes after it was minted (40029), and works up to then', async () => {
    const early = fake.mintCode('o-alice')
    const late = fake.mintCode('o-alice')
    clock += 5 * MIN
    expect((await exchange(early)).body.openid).toBe('o-alice')
    clock += 1
    expect((await exchange(late)).body.errcode).toBe(40029)
  })

  test('codeTtlMs changes the expiry', async () => {
    const quick = await start({ codeTtlMs: 1000 })
    const code = quick.mintCode('o-q')
    clock += 1001
    expect((await exchange(code, quick)).body.errcode).toBe(40029)
  })

  test.each([
    [{ appid: undefined }, 41002],
    [{ appid: 'wxsomeoneelse0001' }, 40013],
    [{ secret: undefined }, 41004],
    [{ secret: 'wrong-secret' }, 40125],
    [{ js_code: undefined }, 41008],
    [{ grant_type: 'client_credential' }, 40002],
  ])('bad parameters %j answer %i and leave the code unused', async (overrides, errcode) => {
    const code = fake.mintCode('o-alice')
    expect((await exchange(code, fake, overrides)).body.errcode).toBe(errcode)
    expect((await exchange(code)).body.openid).toBe('o-alice')
  })

  test('POST is refused with 43001 (require GET)', async () => {
    expect((await post('/sns/jscode2session', {})).body.errcode).toBe(43001)
  })

  test('acceptAnyCode: any unknown code of the right shape works once, for an openid derived from the code minus its last -segment', async () => {
    const any = await start({ acceptAnyCode: true })
    const a1 = await exchange('alice-1', any)
    const a2 = await exchange('alice-2', any)
    const b1 = await exchange('bob-1', any)
    expect(a1.body.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/)
    expect(a2.body.openid).toBe(a1.body.openid)
    expect(b1.body.openid).not.toBe(a1.body.openid)
    expect((await exchange('alice-1', any)).body.errcode).toBe(40163)
    expect((await exchange('abc', any)).body.errcode).toBe(40029) // too short
    expect((await exchange('has space', any)).body.errcode).toBe(40029)
    expect((await exchange('x'.repeat(129), any)).body.errcode).toBe(40029)
    // Minted codes keep their own openid and rules alongside.
    expect((await exchange(any.mintCode('o-minted'), any)).body.openid).toBe('o-minted')
    // Without the option the same code is unknown.
    expect((await exchange('alice-3')).body.errcode).toBe(40029)
  })

  test('POST /__fake/codes mints a code for another process; bad input is a 400 JSON error', async () => {
    const minted = await post('/__fake/codes', { openid: 'o-remote', unionid: 'u-remote' })
    expect(minted.status).toBe(200)
    const { body } = await exchange(minted.body.code)
    expect(body).toMatchObject({ openid: 'o-remote', unionid: 'u-remote' })
    expect(await post('/__fake/codes', {})).toEqual({ status: 400, body: { error: 'bad_request', message: expect.stringContaining('openid') } })
    expect(await post('/__fake/codes', '{not json')).toEqual({ status: 400, body: { error: 'invalid_json', message: expect.any(String) } })
  })

  test('mintCode refuses a missing openid', () => {
    expect(() => fake.mintCode('')).toThrow(TypeError)
  })
})

describe('getStableAccessToken (POST /cgi-bin/stable_token)', () => {
  test('normal mode returns the current token while it is valid, with its remaining expires_in', async () => {
    const first = await stableToken()
    expect(first.body).toEqual({ access_token: expect.any(String), expires_in: 7200 })
    clock += 10 * MIN
    const second = await stableToken()
    expect(second.body).toEqual({ access_token: first.body.access_token, expires_in: 7200 - 600 })
    expect(await tokenState(first.body.access_token)).toBe(0)
  })

  test('with less than 5 minutes left, normal mode renews; the old token works until its own end (the overlap), then 42001', async () => {
    const old = (await stableToken()).body.access_token
    clock += 7200 * 1000 - 5 * MIN + 1000 // 4 min 59 s left
    const renewed = await stableToken()
    expect(renewed.body.access_token).not.toBe(old)
    expect(renewed.body.expires_in).toBe(7200)
    expect(await tokenState(old)).toBe(0)
    expect(await tokenState(renewed.body.access_token)).toBe(0)
    clock += 5 * MIN
    expect(await tokenState(old)).toBe(42001)
    expect(await tokenState(renewed.body.access_token)).toBe(0)
    expect((await stableToken()).body.access_token).toBe(renewed.body.access_token)
  })

  test('force_refresh mints a new token and the previous one stops at once (40001); a normal call then returns the new one', async () => {
    const old = (await stableToken()).body.access_token
    const forced = await stableToken(fake, { force_refresh: true })
    expect(forced.body.access_token).not.toBe(old)
    expect(forced.body.expires_in).toBe(7200)
    expect(await tokenState(old)).toBe(40001)
    expect(await tokenState(forced.body.access_token)).toBe(0)
    expect((await stableToken()).body.access_token).toBe(forced.body.access_token)
  })

  test('50 concurrent normal calls after an expiry all get the same single new token', async () => {
    const old = (await stableToken()).body.access_token
    fake.expireAccessTokens()
    const answers = await Promise.all(Array.from({ length: 50 }, () => stableToken()))
    const issued = new Set(answers.map((a) => a.body.access_token))
    expect(issued.size).toBe(1)
    expect(issued.has(old)).toBe(false)
    expect(await tokenState([...issued][0])).toBe(0)
  })

  test('a force within 30 s of the previous one does not refresh; after 30 s it does', async () => {
    const first = (await stableToken(fake, { force_refresh: true })).body.access_token
    clock += 29_999
    expect((await stableToken(fake, { force_refresh: true })).body.access_token).toBe(first)
    expect(await tokenState(first)).toBe(0)
    clock += 1
    const second = (await stableToken(fake, { force_refresh: true })).body.access_token
    expect(second).not.toBe(first)
    expect(await tokenState(first)).toBe(40001)
    expect(fake.calls.stable_token_forced).toBe(3)
  })

  test('at most 20 forced refreshes a day: the 21st answers 45009 and leaves the token alone; the next Beijing day allows 20 again', async () => {
    // 2026-01-05 00:05 Beijing time
    clock = Date.UTC(2026, 0, 4, 16, 5, 0)
    const tokens = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const { body } = await stableToken(fake, { force_refresh: true })
      expect(body.errcode).toBeUndefined()
      tokens.add(body.access_token)
      clock += 31_000
    }
    expect(tokens.size).toBe(20)
    const last = [...tokens][19]
    const refused = await stableToken(fake, { force_refresh: true })
    expect(refused.body).toEqual({ errcode: 45009, errmsg: expect.stringMatching(/^reach max api daily quota limit/) })
    expect(await tokenState(last)).toBe(0)
    expect((await stableToken()).body.access_token).toBe(last)
    // Midnight in Beijing is 16:00 UTC: a new day.
    clock = Date.UTC(2026, 0, 5, 16, 0, 0)
    const tomorrow = await stableToken(fake, { force_refresh: true })
    expect(tomorrow.body.access_token).toEqual(expect.any(String))
    expect(tomorrow.body.access_token).not.toBe(last)
  })

  test.each([
    [{ grant_type: 'authorization_code' }, 40002],
    [{ appid: undefined }, 41002],
    [{ appid: 'wxsomeoneelse0001' }, 40013],
    [{ secret: undefined }, 41004],
    [{ secret: 'wrong' }, 40125],
  ])('bad credentials %j answer %i', async (overrides, errcode) => {
    const body: Record<string, unknown> = { grant_type: 'client_credential', appid: fake.appid, secret: fake.secret, ...overrides }
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k]
    expect((await post('/cgi-bin/stable_token', body)).body.errcode).toBe(errcode)
  })

  test('a body that is not JSON answers 47001, an empty one 44002, GET 43002', async () => {
    expect((await post('/cgi-bin/stable_token', 'grant_type=client_credential')).body.errcode).toBe(47001)
    expect((await post('/cgi-bin/stable_token', '')).body.errcode).toBe(44002)
    expect((await get('/cgi-bin/stable_token')).body.errcode).toBe(43002)
  })
})

describe('getAccessToken (GET /cgi-bin/token)', () => {
  test('every call returns a new token; the previous one works 5 more minutes, then 42001', async () => {
    const a = (await classicToken()).body
    expect(a).toEqual({ access_token: expect.any(String), expires_in: 7200 })
    clock += MIN
    const b = (await classicToken()).body.access_token
    expect(b).not.toBe(a.access_token)
    clock += 5 * MIN - 1
    expect(await tokenState(a.access_token)).toBe(0)
    clock += 1
    expect(await tokenState(a.access_token)).toBe(42001)
    expect(await tokenState(b)).toBe(0)
  })

  test('classic and stable tokens are isolated from each other', async () => {
    const stable = (await stableToken()).body.access_token
    const classic = (await classicToken()).body.access_token
    await classicToken()
    await classicToken()
    clock += 6 * MIN
    expect(await tokenState(stable)).toBe(0)
    expect(await tokenState(classic)).toBe(42001)
    expect((await stableToken()).body.access_token).toBe(stable)
  })

  test('wrong secret answers 40125, wrong grant_type 40002', async () => {
    expect((await get(`/cgi-bin/token?grant_type=client_credential&appid=${fake.appid}&secret=nope`)).body.errcode).toBe(40125)
    expect((await get(`/cgi-bin/token?grant_type=x&appid=${fake.appid}&secret=${fake.secret}`)).body.errcode).toBe(40002)
  })
})

describe('access_token checks: 40001 / 42001 / 41001', () => {
  test('expireAccessTokens(): every current token answers 42001 now; the next normal stable_token call gives a working new one', async () => {
    const stable = (await stableToken()).body.access_token
    const classic = (await classicToken()).body.access_token
    fake.expireAccessTokens()
    expect(await tokenState(stable)).toBe(42001)
    expect(await tokenState(classic)).toBe(42001)
    const fresh = await stableToken()
    expect(fresh.body.access_token).not.toBe(stable)
    expect(fresh.body.expires_in).toBe(7200)
    expect(await tokenState(fresh.body.access_token)).toBe(0)
    expect(fake.calls.stable_token).toBe(2)
  })

  test('POST /__fake/expire-access-token does the same for another process', async () => {
    const stable = (await stableToken()).body.access_token
    expect(await post('/__fake/expire-access-token', {})).toEqual({ status: 200, body: { ok: true } })
    expect((await secCheck(stable, { version: 2, openid: 'x', scene: 1, content: 'hi' })).body.errcode).toBe(42001)
  })

  test('a token past its 7200 s answers 42001; garbage 40001; none 41001', async () => {
    const stable = (await stableToken()).body.access_token
    clock += 7200 * 1000
    expect(await tokenState(stable)).toBe(42001)
    expect(await tokenState('garbage')).toBe(40001)
    expect((await phone(undefined, fake.mintPhoneCode('13800138000'))).body.errcode).toBe(41001)
    const other = await start()
    const foreign = (await stableToken(other)).body.access_token
    expect(await tokenState(foreign)).toBe(40001) // another fake's (another AppID's) token
  })

  test('accessTokenTtlSeconds shortens the lifetime (normal mode renews at half of a short one)', async () => {
    const short = await start({ accessTokenTtlSeconds: 60 })
    const first = (await stableToken(short)).body
    expect(first.expires_in).toBe(60)
    clock += 29_000
    expect((await stableToken(short)).body.access_token).toBe(first.access_token)
    clock += 2000
    const renewed = (await stableToken(short)).body.access_token
    expect(renewed).not.toBe(first.access_token)
    expect(await tokenState(first.access_token, short)).toBe(0)
    clock += 30_000
    expect(await tokenState(first.access_token, short)).toBe(42001)
  })
})

describe('getPhoneNumber (POST /wxa/business/getuserphonenumber)', () => {
  test('a phone code gives phone_info with the watermark; it works once (then 40029)', async () => {
    const token = (await stableToken()).body.access_token
    const code = fake.mintPhoneCode('13912345678')
    const { status, body } = await phone(token, code)
    expect(status).toBe(200)
    expect(body).toEqual({
      errcode: 0,
      errmsg: 'ok',
      phone_info: { phoneNumber: '13912345678', purePhoneNumber: '13912345678', countryCode: '86', watermark: { timestamp: T0 / 1000, appid: fake.appid } },
    })
    expect((await phone(token, code)).body.errcode).toBe(40029)
    expect((await phone(token, 'unknown-phone-code')).body.errcode).toBe(40029)
  })

  test('a foreign number carries its country code in phoneNumber', async () => {
    const token = (await stableToken()).body.access_token
    const { body } = await phone(token, fake.mintPhoneCode('6502530000', { countryCode: '1' }))
    expect(body.phone_info).toMatchObject({ phoneNumber: '+16502530000', purePhoneNumber: '6502530000', countryCode: '1' })
  })

  test('a phone code expires after 5 minutes (40029)', async () => {
    const code = fake.mintPhoneCode('13912345678')
    clock += 5 * MIN + 1
    const token = (await stableToken()).body.access_token
    expect((await phone(token, code)).body.errcode).toBe(40029)
  })

  test('a bad access_token is checked before the code, which stays usable', async () => {
    const code = fake.mintPhoneCode('13912345678')
    expect((await phone('garbage', code)).body.errcode).toBe(40001)
    const token = (await stableToken()).body.access_token
    fake.expireAccessTokens()
    expect((await phone(token, code)).body.errcode).toBe(42001)
    const fresh = (await stableToken()).body.access_token
    expect((await phone(fresh, code)).body.phone_info.purePhoneNumber).toBe('13912345678')
  })

  test('POST /__fake/phone-codes mints one for another process; a malformed number is a 400', async () => {
    const { body } = await post('/__fake/phone-codes', { phoneNumber: '13700000001' })
    const token = (await stableToken()).body.access_token
    expect((await phone(token, body.code)).body.phone_info.phoneNumber).toBe('13700000001')
    expect((await post('/__fake/phone-codes', { phoneNumber: 'call me' })).status).toBe(400)
    expect(() => fake.mintPhoneCode('12')).toThrow(TypeError)
  })

  test('acceptAnyCode: any phone code of the right shape gives a deterministic mainland number, once', async () => {
    const a = await start({ acceptAnyCode: true })
    const b = await start({ acceptAnyCode: true })
    const ta = (await stableToken(a)).body.access_token
    const tb = (await stableToken(b)).body.access_token
    const first = (await phone(ta, 'phone-code-abc123', a)).body.phone_info
    expect(first.purePhoneNumber).toMatch(/^13\d{9}$/)
    expect((await phone(tb, 'phone-code-abc123', b)).body.phone_info.purePhoneNumber).toBe(first.purePhoneNumber)
    expect((await phone(ta, 'phone-code-abc123', a)).body.errcode).toBe(40029)
    expect((await phone(ta, 'no', a)).body.errcode).toBe(40029)
  })

  test('a body without a code answers 47001', async () => {
    const token = (await stableToken()).body.access_token
    expect((await post('/wxa/business/getuserphonenumber?access_token=' + token, { nope: 1 })).body.errcode).toBe(47001)
  })
})

describe('msgSecCheck v2 (POST /wxa/msg_sec_check)', () => {
  test('an openid that never logged in answers 61010; after a login, clean text passes', async () => {
    const token = (await stableToken()).body.access_token
    expect((await secCheck(token, { version: 2, openid: 'o-alice', scene: 1, content: 'hello' })).body.errcode).toBe(61010)
    await login('o-alice')
    const { body } = await secCheck(token, { version: 2, openid: 'o-alice', scene: 1, content: 'hello' })
    // (fetch's JSON comes from another realm than jest's, so arrays are compared by value, not with expect.any(Array))
    expect(body).toEqual({
      errcode: 0,
      errmsg: 'ok',
      result: { suggest: 'pass', label: 100 },
      detail: [{ strategy: 'content_model', errcode: 0, suggest: 'pass', label: 100, prob: 0 }],
      trace_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/),
    })
  })

  test('risky and review words; riskyWords replaces the default list', async () => {
    await login('o-alice')
    const token = (await stableToken()).body.access_token
    const risky = (await secCheck(token, { version: 2, openid: 'o-alice', scene: 2, content: '这是违规内容' })).body
    expect(risky.result).toEqual({ suggest: 'risky', label: 20001 })
    expect(risky.detail).toContainEqual(expect.objectContaining({ strategy: 'keyword', keyword: '违规', suggest: 'risky' }))
    expect((await secCheck(token, { version: 2, openid: 'o-alice', scene: 2, content: 'a review-word here' })).body.result).toEqual({ suggest: 'review', label: 21000 })

    const custom = await start({ riskyWords: ['spam'] })
    await login('o-bob', custom)
    const ct = (await stableToken(custom)).body.access_token
    expect((await secCheck(ct, { version: 2, openid: 'o-bob', scene: 1, content: 'buy spam' }, custom)).body.result.suggest).toBe('risky')
    expect((await secCheck(ct, { version: 2, openid: 'o-bob', scene: 1, content: '违规' }, custom)).body.result.suggest).toBe('pass')
  })

  test('the visit must be within 2 hours (else 61010); a bad scene is 40129, a missing openid 40003, no content 47001', async () => {
    await login('o-alice')
    clock += 2 * 60 * MIN + 1
    const token = (await stableToken()).body.access_token
    expect((await secCheck(token, { version: 2, openid: 'o-alice', scene: 1, content: 'hi' })).body.errcode).toBe(61010)
    await login('o-alice')
    expect((await secCheck(token, { version: 2, openid: 'o-alice', scene: 9, content: 'hi' })).body.errcode).toBe(40129)
    expect((await secCheck(token, { version: 2, scene: 1, content: 'hi' })).body.errcode).toBe(40003)
    expect((await secCheck(token, { version: 2, openid: 'o-alice', scene: 1 })).body.errcode).toBe(47001)
  })

  test('version 1 (content only) answers 87014 for risky text', async () => {
    const token = (await stableToken()).body.access_token
    expect((await secCheck(token, { content: '违规' })).body).toEqual({ errcode: 87014, errmsg: 'risky content' })
    expect((await secCheck(token, { content: 'fine' })).body).toEqual({ errcode: 0, errmsg: 'ok' })
  })

  test('access_token checks apply (40001, 42001)', async () => {
    await login('o-alice')
    expect((await secCheck('garbage', { version: 2, openid: 'o-alice', scene: 1, content: 'x' })).body.errcode).toBe(40001)
  })
})

describe('encryptFor: what wx.getWeRunData / getShareInfo hand the client', () => {
  function decrypt(sessionKey: string, encryptedData: string, iv: string): any {
    const decipher = createDecipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), Buffer.from(iv, 'base64'))
    return JSON.parse(Buffer.concat([decipher.update(Buffer.from(encryptedData, 'base64')), decipher.final()]).toString('utf8'))
  }

  test('round trip with the session_key code2Session gave, with the watermark', async () => {
    const sessionKey = await login('o-alice')
    const data = { stepInfoList: [{ timestamp: 1735660800, step: 8123 }], 中文: '步数' }
    const { encryptedData, iv } = fake.encryptFor('o-alice', data)
    expect(Buffer.from(iv, 'base64')).toHaveLength(16)
    expect(decrypt(sessionKey, encryptedData, iv)).toEqual({ ...data, watermark: { appid: fake.appid, timestamp: T0 / 1000 } })
  })

  test('a different watermark appid, for the mismatch check', async () => {
    const sessionKey = await login('o-alice')
    const { encryptedData, iv } = fake.encryptFor('o-alice', { openGId: 'g1' }, { watermarkAppid: 'wxother', timestamp: 42 })
    expect(decrypt(sessionKey, encryptedData, iv).watermark).toEqual({ appid: 'wxother', timestamp: 42 })
  })

  test('after a new login the old session_key no longer decrypts it', async () => {
    const oldKey = await login('o-alice')
    await login('o-alice')
    const { encryptedData, iv } = fake.encryptFor('o-alice', { step: 1 })
    expect(() => decrypt(oldKey, encryptedData, iv)).toThrow()
  })

  test('an openid without a session_key is an error; POST /__fake/encrypt works for other processes', async () => {
    expect(() => fake.encryptFor('o-nobody', {})).toThrow(/no session_key/)
    const sessionKey = await login('o-alice')
    const { status, body } = await post('/__fake/encrypt', { openid: 'o-alice', data: { step: 7 } })
    expect(status).toBe(200)
    expect(decrypt(sessionKey, body.encryptedData, body.iv)).toMatchObject({ step: 7 })
    expect((await post('/__fake/encrypt', { openid: 'o-nobody', data: {} })).status).toBe(400)
  })
})

describe('faults', () => {
  test('fail(api, errcode, { times }) answers that errcode that many times without consuming the code', async () => {
    const code = fake.mintCode('o-alice')
    fake.fail('jscode2session', -1, { times: 2 })
    expect((await exchange(code)).body).toEqual({ errcode: -1, errmsg: expect.stringMatching(/^system error/) })
    expect((await exchange(code)).body.errcode).toBe(-1)
    expect((await exchange(code)).body.openid).toBe('o-alice')
    expect(fake.calls.jscode2session).toBe(3)
  })

  test('a forced stable_token call is counted as forced even when a fault answers it, and does not refresh', async () => {
    const before = (await stableToken()).body.access_token
    fake.fail('stable_token', -1, { times: 1 })
    expect((await stableToken(fake, { force_refresh: true })).body.errcode).toBe(-1)
    expect(fake.calls).toMatchObject({ stable_token: 2, stable_token_forced: 1 })
    expect(await tokenState(before)).toBe(0)
  })

  test('without times a fault stays until clearFaults(); other APIs are unaffected', async () => {
    fake.fail('stable_token', 45011)
    for (let i = 0; i < 3; i++) expect((await stableToken()).body.errcode).toBe(45011)
    expect((await classicToken()).body.access_token).toEqual(expect.any(String))
    fake.clearFaults()
    expect((await stableToken()).body.access_token).toEqual(expect.any(String))
  })

  test('html(api) answers HTTP 502 text/html, like a broken gateway', async () => {
    fake.html('getuserphonenumber', { times: 1 })
    const res = await fetch(fake.url + '/wxa/business/getuserphonenumber?access_token=x', { method: 'POST', body: '{}' })
    expect(res.status).toBe(502)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await res.text()).toContain('502 Bad Gateway')
  })

  test('delay(api, ms) holds the answer; a client that gives up first leaves the code unused', async () => {
    const code = fake.mintCode('o-alice')
    fake.delay('jscode2session', 400, { times: 1 })
    const q = new URLSearchParams({ appid: fake.appid, secret: fake.secret, js_code: code, grant_type: 'authorization_code' })
    await expect(fetch(`${fake.url}/sns/jscode2session?${q}`, { signal: AbortSignal.timeout(100) })).rejects.toThrow()
    await new Promise((r) => setTimeout(r, 400))
    expect((await exchange(code)).body.openid).toBe('o-alice')
  })

  test('a delayed answer arrives after the delay when the client waits', async () => {
    fake.delay('stable_token', 150)
    const started = Date.now()
    expect((await stableToken()).body.access_token).toEqual(expect.any(String))
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })

  test('POST /__fake/fault sets and clears faults for another process; bad input is a 400', async () => {
    expect((await post('/__fake/fault', { api: 'token', kind: 'fail', errcode: 45011, times: 1 })).body).toEqual({ ok: true })
    expect((await classicToken()).body.errcode).toBe(45011)
    expect((await classicToken()).body.access_token).toEqual(expect.any(String))
    await post('/__fake/fault', { api: 'msg_sec_check', kind: 'html' })
    await post('/__fake/fault', { kind: 'clear' })
    expect((await secCheck('garbage', { content: 'x' })).body.errcode).toBe(40001)
    await post('/__fake/fault', { api: 'token', kind: 'delay', ms: 100, times: 1 })
    const started = Date.now()
    await classicToken()
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
    for (const bad of [{ api: 'nope', kind: 'fail', errcode: -1 }, { api: 'token', kind: 'fail', errcode: 0 }, { api: 'token', kind: 'explode' }, { api: 'token', kind: 'delay', ms: -5 }, { api: 'token', kind: 'html', times: 0 }]) {
      const answer = await post('/__fake/fault', bad)
      expect(answer).toEqual({ status: 400, body: { error: 'bad_request', message: expect.any(String) } })
    }
  })

  test('the methods refuse bad arguments with a TypeError', () => {
    expect(() => fake.fail('nope' as never, -1)).toThrow(TypeError)
    expect(() => fake.fail('token', 1.5)).toThrow(TypeError)
    expect(() => fake.delay('token', Number.NaN)).toThrow(TypeError)
    expect(() => fake.html('token', { times: -1 })).toThrow(TypeError)
  })
})

describe('counting', () => {
  test('calls counts each API; forced stable_token calls are counted apart too; resetCalls and /__fake/stats', async () => {
    await exchange(fake.mintCode('o-alice'))
    await exchange('unknown-code')
    await stableToken()
    const forcedToken = (await stableToken(fake, { force_refresh: true })).body.access_token
    await classicToken()
    await phone(forcedToken, fake.mintPhoneCode('13800000000'))
    await secCheck(forcedToken, { version: 2, openid: 'o-alice', scene: 1, content: 'x' })
    const expected = { jscode2session: 2, stable_token: 2, stable_token_forced: 1, token: 1, getuserphonenumber: 1, msg_sec_check: 1 }
    expect(fake.calls).toEqual(expected)
    expect(await get('/__fake/stats')).toEqual({ status: 200, body: expected })
    fake.resetCalls()
    expect(fake.calls).toEqual({ jscode2session: 0, stable_token: 0, stable_token_forced: 0, token: 0, getuserphonenumber: 0, msg_sec_check: 0 })
    await stableToken()
    await post('/__fake/reset-calls', {})
    expect((await get('/__fake/stats')).body.stable_token).toBe(0)
  })

  test('calls is a snapshot that callers cannot change', async () => {
    const snapshot = fake.calls
    snapshot.token = 99
    expect(fake.calls.token).toBe(0)
  })
})

describe('the server itself', () => {
  test('an unknown path is a 404 JSON answer', async () => {
    expect(await get('/cgi-bin/unknown')).toEqual({ status: 404, body: { error: 'not_found', message: expect.stringContaining('/cgi-bin/unknown') } })
    expect((await get('/__fake/nothing')).status).toBe(404)
  })

  test('url has no trailing slash and points at 127.0.0.1', () => {
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(fake.url).toBe(`http://127.0.0.1:${fake.port}`)
  })

  test('stop() makes it unreachable, start() reopens the same URL with its state kept', async () => {
    const token = (await stableToken()).body.access_token
    const url = fake.url
    await fake.stop()
    await expect(fetch(url + '/__fake/stats')).rejects.toThrow()
    await fake.start()
    expect(fake.url).toBe(url)
    expect(await tokenState(token)).toBe(0)
    expect((await stableToken()).body.access_token).toBe(token)
  })

  test('stop() during a held (delayed) call ends it at once: the client sees a network error, not a hang', async () => {
    fake.delay('stable_token', 60_000)
    const pending = stableToken()
    await new Promise((r) => setTimeout(r, 50))
    const started = Date.now()
    await fake.stop()
    await expect(pending).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(5000)
    await fake.start()
    fake.clearFaults()
    expect((await stableToken()).body.access_token).toEqual(expect.any(String))
  })

  test('stop() twice and an immediate start() settle in order', async () => {
    await stableToken()
    const stops = [fake.stop(), fake.stop()]
    const started = fake.start()
    await Promise.all([...stops, started])
    expect((await get('/__fake/stats')).body.stable_token).toBe(1)
  })

  test('keep-alive connections do not keep a stopped fake reachable', async () => {
    await get('/__fake/stats') // leaves a pooled keep-alive connection in fetch
    await fake.stop()
    await expect(fetch(fake.url + '/__fake/stats')).rejects.toThrow()
    await fake.start()
  })

  test('close() is final: start() afterwards rejects', async () => {
    const f = await createFakeWechat()
    await f.close()
    await expect(f.start()).rejects.toThrow(/closed/)
  })

  test('a port in use rejects createFakeWechat with the listen error', async () => {
    await expect(createFakeWechat({ port: fake.port })).rejects.toThrow(/EADDRINUSE/)
  })

  test('bad options are refused with a TypeError', async () => {
    await expect(createFakeWechat({ codeTtlMs: -1 })).rejects.toThrow(TypeError)
    await expect(createFakeWechat({ appid: '' })).rejects.toThrow(TypeError)
    await expect(createFakeWechat({ port: 70000 })).rejects.toThrow(TypeError)
    await expect(createFakeWechat({ accessTokenTtlSeconds: 0 })).rejects.toThrow(TypeError)
    await expect(createFakeWechat({ riskyWords: [''] })).rejects.toThrow(TypeError)
  })

  test('an over-large body is refused with 413 rather than buffered', async () => {
    const res = await fetch(fake.url + '/__fake/codes', { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) })
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({ error: 'payload_too_large', message: expect.any(String) })
    const wechat = await fetch(fake.url + '/cgi-bin/stable_token', { method: 'POST', body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }) })
    expect(wechat.status).toBe(413)
  })
})

describe('as its own process (fake-wechat-main)', () => {
  test('prints one line with its URL, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), join(__dirname, '..', 'src', 'testing', 'fake-wechat-main.ts')], {
      env: { ...process.env, PORT: '0', WX_APPID: 'wxmainprocess0001', WX_SECRET: 'main-secret', FAKE_WECHAT_ACCEPT_ANY_CODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      let stdout = ''
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no ready line within 20 s: ' + stdout)), 20_000)
        child.stdout!.on('data', (chunk: Buffer) => {
          stdout += chunk.toString()
          const m = /^fake wechat: (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout)
          if (m) {
            clearTimeout(timer)
            resolve(m[1])
          }
        })
        child.once('exit', (code) => reject(new Error('exited early with ' + code)))
      })
      const q = new URLSearchParams({ appid: 'wxmainprocess0001', secret: 'main-secret', js_code: 'carol-1', grant_type: 'authorization_code' })
      const body = (await (await fetch(`${url}/sns/jscode2session?${q}`)).json()) as { openid?: string }
      expect(body.openid).toMatch(/^o/)
      const exitCode = await new Promise<number | null>((resolve) => {
        child.once('exit', (code) => resolve(code))
        child.kill('SIGTERM')
      })
      expect(exitCode).toBe(0)
      expect(stdout).toBe(`fake wechat: ${url}\n`)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  })
})
