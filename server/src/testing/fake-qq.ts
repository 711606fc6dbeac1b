/**
 * A fake QQ mini program server API over real HTTP, for tests and the example: point
 * `qqProvider({ apiBase: fake.url })` at it. It keeps QQ's rules:
 *
 * - code2Session, `GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code` → `{ openid,
 *   session_key, unionid? }` (unionid only with an Open Platform binding), errors as HTTP 200
 *   `{ errcode, errmsg }`: -1 busy, 40029 invalid code, 45011 rate limited
 *   (https://q.qq.com/wiki/develop/miniprogram/server/open_port/port_login.html, mirror read:
 *   https://m.w3cschool.cn/qqxiaochengxu/qqxiaochengxu-c5fl3875.html). A code works once and for
 *   5 minutes: QQ documents neither, WeChat does both (the same login design), so the fake keeps
 *   WeChat's; a used or expired code answers 40029, the only code error QQ documents. A wrong appid
 *   or secret answers WeChat's 40013 / 40125 (assumed: QQ documents none for this API).
 * - getAccessToken, `GET /api/getToken?grant_type=client_credential&appid&secret` → `{ access_token,
 *   expires_in: 7200 }`; `{ errcode, errmsg }` with 40002 (grant_type), 40013 (appid), 40001 (secret)
 *   — QQ's table. Every call hands out a new token and the previous one stops at once ("重复获取将导致
 *   上次获取的 access_token 失效"); the fake has no overlap, unlike WeChat's classic token.
 *   (https://q.qq.com/wiki/develop/miniprogram/server/open_port/port_use.html,
 *   https://q.qq.com/wiki/develop/game/server/open-port/getAccessToken.html).
 * - security.msgSecCheck, `POST /api/json/security/MsgSecCheck?access_token=`, JSON `{ appid, content }`
 *   → camelCase `{ errCode: 0, errMsg: 'ok' }`, or `{ errCode: 87014, errMsg: 'risky content' }` for
 *   text holding one of `riskyWords` (https://q.qq.com/wiki/develop/miniprogram/server/open_port/port_safe.html,
 *   https://q.qq.com/wiki/develop/game/server/open-port/content-safe.html). QQ lists no other errCode
 *   there; the fake answers WeChat's, in the same camelCase shape (assumed): 41001 no token, 40001 a
 *   token that is unknown or was replaced by a newer one, 42001 one past its 7200 s, 40013 a body
 *   `appid` that is not this app's, 47001 a body that is not JSON `{ content: string }`, 43002 not POST.
 *
 * Test controls: `mintCode(openid, { unionid })`, `encryptPhone(phoneNumber, { openid?, watermarkAppid? })`
 * (the getPhoneNumber button's `{ encryptedData, iv }`, with the user's latest session_key),
 * `expireAccessTokens()` (every token answers 42001 from now on), `invalidateAccessToken()` (as
 * another server of the app calling getToken: the current token answers 40001 from now on),
 * `fail(api, errcode)` (answered in that API's shape: `errCode` for MsgSecCheck), `delay`, `html`,
 * `stop`/`start`, `calls` (jscode2session, getToken, MsgSecCheck). Over HTTP:
 * `POST /__fake/codes {openid, unionid?}` → `{code}`, `POST /__fake/encrypt-phone {phoneNumber, openid?}`
 * → `{encryptedData, iv}`, `POST /__fake/expire-access-token` and `POST /__fake/invalidate-access-token`
 * → `{ok}`, `GET /__fake/stats`.
 */
import { createHash, randomBytes } from 'node:crypto'
import { startFakeHost, type FakeAppSecretHostOptions, type FakeHostControls, type HostAnswer, type HostRequest } from './fake-host'
import { encryptWithSessionKey, phonePlaintext } from './session-encrypt'
import { accountOfAnyCode, singleUseCodes } from './single-use-codes'

export type FakeQqApi = 'jscode2session' | 'getToken' | 'MsgSecCheck'

/** Defaults: appid '1110000000', secret 'fake-qq-app-secret-000000000000', codeTtlMs 300000 (5 minutes). */
export interface FakeQqOptions extends FakeAppSecretHostOptions {
  /** MsgSecCheck answers errCode 87014 for text containing one of these. Default ['违规', 'risky-word'] (as the fake WeChat). */
  riskyWords?: string[]
  /** access_token lifetime. Default 7200 s, as QQ. */
  accessTokenTtlSeconds?: number
}

export interface FakeQq extends FakeHostControls<FakeQqApi, number> {
  readonly appid: string
  readonly secret: string
  /** A new single-use login code for this user (what `qq.login` hands the client). */
  mintCode(openid: string, options?: { unionid?: string }): string
  /** The session_key of this openid's latest code2Session, or undefined. */
  sessionKeyOf(openid: string): string | undefined
  /** `{ encryptedData, iv }` of this phone number with the user's latest session_key (default: the latest user's). */
  encryptPhone(phoneNumber: string, options?: { openid?: string; watermarkAppid?: string }): { encryptedData: string; iv: string }
  /** Every access_token issued so far stops working now (as if its 7200 s ran out): the next call with one gets 42001. */
  expireAccessTokens(): void
  /** As another server of this app calling getToken: a new token is issued (to nobody here) and the current one answers 40001 from now on. */
  invalidateAccessToken(): void
}

