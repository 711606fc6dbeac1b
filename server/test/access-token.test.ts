/**
 * The shared access_token against the fake WeChat over HTTP, on a real Redis shared by several
 * createAuthServer instances (and on the memory store): one stable_token call for many concurrent
 * callers, renewal inside the margin, one forced refresh + one retry on 42001/40001, WeChat's
 * 30-s gap and daily force limit kept across instances, classic mode, and failures that never hang
 * and never leak the token.
 */
import { memoryStore, type AuthServer } from 'weapp-auth-server'
import { forceQuotaKey } from '../src/access-token'
import { APPID, rejection, startKit, type Kit } from './helpers/kit'

/** One clock for the kit and the fake; each test starts 31 s after the last (past WeChat's force gap). */
let offset = 0
const clock = () => Date.now() + offset

let kit: Kit
beforeAll(async () => {
  kit = await startKit(['memory', 'redis'], { now: clock })
})
afterAll(async () => {
  await kit.close()
})
beforeEach(async () => {
  offset += 31_000
  await kit.reset()
})

let phoneSeq = 13800000000
function phoneCode(): { code: string; phone: string } {
  const phone = String(phoneSeq++)
  return { code: kit.fake.mintPhoneCode(phone), phone }
}

function redisServers(n: number, options = {}): AuthServer[] {
  return Array.from({ length: n }, () => kit.server('redis', { now: clock, ...options }))
}

test('50 concurrent phoneNumber calls across 4 instances sharing Redis: exactly 1 stable_token call', async () => {
  const servers = redisServers(4)
  const codes = Array.from({ length: 50 }, phoneCode)
  const results = await Promise.all(codes.map(({ code }, i) => servers[i % 4].phoneNumber(`user-${i}`, code)))
  expect(results.map((r) => r.purePhoneNumber)).toEqual(codes.map((c) => c.phone))
  expect(results[0]).toEqual({ phoneNumber: codes[0].phone, purePhoneNumber: codes[0].phone, countryCode: '86' })
  expect(kit.fake.calls).toMatchObject({ stable_token: 1, stable_token_forced: 0, token: 0, getuserphonenumber: 50 })
  expect(kit.events.filter((e) => e.type === 'access_token')).toEqual([{ type: 'access_token', forced: false }])
  // Every instance now reads the same cached token.
  const tokens = new Set(await Promise.all(servers.map((s) => s.accessToken())))
  expect(tokens.size).toBe(1)
  expect(kit.fake.calls.stable_token).toBe(1)
})

test('in one process, concurrent callers share one renewal (memory store)', async () => {
  const server = kit.server('memory', { now: clock })
  const tokens = await Promise.all(Array.from({ length: 20 }, () => server.accessToken()))
  expect(new Set(tokens).size).toBe(1)
  expect(kit.fake.calls.stable_token).toBe(1)
})

test('less than the margin left: one instance renews in normal mode, the others read its token', async () => {
  const servers = redisServers(3)
  const first = await servers[0].accessToken()
  offset += (7200 - 299) * 1000 // 299 s left: inside the 300 s margin
  const renewed = await Promise.all(servers.flatMap((s) => [s.accessToken(), s.accessToken()]))
  expect(new Set(renewed).size).toBe(1)
  expect(renewed[0]).not.toBe(first)
  expect(kit.fake.calls).toMatchObject({ stable_token: 2, stable_token_forced: 0 })
  // The new token is good for the full 2 hours: no more calls.
  await Promise.all(servers.map((s) => s.accessToken()))
  expect(kit.fake.calls.stable_token).toBe(2)
})

