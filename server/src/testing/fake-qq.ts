/**
 * A fake QQ mini program server API over real HTTP, for tests and the example: point
 * `qqProvider({ apiBase: fake.url })` at it. It keeps QQ's rules for code2Session,
 * `GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code` → `{ openid,
 * session_key, unionid? }` (unionid only with an Open Platform binding), errors as HTTP 200
 * `{ errcode, errmsg }`: -1 busy, 40029 invalid code, 45011 rate limited
 * (https://q.qq.com/wiki/develop/miniprogram/server/open_port/port_login.html, mirror read:
 * https://m.w3cschool.cn/qqxiaochengxu/qqxiaochengxu-c5fl3875.html). A code works once and for
 * 5 minutes: QQ documents neither, WeChat does both (the same login design), so the fake keeps
 * WeChat's; a used or expired code answers 40029, the only code error QQ documents. A wrong appid
 * or secret answers WeChat's 40013 / 40125 (assumed: QQ documents none).
 *
 * Test controls: `mintCode(openid, { unionid })`, `encryptPhone(phoneNumber, { openid?, watermarkAppid? })`
 * (the getPhoneNumber button's `{ encryptedData, iv }`, with the user's latest session_key),
 * `fail('jscode2session', errcode)`, `delay`, `html`, `stop`/`start`, `calls`. Over HTTP:
 * `POST /__fake/codes {openid, unionid?}` → `{code}`, `POST /__fake/encrypt-phone {phoneNumber, openid?}`
 * → `{encryptedData, iv}`, `GET /__fake/stats`.
 */
import { createHash, randomBytes } from 'node:crypto'
import { startFakeHost, type FakeAppSecretHostOptions, type FakeHostControls, type HostAnswer } from './fake-host'
import { encryptWithSessionKey, phonePlaintext } from './session-encrypt'
import { accountOfAnyCode, singleUseCodes } from './single-use-codes'

export type FakeQqApi = 'jscode2session'

/** Defaults: appid '1110000000', secret 'fake-qq-app-secret-000000000000', codeTtlMs 300000 (5 minutes). */
export type FakeQqOptions = FakeAppSecretHostOptions

export interface FakeQq extends FakeHostControls<FakeQqApi, number> {
  readonly appid: string
  readonly secret: string
  /** A new single-use login code for this user (what `qq.login` hands the client). */
  mintCode(openid: string, options?: { unionid?: string }): string
  /** The session_key of this openid's latest code2Session, or undefined. */
  sessionKeyOf(openid: string): string | undefined
  /** `{ encryptedData, iv }` of this phone number with the user's latest session_key (default: the latest user's). */
  encryptPhone(phoneNumber: string, options?: { openid?: string; watermarkAppid?: string }): { encryptedData: string; iv: string }
}

const ERRMSG: Record<number, string> = { [-1]: 'system error', 40029: 'invalid code', 45011: 'api minute-quota reach limit', 40013: 'invalid appid', 40125: 'invalid appsecret', 41008: 'missing code', 40002: 'invalid grant_type' }

function qqError(errcode: number): HostAnswer {
  return { json: { errcode, errmsg: ERRMSG[errcode] ?? 'fake failure' } }
}

export async function createFakeQq(options: FakeQqOptions = {}): Promise<FakeQq> {
  const appid = options.appid ?? '1110000000'
  const secret = options.secret ?? 'fake-qq-app-secret-000000000000'
  const now = options.now ?? Date.now
  const ttlMs = options.codeTtlMs ?? 300_000
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('createFakeQq: codeTtlMs must be a positive number')
  const adopt = options.acceptAnyCode
    ? (code: string) => {
        const account = accountOfAnyCode(code)
        return account === undefined ? undefined : { openid: createHash('sha256').update(`qq:${appid}:${account}`).digest('hex').slice(0, 32).toUpperCase() }
      }
    : undefined
  const codes = singleUseCodes<{ openid: string; unionid?: string }>({ ttlMs, now, adopt })
  const sessionKeys = new Map<string, string>()
  let latestOpenid: string | undefined

  function encryptPhone(phoneNumber: string, opts: { openid?: string; watermarkAppid?: string } = {}): { encryptedData: string; iv: string } {
    const openid = opts.openid ?? latestOpenid
    const sessionKey = openid === undefined ? undefined : sessionKeys.get(openid)
    if (!openid || !sessionKey) throw new TypeError(`encryptPhone: ${openid ? openid + ' has' : 'there is'} no session_key yet (no code2Session)`)
    return encryptWithSessionKey(sessionKey, phonePlaintext(phoneNumber, opts.watermarkAppid ?? appid, now()))
  }

  function mintCode(openid: string, opts: { unionid?: string } = {}): string {
    if (typeof openid !== 'string' || openid === '') throw new TypeError('mintCode: openid must be a non-empty string')
    if (opts.unionid !== undefined && (typeof opts.unionid !== 'string' || opts.unionid === '')) throw new TypeError('mintCode: unionid must be a non-empty string')
    return codes.mint({ openid, unionid: opts.unionid })
  }

  const host = await startFakeHost<FakeQqApi, number>({
    name: 'createFakeQq',
    apis: ['jscode2session'],
    port: options.port,
    route: (path) => (path === '/sns/jscode2session' ? 'jscode2session' : undefined),
    checkFailure(errcode): asserts errcode is number {
      if (!Number.isInteger(errcode) || errcode === 0) throw new TypeError('createFakeQq.fail: errcode must be a non-zero integer')
    },
    failure: (_api, errcode) => qqError(errcode),
    answer(_api, { method, query: q }) {
      if (method !== 'GET') return qqError(43001)
      if (q.get('appid') !== appid) return qqError(40013)
      if (q.get('secret') !== secret) return qqError(40125)
      const code = q.get('js_code')
      if (!code) return qqError(41008)
      if (q.get('grant_type') !== 'authorization_code') return qqError(40002)
      const redeemed = codes.redeem(code)
      if (!redeemed.ok) return qqError(40029)
      const { openid, unionid } = redeemed.value
      const sessionKey = randomBytes(16).toString('base64')
      sessionKeys.set(openid, sessionKey)
      latestOpenid = openid
      return { json: unionid ? { openid, session_key: sessionKey, unionid } : { openid, session_key: sessionKey } }
    },
    mintFromControl: (body) => ({ code: mintCode(body.openid as string, { unionid: body.unionid as string | undefined }) }),
    controls: {
      'encrypt-phone': (body) => encryptPhone(body.phoneNumber as string, { openid: body.openid as string | undefined, watermarkAppid: body.watermarkAppid as string | undefined }),
    },
  })

  return Object.assign(host, { appid, secret, mintCode, encryptPhone, sessionKeyOf: (openid: string) => sessionKeys.get(openid) })
}