const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40013: 'invalid appid',
  40029: 'invalid code',
  40125: 'invalid appsecret',
  41001: 'access_token missing',
  41008: 'missing code',
  42001: 'access_token expired',
  43001: 'require GET method',
  43002: 'require POST method',
  45011: 'api minute-quota reach limit',
  47001: 'data format error',
  87014: 'risky content',
}

function qqError(errcode: number): HostAnswer {
  return { json: { errcode, errmsg: ERRMSG[errcode] ?? 'fake failure' } }
}

/** MsgSecCheck's shape: camelCase `errCode` / `errMsg` (its page), for its errors too (assumed). */
function checkAnswer(errCode: number): HostAnswer {
  return { json: { errCode, errMsg: errCode === 0 ? 'ok' : (ERRMSG[errCode] ?? 'fake failure') } }
}

const ROUTES: Record<string, FakeQqApi> = {
  '/sns/jscode2session': 'jscode2session',
  '/api/getToken': 'getToken',
  '/api/json/security/MsgSecCheck': 'MsgSecCheck',
}

export async function createFakeQq(options: FakeQqOptions = {}): Promise<FakeQq> {
  const appid = options.appid ?? '1110000000'
  const secret = options.secret ?? 'fake-qq-app-secret-000000000000'
  const now = options.now ?? Date.now
  const ttlMs = options.codeTtlMs ?? 300_000
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('createFakeQq: codeTtlMs must be a positive number')
  const riskyWords = options.riskyWords ?? ['违规', 'risky-word']
  if (!Array.isArray(riskyWords) || !riskyWords.every((w) => typeof w === 'string' && w.length > 0)) throw new TypeError('createFakeQq: riskyWords must be non-empty strings')
  const tokenTtlSeconds = options.accessTokenTtlSeconds ?? 7200
  if (!Number.isInteger(tokenTtlSeconds) || tokenTtlSeconds <= 0) throw new TypeError('createFakeQq: accessTokenTtlSeconds must be a positive integer')
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

  // ---- access tokens: one current token; a new one stops every older one at once ----------
  /** token → ms since epoch when it stops (42001 from then on). */
  const tokens = new Map<string, number>()
  let tokenSeq = 0

  function issueToken(): string {
    const token = `qq${++tokenSeq}_${randomBytes(48).toString('base64url')}`
    // "重复获取将导致上次获取的 access_token 失效": only the newest one works.
    tokens.clear()
    tokens.set(token, now() + tokenTtlSeconds * 1000)
    return token
  }

  /** 0 when the token may call QQ, else the errcode. */
  function tokenErrcode(token: string | null): number {
    if (!token) return 41001
    const expiresAt = tokens.get(token)
    if (expiresAt === undefined) return 40001
    return now() >= expiresAt ? 42001 : 0
  }

  function expireAccessTokens(): void {
    const t = now()
    for (const [token, expiresAt] of tokens) if (expiresAt > t) tokens.set(token, t)
  }

  function getToken({ method, query: q }: HostRequest): HostAnswer {
    if (method !== 'GET') return qqError(43001)
    if (q.get('grant_type') !== 'client_credential') return qqError(40002)
    if (q.get('appid') !== appid) return qqError(40013)
    if (q.get('secret') !== secret) return qqError(40001)
    const token = issueToken()
    return { json: { access_token: token, expires_in: Math.floor((tokens.get(token)! - now()) / 1000) } }
  }

  function msgSecCheck({ method, query: q, body: text }: HostRequest): HostAnswer {
    if (method !== 'POST') return checkAnswer(43002)
    const bad = tokenErrcode(q.get('access_token'))
    if (bad) return checkAnswer(bad)
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return checkAnswer(47001)
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return checkAnswer(47001)
    const { appid: bodyAppid, content } = body as Record<string, unknown>
    if (bodyAppid !== appid) return checkAnswer(40013)
    if (typeof content !== 'string') return checkAnswer(47001)
    return checkAnswer(riskyWords.some((w) => content.includes(w)) ? 87014 : 0)
  }

  const host = await startFakeHost<FakeQqApi, number>({
    name: 'createFakeQq',
    apis: ['jscode2session', 'getToken', 'MsgSecCheck'],
    port: options.port,
    route: (path) => (Object.prototype.hasOwnProperty.call(ROUTES, path) ? ROUTES[path] : undefined),
    checkFailure(errcode): asserts errcode is number {
      if (!Number.isInteger(errcode) || errcode === 0) throw new TypeError('createFakeQq.fail: errcode must be a non-zero integer')
    },
    failure: (api, errcode) => (api === 'MsgSecCheck' ? checkAnswer(errcode) : qqError(errcode)),
    answer(api, request) {
      if (api === 'getToken') return getToken(request)
      if (api === 'MsgSecCheck') return msgSecCheck(request)
      const { method, query: q } = request
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
      'expire-access-token': () => {
        expireAccessTokens()
        return { ok: true }
      },
      'invalidate-access-token': () => {
        issueToken()
        return { ok: true }
      },
    },
  })

  return Object.assign(host, {
    appid,
    secret,
    mintCode,
    encryptPhone,
    sessionKeyOf: (openid: string) => sessionKeys.get(openid),
    expireAccessTokens,
    invalidateAccessToken: () => void issueToken(),
  })
}