test('expired token (42001): one normal-mode renewal (no forced refresh spent), one retry, success', async () => {
  for (const kind of ['memory', 'redis'] as const) {
    kit.fake.resetCalls()
    offset += 31_000
    const server = kit.server(kind, { now: clock })
    await server.phoneNumber('u1', phoneCode().code)
    kit.fake.expireAccessTokens()
    const { code, phone } = phoneCode()
    await expect(server.phoneNumber('u1', code)).resolves.toMatchObject({ purePhoneNumber: phone })
    expect(kit.fake.calls).toMatchObject({ stable_token: 2, stable_token_forced: 0, getuserphonenumber: 3 })
  }
  expect(kit.events.filter((e) => e.type === 'access_token' && e.forced)).toHaveLength(0)
})

test('42001 while WeChat still answers the same token in normal mode: then, and only then, one forced refresh', async () => {
  nextDay()
  const server = kit.server('redis', { now: clock })
  await server.phoneNumber('u1', phoneCode().code)
  kit.fake.resetCalls()
  // WeChat calls the token expired, yet its normal mode still hands out that same token.
  kit.fake.fail('getuserphonenumber', 42001, { times: 1 })
  const { code, phone } = phoneCode()
  await expect(server.phoneNumber('u1', code)).resolves.toMatchObject({ purePhoneNumber: phone })
  expect(kit.fake.calls).toMatchObject({ stable_token: 2, stable_token_forced: 1, getuserphonenumber: 2 })
})

test('two instances hit 42001 at once: one renewal for both, nobody forces, both succeed', async () => {
  for (const shared of [() => redisServers(2), () => {
    const store = memoryStore()
    return [kit.server('memory', { now: clock }, store), kit.server('memory', { now: clock }, store)]
  }]) {
    kit.fake.resetCalls()
    offset += 31_000
    const [a, b] = shared()
    await a.accessToken()
    kit.fake.expireAccessTokens()
    const [ra, rb] = await Promise.all([a.phoneNumber('u1', phoneCode().code), b.phoneNumber('u2', phoneCode().code)])
    expect(ra.phoneNumber).toBeTruthy()
    expect(rb.phoneNumber).toBeTruthy()
    // One normal-mode renewal for both instances, and no forced refresh at all.
    expect(kit.fake.calls).toMatchObject({ stable_token: 2, stable_token_forced: 0 })
    expect(await a.accessToken()).toBe(await b.accessToken())
  }
})

test('a second 40001 after the retry: wechat_invalid_credential, after exactly one force', async () => {
  const server = kit.server('redis', { now: clock })
  await server.accessToken()
  kit.fake.fail('getuserphonenumber', 40001)
  const err = await rejection(server.phoneNumber('u1', phoneCode().code))
  expect(err).toMatchObject({ name: 'WechatApiError', code: 'wechat_invalid_credential', status: 502, errcode: 40001 })
  expect(kit.fake.calls).toMatchObject({ getuserphonenumber: 2, stable_token_forced: 1 })
})

/** The next Beijing day: a fresh daily force quota at the fake (and in the kit's counter key). */
const nextDay = () => {
  offset += 24 * 3600 * 1000
}

test('the daily force limit (20) is kept in the store: no 21st force is sent', async () => {
  nextDay()
  // Memory store on the shared clock: 20 forces 31 s apart, then the 21st is refused by the kit.
  const store = memoryStore({ now: clock })
  const server = kit.server('memory', { now: clock }, store)
  const seen = new Set<string>()
  for (let i = 0; i < 20; i++) {
    offset += 31_000
    seen.add(await server.accessToken({ force: true }))
  }
  expect(seen.size).toBe(20)
  expect(kit.fake.calls.stable_token_forced).toBe(20)
  offset += 31_000
  const err = await rejection(server.accessToken({ force: true }))
  expect(err).toMatchObject({ name: 'WechatApiError', errcode: 45009 })
  expect(err.message).toMatch(/20 forced refreshes today/)
  expect(kit.fake.calls.stable_token_forced).toBe(20)

  // Redis: the counter other instances filled (pre-filled here) stops this one too.
  const [redisServer] = redisServers(1)
  await redisServer.accessToken()
  for (let i = 0; i < 20; i++) await redisServer.store.hit(forceQuotaKey(APPID, clock()), 86_400)
  kit.fake.fail('getuserphonenumber', 40001, { times: 1 })
  const forcedBefore = kit.fake.calls.stable_token_forced
  expect(await rejection(redisServer.phoneNumber('u1', phoneCode().code))).toMatchObject({ errcode: 45009 })
  expect(kit.fake.calls.stable_token_forced).toBe(forcedBefore)
})

