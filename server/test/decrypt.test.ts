/**
 * Server-side open data, on both stores, against the fake WeChat over HTTP: decrypt() with the
 * session_key kept at login (round trip with the fake's encryptFor, watermark check, stale key,
 * garbage, no session), phoneNumber() (getuserphonenumber) and checkText() (msg_sec_check v2).
 */
import { randomBytes } from 'node:crypto'
import { SEALED_DATA_FAILURE } from '../src/decrypt'
import { STORE_KINDS, rejection, useKit } from './helpers/kit'

const kits = useKit()

describe.each(STORE_KINDS)('on the %s store', (kind) => {
  async function loggedIn(openid: string, options: Parameters<typeof kits.current.server>[1] = {}) {
    const server = kits.current.server(kind, options)
    const { user } = await server.login({ code: kits.current.fake.mintCode(openid) })
    return { server, userId: String(user.id) }
  }

  test('decrypt: WeRun data round trip with the session_key kept at login', async () => {
    const { server, userId } = await loggedIn('openid-d1')
    const data = { stepInfoList: [{ timestamp: 1700000000, step: 8123 }, { timestamp: 1700086400, step: 10456 }] }
    const { encryptedData, iv } = kits.current.fake.encryptFor('openid-d1', data)
    const plain = await server.decrypt<typeof data & { watermark: { appid: string } }>(userId, encryptedData, iv)
    expect(plain.stepInfoList).toEqual(data.stepInfoList)
    expect(plain.watermark.appid).toBe(kits.current.fake.appid)
  })

  test('decrypt: a newer login replaces the session_key; data for the old key fails cleanly', async () => {
    const { server, userId } = await loggedIn('openid-d2')
    const old = kits.current.fake.encryptFor('openid-d2', { n: 1 })
    await server.login({ code: kits.current.fake.mintCode('openid-d2') })
    const err = await rejection(server.decrypt(userId, old.encryptedData, old.iv))
    expect(err).toMatchObject({ name: 'BadRequestError', code: 'decrypt_failed', status: 400 })
    const fresh = kits.current.fake.encryptFor('openid-d2', { n: 2 })
    await expect(server.decrypt(userId, fresh.encryptedData, fresh.iv)).resolves.toMatchObject({ n: 2 })
  })

  test("decrypt: another mini program's watermark is refused", async () => {
    const { server, userId } = await loggedIn('openid-d3')
    const foreign = kits.current.fake.encryptFor('openid-d3', { openGId: 'g1' }, { watermarkAppid: 'wxsomeoneelse00001' })
    // The same answer as any other failure: which check failed is nothing a client may learn.
    expect(await rejection(server.decrypt(userId, foreign.encryptedData, foreign.iv))).toMatchObject({ code: 'decrypt_failed', status: 400, message: SEALED_DATA_FAILURE })
  })

  test('decrypt: garbage in, the one decrypt_failed answer out, never a crash', async () => {
    // A budget large enough for every case (the default drops the session_key after 5 failures).
    const { server, userId } = await loggedIn('openid-d4', { decryptFailureLimit: { max: 100, windowSeconds: 60 }, phoneRateLimit: false })
    const good = kits.current.fake.encryptFor('openid-d4', { ok: true })
    const wrongKey = kits.current.fake.encryptFor('openid-d4', { ok: true }, { sessionKey: randomBytes(16).toString('base64') })
    const cases: [unknown, unknown][] = [
      ['', good.iv],
      [good.encryptedData, ''],
      ['not base64 at all!', good.iv],
      [good.encryptedData, randomBytes(12).toString('base64')],
      [randomBytes(15).toString('base64'), good.iv],
      [good.encryptedData.slice(0, 24), good.iv],
      [randomBytes(64).toString('base64'), good.iv],
      [wrongKey.encryptedData, wrongKey.iv],
      [good.encryptedData, randomBytes(16).toString('base64')],
      ['A'.repeat(100_000), good.iv],
      [42, good.iv],
      [good.encryptedData, null],
    ]
    for (const [data, iv] of cases) {
      expect(await rejection(server.decrypt(userId, data as string, iv as string))).toMatchObject({ code: 'decrypt_failed', status: 400, message: SEALED_DATA_FAILURE })
    }
    // The same user and session still decrypt good data afterwards.
    await expect(server.decrypt(userId, good.encryptedData, good.iv)).resolves.toMatchObject({ ok: true })
  })

  test('decrypt and checkText with no session kept: session_key_expired (409)', async () => {
    const server = kits.current.server(kind)
    const { encryptedData, iv } = { encryptedData: randomBytes(32).toString('base64'), iv: randomBytes(16).toString('base64') }
    expect(await rejection(server.decrypt('no-such-user', encryptedData, iv))).toMatchObject({ code: 'session_key_expired', status: 409 })
    expect(await rejection(server.checkText('no-such-user', 'hello'))).toMatchObject({ code: 'session_key_expired', status: 409 })
    expect(await rejection(server.decrypt('', encryptedData, iv))).toMatchObject({ code: 'bad_request' })
  })

  test('phoneNumber: the number, no watermark; a used code is typed; bad codes never reach WeChat', async () => {
    const server = kits.current.server(kind)
    const code = kits.current.fake.mintPhoneCode('13912345678')
    const info = await server.phoneNumber('u1', code)
    expect(info).toEqual({ phoneNumber: '13912345678', purePhoneNumber: '13912345678', countryCode: '86' })
    expect(await rejection(server.phoneNumber('u1', code))).toMatchObject({ code: 'wechat_invalid_code', errcode: 40029 })
    const intl = await server.phoneNumber('u1', kits.current.fake.mintPhoneCode('2025550123', { countryCode: '1' }))
    expect(intl).toEqual({ phoneNumber: '+12025550123', purePhoneNumber: '2025550123', countryCode: '1' })
    const calls = kits.current.fake.calls.getuserphonenumber
    expect(await rejection(server.phoneNumber('u1', ''))).toMatchObject({ code: 'code_required' })
    expect(await rejection(server.phoneNumber('u1', 'p'.repeat(200)))).toMatchObject({ code: 'code_too_long' })
    expect(await rejection(server.phoneNumber(undefined as never, 'abcdef'))).toMatchObject({ code: 'bad_request' })
    expect(kits.current.fake.calls.getuserphonenumber).toBe(calls)
  })

  test('checkText: pass, review and risky verdicts for the logged-in user', async () => {
    const { server, userId } = await loggedIn('openid-d5')
    await expect(server.checkText(userId, '今天天气不错')).resolves.toMatchObject({ suggest: 'pass', label: 100, traceId: expect.any(String) })
    await expect(server.checkText(userId, 'a review-word here', 1)).resolves.toMatchObject({ suggest: 'review' })
    await expect(server.checkText(userId, '这是违规内容', 1)).resolves.toMatchObject({ suggest: 'risky', label: 20001 })
    expect(kits.current.fake.calls).toMatchObject({ msg_sec_check: 3, stable_token: 1 })
  })

  test('checkText: bad input is refused before WeChat', async () => {
    const { server, userId } = await loggedIn('openid-d6')
    expect(await rejection(server.checkText(userId, ''))).toMatchObject({ code: 'bad_request' })
    expect(await rejection(server.checkText(userId, 'x'.repeat(2501)))).toMatchObject({ code: 'bad_request' })
    expect(await rejection(server.checkText(userId, 5 as never))).toMatchObject({ code: 'bad_request' })
    expect(await rejection(server.checkText(userId, 'hi', 9 as never))).toMatchObject({ code: 'bad_request' })
    await expect(server.checkText(userId, 'x'.repeat(2500))).resolves.toMatchObject({ suggest: 'pass' })
    expect(kits.current.fake.calls.msg_sec_check).toBe(1)
  })
})