test('an explicit force within 30 s of another: no second force, the fresh token is answered', async () => {
  nextDay()
  const [a, b] = redisServers(2)
  const first = await a.accessToken({ force: true })
  const second = await b.accessToken({ force: true })
  expect(second).toBe(first)
  expect(kit.fake.calls.stable_token_forced).toBe(1)
})

test("classic mode: GET /cgi-bin/token, and a plain new token after 42001", async () => {
  const server = kit.server('redis', { now: clock, accessTokenMode: 'classic' })
  await server.phoneNumber('u1', phoneCode().code)
  expect(kit.fake.calls).toMatchObject({ token: 1, stable_token: 0 })
  kit.fake.expireAccessTokens()
  await expect(server.phoneNumber('u1', phoneCode().code)).resolves.toBeTruthy()
  expect(kit.fake.calls).toMatchObject({ token: 2, stable_token: 0, getuserphonenumber: 3 })
})

test('the renewal fails: every waiter gets the failure, nobody hangs; then it recovers', async () => {
  const servers = redisServers(3)
  kit.fake.fail('stable_token', -1)
  const started = Date.now()
  const results = await Promise.allSettled(servers.flatMap((s) => [s.accessToken(), s.accessToken(), s.phoneNumber('u', phoneCode().code)]))
  expect(Date.now() - started).toBeLessThan(5000)
  for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'wechat_busy', errcode: -1 } })
  // At most one call per instance: the in-process callers shared theirs, the others took over after the winner failed.
  expect(kit.fake.calls.stable_token).toBeLessThanOrEqual(3)
  kit.fake.clearFaults()
  const tokens = await Promise.all(servers.map((s) => s.accessToken()))
  expect(new Set(tokens).size).toBe(1)
})

test('renewal fails inside the margin: the still-valid token keeps serving', async () => {
  const server = kit.server('redis', { now: clock })
  const token = await server.accessToken()
  offset += (7200 - 200) * 1000
  kit.fake.fail('stable_token', -1)
  await expect(server.accessToken()).resolves.toBe(token)
  expect(kit.events).toContainEqual({ type: 'upstream_error', api: 'cgi-bin/stable_token', code: 'wechat_busy' })
})

test('WeChat unreachable or slow: typed errors that never carry the access_token', async () => {
  const server = kit.server('redis', { now: clock, upstreamTimeoutMs: 300 })
  const token = await server.accessToken()
  kit.fake.delay('getuserphonenumber', 1000, { times: 1 })
  const slow = await rejection(server.phoneNumber('u1', phoneCode().code))
  expect(slow).toMatchObject({ name: 'UpstreamError', code: 'wechat_timeout', status: 504 })
  await kit.fake.stop()
  let down: Awaited<ReturnType<typeof rejection>>
  try {
    down = await rejection(server.phoneNumber('u1', 'phone-code-1'))
  } finally {
    await kit.fake.start()
  }
  expect(down).toMatchObject({ code: 'wechat_unreachable', status: 502 })
  expect(down.message).toMatch(/ECONNREFUSED/)
  for (const err of [slow, down]) {
    const everything = JSON.stringify({ message: err.message, stack: err.stack, cause: String((err as { cause?: unknown }).cause), causeMsg: (err as { cause?: Error }).cause?.message })
    expect(everything).not.toContain(token)
  }
  expect(JSON.stringify(kit.events)).not.toContain(token)
})
