/**
 * A fake WeChat server API over real HTTP (node:http on 127.0.0.1), for tests, benchmarks and the
 * end-to-end example. It keeps WeChat's rules and answers with WeChat's errcodes, HTTP 200 and
 * `{ errcode, errmsg }` as WeChat does, so a client that works against it works against
 * api.weixin.qq.com. Point the kit at it with `wxApiBase: fake.url` (or `WX_API_BASE`).
 *
 * The rules kept, each with the page it comes from:
 *
 * - code2Session, `GET /sns/jscode2session`: a login code works once (40163 "code been used") and for
 *   5 minutes (then 40029 "invalid code", as for an unknown code); 45011 rate limit, -1 busy.
 *   https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html
 *   (mirror: https://mp.weixin.qq.com/debug/wxadoc/dev/OpenApiDoc/user-login/code2Session.html);
 *   40163 / 40029 meanings: https://developers.weixin.qq.com/community/develop/doc/000262c8de4e78e7141ce6aa056c00
 *   ("40163指oauth_code已使用;40029指无效的 oauth_code") and
 *   https://developers.weixin.qq.com/community/develop/doc/000a80776f43a856d170f8e4561c00 (an expired
 *   code answers 40029: "无效的code,code只能用一次,且五分钟有效").
 * - Common errcodes (40001 invalid credential, 40013 invalid appid, 41001 access_token missing,
 *   41002 appid missing, 42001 access_token expired, 43002 require POST method, 44002 empty post
 *   data, 45009 daily quota, 45011 minute quota, 47001 data format error):
 *   https://developers.weixin.qq.com/doc/channels/API/basics/commErrCode.html and
 *   https://developers.weixin.qq.com/doc/oplatform/Return_codes/Return_code_descriptions_new.html
 *   (41004 appsecret missing, 41008 missing code, 40002 invalid grant_type, 40125 invalid appsecret;
 *   40125 seen from jscode2session and cgi-bin/token alike:
 *   https://developers.weixin.qq.com/community/personal/oCJUsw0QFabINcZhj4eGHryfp2Pw/question,
 *   https://developers.weixin.qq.com/community/personal/oCJUsw5m0VNHxyhRSuHumwZ9OxUQ/question).
 * - getStableAccessToken, `POST /cgi-bin/stable_token`: normal mode returns the current token while
 *   it is valid, and a new one when less than 5 minutes are left (both usable during those 5 minutes,
 *   so `expires_in >= 300`); `force_refresh: true` invalidates the previous token and returns a new
 *   one, at most 20 times a day and at least 30 s apart ("否则不会刷新": a force within 30 s does not
 *   refresh, it answers like normal mode).
 *   https://developers.weixin.qq.com/minigame/dev/api-backend/open-api/access-token/auth.getStableAccessToken.html,
 *   https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken.
 *   Over the daily force limit: 45009 "reach max api daily quota limit", as WeChat answers it for
 *   the token APIs: https://developers.weixin.qq.com/community/develop/doc/0000ce5994c6c8dd4ec1ef58566400.
 *   Stable and classic tokens are isolated from each other (same pages).
 * - getAccessToken, `GET /cgi-bin/token`: every call returns a new token; the previous one stays
 *   usable 5 more minutes. Afterwards, or past its 7200 s: 42001 "access_token expired".
 *   https://developers.weixin.qq.com/doc/oplatform/developers/dev/AccessToken.html
 * - getPhoneNumber, `POST /wxa/business/getuserphonenumber?access_token=`: a phone code works once
 *   and for 5 minutes; `phone_info { phoneNumber, purePhoneNumber, countryCode, watermark }`.
 *   https://developers.weixin.qq.com/miniprogram/dev/server/API/user-info/phone-number/api_getphonenumber
 *   (a used, expired or foreign code answers 40029:
 *   https://developers.weixin.qq.com/community/develop/doc/0002c8f70c84c8c726f166df166c00).
 * - msgSecCheck v2, `POST /wxa/msg_sec_check?access_token=`: `{ version: 2, openid, scene, content }`;
 *   scene 1–4 (else 40129), the openid must have visited the mini program within 2 hours (else 61010
 *   "user access log timeout"), 40003 invalid openid; `result { suggest, label }`, `detail`, `trace_id`.
 *   https://developers.weixin.qq.com/miniprogram/dev/server/API/sec-center/sec-check/api_msgseccheck.html,
 *   https://developers.weixin.qq.com/miniprogram/en/security/content/security.msgSecCheck-v1.html (errcodes).
 *
 * Test controls (not WeChat): `mintCode`, `mintPhoneCode`, `encryptFor`, `expireAccessTokens`,
 * `fail` / `delay` / `html` faults, `stop` / `start`, call counts. Other processes reach the same
 * controls over HTTP (JSON bodies; a bad one answers 400 `{ error, message }`):
 *   POST /__fake/codes {openid, unionid?} → {code}      POST /__fake/phone-codes {phoneNumber, countryCode?} → {code}
 *   POST /__fake/expire-access-token → {ok}             POST /__fake/encrypt {openid, data, watermarkAppid?} → {encryptedData, iv}
 *   POST /__fake/fault {api, kind: 'fail'|'delay'|'html'|'clear', errcode?, errmsg?, ms?, times?} → {ok}
 *   GET  /__fake/stats → calls                          POST /__fake/reset-calls → {ok}
 * Any other path answers 404 JSON.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { createListener } from './listener'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

/** The WeChat APIs the fake serves; faults and counts are kept per API. */
export type FakeWechatApi = 'jscode2session' | 'stable_token' | 'token' | 'getuserphonenumber' | 'msg_sec_check'

export const FAKE_WECHAT_APIS: readonly FakeWechatApi[] = ['jscode2session', 'stable_token', 'token', 'getuserphonenumber', 'msg_sec_check']

export interface FakeWechatOptions {
  /** The mini program's AppID. Default 'wxfakeappid00001'. */
  appid?: string
  /** Its AppSecret. Default 'fake-wechat-app-secret-0000000000'. */
  secret?: string
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number
  /** Clock in ms since epoch, for tests (code expiry, token lifetimes, the force-refresh gap and day). Default Date.now. */
  now?: () => number
  /** How long a login or phone code stays usable. Default 300000 (5 minutes, as WeChat). */
  codeTtlMs?: number
  /** access_token lifetime. Default 7200 s, as WeChat. */
  accessTokenTtlSeconds?: number
  /**
   * Accept any unknown login code of 6–128 `[A-Za-z0-9_-]` once (still single-use), for an openid
   * derived from the code with its last `-…` segment and any numeric counter before it stripped
   * (`alice-1` and `alice-2` are one user, and so are `code-1-x7` and `code-2-k3`);
   * and any phone code of that shape, for a number derived from it. Default false: only minted codes work.
   */
  acceptAnyCode?: boolean
  /** msgSecCheck answers `suggest: 'risky'` (label 20001) for text containing one of these. Default ['违规', 'risky-word']. */
  riskyWords?: string[]
  /** msgSecCheck answers `suggest: 'review'` (label 21000) for text containing one of these. Default ['待审', 'review-word']. */
  reviewWords?: string[]
}

export interface FakeWechatCalls {
  jscode2session: number
  /** Every stable_token call, forced or not. */
  stable_token: number
  /** The stable_token calls that asked for `force_refresh: true` (whether or not WeChat's limits let them refresh). */
  stable_token_forced: number
  token: number
  getuserphonenumber: number
  msg_sec_check: number
}

export interface FaultOptions {
  /** Apply to the next `times` calls of that API only. Default: until `clearFaults()`. */
  times?: number
}

export interface EncryptOptions {
  /** Watermark appid; default the fake's appid. Use another one to test the mismatch check. */
  watermarkAppid?: string
  /** Watermark timestamp in seconds; default now. */
  timestamp?: number
  /** Encrypt with this session_key instead of the openid's current one (a stale key, say). */
  sessionKey?: string
}

export interface FakeWechat {
  /** Base URL, `http://127.0.0.1:<port>`, no trailing slash. Same after `stop()`/`start()`. */
  readonly url: string
  readonly port: number
  readonly appid: string
  readonly secret: string
  /** A snapshot of the call counts. */
  readonly calls: FakeWechatCalls
  resetCalls(): void
  /** A new single-use login code for this user, usable for `codeTtlMs`. `unionid` is returned by code2Session (Open Platform binding). */
  mintCode(openid: string, options?: { unionid?: string }): string
  /** A new single-use phone code (what `getPhoneNumber`'s button hands the client). countryCode default '86'. */
  mintPhoneCode(phoneNumber: string, options?: { countryCode?: string }): string
  /** The session_key of this openid's latest successful code2Session, or undefined. */
  sessionKeyOf(openid: string): string | undefined
  /**
   * What wx.getWeRunData / getShareInfo hand the client: `data` plus `watermark { appid, timestamp }`,
   * AES-128-CBC (PKCS#7) with the openid's current session_key, base64. Throws when the openid has no session_key.
   */
  encryptFor(openid: string, data: Record<string, unknown>, options?: EncryptOptions): { encryptedData: string; iv: string }
  /** Every access_token issued so far stops working now (as if its time ran out): the next call with one gets 42001. */
  expireAccessTokens(): void
  /** Answer the next calls of `api` with this errcode (e.g. -1 busy, 45011 rate limited). */
  fail(api: FakeWechatApi, errcode: number, options?: FaultOptions & { errmsg?: string }): void
  /** Hold the next calls of `api` for `ms` before answering (for timeouts). A request whose client went away meanwhile is dropped unprocessed. */
  delay(api: FakeWechatApi, ms: number, options?: FaultOptions): void
  /** Answer the next calls of `api` with HTTP 502 text/html, like a broken gateway. */
  html(api: FakeWechatApi, options?: FaultOptions): void
  clearFaults(): void
  /** Close the listener and every open connection (WeChat unreachable). State is kept. */
  stop(): Promise<void>
  /** Listen again on the same port. */
  start(): Promise<void>
  /** Stop for good. */
  close(): Promise<void>
}

const DEFAULT_APPID = 'wxfakeappid00001'
const DEFAULT_SECRET = 'fake-wechat-app-secret-0000000000'
const FIVE_MINUTES_MS = 5 * 60 * 1000
const FORCE_GAP_MS = 30 * 1000
const FORCE_DAILY_LIMIT = 20
const VISIT_WINDOW_MS = 2 * 60 * 60 * 1000
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000
const MAX_BODY_BYTES = 1024 * 1024
const CODE_SHAPE = /^[A-Za-z0-9_-]{6,128}$/

/** WeChat's errmsg for each errcode the fake answers (the text WeChat sends, without its `rid`). */
const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40003: 'invalid openid',
  40013: 'invalid appid',
  40029: 'invalid code',
  40125: 'invalid appsecret',
  40129: 'invalid scene',
  40163: 'code been used',
  41001: 'access_token missing',
  41002: 'appid missing',
  41004: 'appsecret missing',
  41008: 'missing code',
  42001: 'access_token expired',
  43001: 'require GET method',
  43002: 'require POST method',
  44002: 'empty post data',
  45009: 'reach max api daily quota limit',
  45011: 'api minute-quota reach limit mustslower retry next minute',
  47001: 'data format error',
  61010: 'user access log timeout',
}

interface LoginCode {
  openid: string
  unionid?: string
  mintedAt: number
  used: boolean
}

interface PhoneCode {
  phoneNumber: string
  countryCode: string
  mintedAt: number
  used: boolean
}

interface UserRecord {
  sessionKey: string
  unionid?: string
  /** Last successful code2Session (ms): msgSecCheck wants a visit within 2 hours. */
  lastVisitAt: number
}

interface AccessToken {
  value: string
  kind: 'stable' | 'classic'
  /** ms since epoch; at or after it the token answers 42001. */
  expiresAt: number
  /** Set when a forced refresh replaced it: it answers 40001 at once. */
  invalidated: boolean
}

interface AnswerFault {
  kind: 'fail' | 'html'
  errcode: number
  errmsg: string
  remaining: number | null
}

interface DelayFault {
  ms: number
  remaining: number | null
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.error ?? status))
  }
}

function wechatError(errcode: number, errmsg?: string): { errcode: number; errmsg: string } {
  return { errcode, errmsg: (errmsg ?? ERRMSG[errcode] ?? 'error') + ', rid: ' + randomBytes(6).toString('hex') }
}

function zeroCalls(): FakeWechatCalls {
  return { jscode2session: 0, stable_token: 0, stable_token_forced: 0, token: 0, getuserphonenumber: 0, msg_sec_check: 0 }
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new TypeError('createFakeWechat: ' + message)
}

/** Starts a fake WeChat API on 127.0.0.1. Resolves once it listens; `close()` when done. */
export async function createFakeWechat(options: FakeWechatOptions = {}): Promise<FakeWechat> {
  const appid = options.appid ?? DEFAULT_APPID
  const secret = options.secret ?? DEFAULT_SECRET
  const now = options.now ?? Date.now
  const codeTtlMs = options.codeTtlMs ?? FIVE_MINUTES_MS
  const tokenTtlMs = (options.accessTokenTtlSeconds ?? 7200) * 1000
  const acceptAnyCode = options.acceptAnyCode ?? false
  const riskyWords = options.riskyWords ?? ['违规', 'risky-word']
  const reviewWords = options.reviewWords ?? ['待审', 'review-word']
  check(typeof appid === 'string' && appid.length > 0, 'appid must be a non-empty string')
  check(typeof secret === 'string' && secret.length > 0, 'secret must be a non-empty string')
  check(typeof now === 'function', 'now must be a function')
  check(Number.isFinite(codeTtlMs) && codeTtlMs > 0, 'codeTtlMs must be a positive number')
  check(Number.isFinite(tokenTtlMs) && tokenTtlMs >= 2000, 'accessTokenTtlSeconds must be at least 2')
  check(options.port === undefined || (Number.isInteger(options.port) && options.port >= 0 && options.port < 65536), 'port must be an integer 0–65535')
  check(Array.isArray(riskyWords) && riskyWords.every((w) => typeof w === 'string' && w.length > 0), 'riskyWords must be non-empty strings')
  check(Array.isArray(reviewWords) && reviewWords.every((w) => typeof w === 'string' && w.length > 0), 'reviewWords must be non-empty strings')
  // Normal mode renews when less than 5 minutes are left; with a lifetime under 10 minutes (tests), at half of it.
  const renewMarginMs = Math.min(FIVE_MINUTES_MS, Math.floor(tokenTtlMs / 2))
  const overlapMs = Math.min(FIVE_MINUTES_MS, Math.floor(tokenTtlMs / 2))

  const loginCodes = new Map<string, LoginCode>()
  const phoneCodes = new Map<string, PhoneCode>()
  const users = new Map<string, UserRecord>()
  const tokens = new Map<string, AccessToken>()
  let stableCurrent: AccessToken | null = null
  let classicCurrent: AccessToken | null = null
  const forced = { day: -1, count: 0, lastAt: null as number | null }
  let calls = zeroCalls()
  const answerFaults = new Map<FakeWechatApi, AnswerFault>()
  const delayFaults = new Map<FakeWechatApi, DelayFault>()
  let tokenSeq = 0

  // ---- codes and users -------------------------------------------------------------------

  function openidForAccount(account: string): string {
    // 28 characters like WeChat's openids, stable per (appid, account).
    return 'o' + createHash('sha256').update('openid:' + appid + ':' + account).digest('base64url').slice(0, 27)
  }

  function mintCode(openid: string, opts: { unionid?: string } = {}): string {
    if (typeof openid !== 'string' || openid.length === 0) throw new TypeError('mintCode: openid must be a non-empty string')
    if (opts.unionid !== undefined && (typeof opts.unionid !== 'string' || opts.unionid.length === 0)) throw new TypeError('mintCode: unionid must be a non-empty string')
    const code = randomBytes(24).toString('base64url')
    loginCodes.set(code, { openid, unionid: opts.unionid, mintedAt: now(), used: false })
    return code
  }

  function mintPhoneCode(phoneNumber: string, opts: { countryCode?: string } = {}): string {
    if (typeof phoneNumber !== 'string' || !/^[0-9]{5,20}$/.test(phoneNumber)) throw new TypeError('mintPhoneCode: phoneNumber must be 5–20 digits')
    const countryCode = opts.countryCode ?? '86'
    if (typeof countryCode !== 'string' || !/^[0-9]{1,4}$/.test(countryCode)) throw new TypeError('mintPhoneCode: countryCode must be 1–4 digits')
    const code = randomBytes(32).toString('hex')
    phoneCodes.set(code, { phoneNumber, countryCode, mintedAt: now(), used: false })
    return code
  }

  /** A login code, known or (with acceptAnyCode) of the right shape, or the errcode WeChat answers. */
  function redeemLoginCode(code: string): LoginCode | number {
    let entry = loginCodes.get(code)
    if (!entry) {
      if (!acceptAnyCode || !CODE_SHAPE.test(code)) return 40029
      // The last `-…` segment is the code's own nonce; a numeric counter before it is too (the SDK's
      // fake wx.login hands out `code-<n>-<nonce>`), so every login of one fake wx is one user.
      const account = code.replace(/-[^-]*$/, '').replace(/(-\d+)+$/, '')
      entry = { openid: openidForAccount(account || code), mintedAt: now(), used: false }
      loginCodes.set(code, entry)
    }
    if (entry.used) return 40163
    if (now() - entry.mintedAt > codeTtlMs) return 40029
    entry.used = true
    return entry
  }

  function redeemPhoneCode(code: string): PhoneCode | number {
    let entry = phoneCodes.get(code)
    if (!entry) {
      if (!acceptAnyCode || !CODE_SHAPE.test(code)) return 40029
      const digits = BigInt('0x' + createHash('sha256').update('phone:' + code).digest('hex').slice(0, 15)) % 1_000_000_000n
      entry = { phoneNumber: '13' + digits.toString().padStart(9, '0'), countryCode: '86', mintedAt: now(), used: false }
      phoneCodes.set(code, entry)
    }
    // A phone code that was used or has expired is just invalid to WeChat: 40029.
    if (entry.used || now() - entry.mintedAt > codeTtlMs) return 40029
    entry.used = true
    return entry
  }

  function encryptFor(openid: string, data: Record<string, unknown>, opts: EncryptOptions = {}): { encryptedData: string; iv: string } {
    const sessionKey = opts.sessionKey ?? users.get(openid)?.sessionKey
    if (!sessionKey) throw new Error(`encryptFor: ${openid} has no session_key (no code2Session yet)`)
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new TypeError('encryptFor: data must be an object')
    const key = Buffer.from(sessionKey, 'base64')
    if (key.length !== 16) throw new TypeError('encryptFor: a session_key is 16 bytes, base64')
    const iv = randomBytes(16)
    const plain = JSON.stringify({ ...data, watermark: { appid: opts.watermarkAppid ?? appid, timestamp: opts.timestamp ?? Math.floor(now() / 1000) } })
    const cipher = createCipheriv('aes-128-cbc', key, iv) // PKCS#7 padding is node's default
    const encrypted = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return { encryptedData: encrypted.toString('base64'), iv: iv.toString('base64') }
  }

  // ---- access tokens ---------------------------------------------------------------------

  function issueToken(kind: AccessToken['kind']): AccessToken {
    const token: AccessToken = {
      value: `${++tokenSeq}_${randomBytes(96).toString('base64url')}`,
      kind,
      expiresAt: now() + tokenTtlMs,
      invalidated: false,
    }
    tokens.set(token.value, token)
    return token
  }

  /** The previous token stays usable for the overlap (never longer than its own lifetime). */
  function retire(old: AccessToken | null): void {
    if (old && !old.invalidated) old.expiresAt = Math.min(old.expiresAt, now() + overlapMs)
  }

  function tokenAnswer(token: AccessToken): { access_token: string; expires_in: number } {
    return { access_token: token.value, expires_in: Math.max(0, Math.floor((token.expiresAt - now()) / 1000)) }
  }

  /** 0 when the token may call WeChat, else the errcode. */
  function tokenErrcode(value: string | null): number {
    if (!value) return 41001
    const token = tokens.get(value)
    if (!token || token.invalidated) return 40001
    if (now() >= token.expiresAt) return 42001
    return 0
  }

  function stableNormal(): { access_token: string; expires_in: number } {
    const current = stableCurrent
    if (current && !current.invalidated && current.expiresAt - now() > renewMarginMs) return tokenAnswer(current)
    const next = issueToken('stable')
    retire(current)
    stableCurrent = next
    return tokenAnswer(next)
  }

  function stableForced(): { access_token: string; expires_in: number } | number {
    const t = now()
    const day = Math.floor((t + BEIJING_OFFSET_MS) / DAY_MS) // WeChat's days are Beijing days
    if (day !== forced.day) {
      forced.day = day
      forced.count = 0
    }
    // "连续使用该模式时,请保证调用时间隔至少为30s,否则不会刷新": within 30 s, no refresh.
    if (forced.lastAt !== null && t - forced.lastAt < FORCE_GAP_MS) return stableNormal()
    if (forced.count >= FORCE_DAILY_LIMIT) return 45009
    forced.count++
    forced.lastAt = t
    // "会导致上次获取的 access_token 失效": the previous stable token stops at once (no overlap).
    if (stableCurrent) stableCurrent.invalidated = true
    stableCurrent = issueToken('stable')
    return tokenAnswer(stableCurrent)
  }

  function classicToken(): { access_token: string; expires_in: number } {
    const next = issueToken('classic')
    retire(classicCurrent)
    classicCurrent = next
    return tokenAnswer(next)
  }

  function expireAccessTokens(): void {
    const t = now()
    for (const token of tokens.values()) if (token.expiresAt > t) token.expiresAt = t
  }

  // ---- faults ----------------------------------------------------------------------------

  function checkApi(api: unknown, method: string): asserts api is FakeWechatApi {
    if (!FAKE_WECHAT_APIS.includes(api as FakeWechatApi)) throw new TypeError(`${method}: api must be one of ${FAKE_WECHAT_APIS.join(', ')}`)
  }
  function checkTimes(times: unknown, method: string): number | null {
    if (times === undefined) return null
    if (!Number.isInteger(times) || (times as number) < 1) throw new TypeError(`${method}: times must be a positive integer`)
    return times as number
  }

  function fail(api: FakeWechatApi, errcode: number, opts: FaultOptions & { errmsg?: string } = {}): void {
    checkApi(api, 'fail')
    if (!Number.isInteger(errcode) || errcode === 0) throw new TypeError('fail: errcode must be a non-zero integer')
    answerFaults.set(api, { kind: 'fail', errcode, errmsg: opts.errmsg ?? ERRMSG[errcode] ?? 'fake failure', remaining: checkTimes(opts.times, 'fail') })
  }
  function delay(api: FakeWechatApi, ms: number, opts: FaultOptions = {}): void {
    checkApi(api, 'delay')
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError('delay: ms must be a non-negative number')
    delayFaults.set(api, { ms, remaining: checkTimes(opts.times, 'delay') })
  }
  function html(api: FakeWechatApi, opts: FaultOptions = {}): void {
    checkApi(api, 'html')
    answerFaults.set(api, { kind: 'html', errcode: 0, errmsg: '', remaining: checkTimes(opts.times, 'html') })
  }
  function clearFaults(): void {
    answerFaults.clear()
    delayFaults.clear()
  }

  function takeFault<F extends { remaining: number | null }>(map: Map<FakeWechatApi, F>, api: FakeWechatApi): F | undefined {
    const fault = map.get(api)
    if (!fault) return undefined
    if (fault.remaining !== null && --fault.remaining <= 0) map.delete(api)
    return fault
  }


  // ---- HTTP ------------------------------------------------------------------------------

  function send(res: ServerResponse, status: number, body: unknown): void {
    if (res.writableEnded || res.destroyed) return
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  /** The request body as text. Over MAX_BODY_BYTES it is drained (not kept) and answered 413, so the client gets a clean answer. */
  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      req.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > 16 * MAX_BODY_BYTES) req.destroy() // not worth draining
        else if (size <= MAX_BODY_BYTES) chunks.push(chunk)
      })
      req.on('end', () => {
        if (size > MAX_BODY_BYTES) reject(new HttpError(413, { error: 'payload_too_large', message: `body over ${MAX_BODY_BYTES} bytes` }))
        else resolve(Buffer.concat(chunks).toString('utf8'))
      })
      req.on('error', reject)
    })
  }

  /** WeChat's JSON body parsing: empty → 44002, not a JSON object → 47001. */
  function parseWechatJson(text: string): Record<string, unknown> | number {
    if (text.trim() === '') return 44002
    try {
      const value: unknown = JSON.parse(text)
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : 47001
    } catch {
      return 47001
    }
  }

  /** The body of a `/__fake/…` control call: a JSON object, or 400. */
  async function controlJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const text = await readBody(req)
    if (text.trim() === '') return {}
    try {
      const value: unknown = JSON.parse(text)
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
    } catch {
      // falls through
    }
    throw new HttpError(400, { error: 'invalid_json', message: 'the body must be a JSON object' })
  }

  type Answer = Record<string, unknown> | number

  function jscode2session(q: URLSearchParams): Answer {
    if (!q.get('appid')) return 41002
    if (q.get('appid') !== appid) return 40013
    if (!q.get('secret')) return 41004
    if (q.get('secret') !== secret) return 40125
    const code = q.get('js_code')
    if (!code) return 41008
    if (q.get('grant_type') !== 'authorization_code') return 40002
    const entry = redeemLoginCode(code)
    if (typeof entry === 'number') return entry
    const user = users.get(entry.openid)
    const unionid = entry.unionid ?? user?.unionid
    const sessionKey = randomBytes(16).toString('base64')
    users.set(entry.openid, { sessionKey, unionid, lastVisitAt: now() })
    // Success carries no errcode, as WeChat's does; unionid only with an Open Platform binding.
    return unionid ? { session_key: sessionKey, openid: entry.openid, unionid } : { session_key: sessionKey, openid: entry.openid }
  }

  function credentials(grantType: unknown, id: unknown, key: unknown): number {
    if (grantType !== 'client_credential') return 40002
    if (!id) return 41002
    if (id !== appid) return 40013
    if (!key) return 41004
    if (key !== secret) return 40125
    return 0
  }

  function stableToken(body: Record<string, unknown> | number): Answer {
    if (typeof body === 'number') return body
    const forceRefresh = body.force_refresh === true
    const bad = credentials(body.grant_type, body.appid, body.secret)
    if (bad) return bad
    return forceRefresh ? stableForced() : stableNormal()
  }

  function token(q: URLSearchParams): Answer {
    const bad = credentials(q.get('grant_type'), q.get('appid'), q.get('secret'))
    return bad || classicToken()
  }

  function getUserPhoneNumber(body: Record<string, unknown> | number, q: URLSearchParams): Answer {
    const bad = tokenErrcode(q.get('access_token'))
    if (bad) return bad
    if (typeof body === 'number') return body
    if (typeof body.code !== 'string' || body.code === '') return 47001
    const entry = redeemPhoneCode(body.code)
    if (typeof entry === 'number') return entry
    const international = entry.countryCode !== '86'
    return {
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: international ? `+${entry.countryCode}${entry.phoneNumber}` : entry.phoneNumber,
        purePhoneNumber: entry.phoneNumber,
        countryCode: entry.countryCode,
        watermark: { timestamp: Math.floor(now() / 1000), appid },
      },
    }
  }

  function msgSecCheck(body: Record<string, unknown> | number, q: URLSearchParams): Answer {
    const bad = tokenErrcode(q.get('access_token'))
    if (bad) return bad
    if (typeof body === 'number') return body
    if (typeof body.content !== 'string') return 47001
    const traceId = `${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`
    const hit = (words: string[]) => words.find((w) => (body.content as string).includes(w))
    const risky = hit(riskyWords)
    const review = risky ? undefined : hit(reviewWords)
    if (body.version !== 2) {
      // 1.0 (content only): 87014 for risky content, else ok.
      return risky ? { errcode: 87014, errmsg: 'risky content' } : { errcode: 0, errmsg: 'ok' }
    }
    if (![1, 2, 3, 4].includes(body.scene as number)) return 40129
    if (typeof body.openid !== 'string' || body.openid === '') return 40003
    const user = users.get(body.openid)
    if (!user || now() - user.lastVisitAt > VISIT_WINDOW_MS) return 61010
    const suggest = risky ? 'risky' : review ? 'review' : 'pass'
    const label = risky ? 20001 : review ? 21000 : 100
    const detail: Record<string, unknown>[] = [{ strategy: 'content_model', errcode: 0, suggest, label, prob: risky || review ? 90 : 0 }]
    if (risky || review) detail.push({ strategy: 'keyword', errcode: 0, suggest, label, level: 20, keyword: risky ?? review })
    return { errcode: 0, errmsg: 'ok', result: { suggest, label }, detail, trace_id: traceId }
  }

  const WECHAT_ROUTES: Record<string, { api: FakeWechatApi; method: 'GET' | 'POST' }> = {
    '/sns/jscode2session': { api: 'jscode2session', method: 'GET' },
    '/cgi-bin/stable_token': { api: 'stable_token', method: 'POST' },
    '/cgi-bin/token': { api: 'token', method: 'GET' },
    '/wxa/business/getuserphonenumber': { api: 'getuserphonenumber', method: 'POST' },
    '/wxa/msg_sec_check': { api: 'msg_sec_check', method: 'POST' },
  }

  async function serveWechat(req: IncomingMessage, res: ServerResponse, route: { api: FakeWechatApi; method: 'GET' | 'POST' }, q: URLSearchParams): Promise<void> {
    calls[route.api]++
    let clientGone = false
    res.once('close', () => {
      clientGone = !res.writableEnded
    })
    const slow = takeFault(delayFaults, route.api)
    if (slow) await sleep(slow.ms)
    if (clientGone || res.destroyed) return // nobody is waiting: the call is dropped unprocessed
    const body = req.method === 'POST' ? parseWechatJson(await readBody(req)) : 44002
    if (route.api === 'stable_token' && typeof body === 'object' && body.force_refresh === true) calls.stable_token_forced++
    const fault = takeFault(answerFaults, route.api)
    if (fault?.kind === 'html') {
      const page = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>'
      res.writeHead(502, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(page) })
      res.end(page)
      return
    }
    if (fault?.kind === 'fail') return send(res, 200, wechatError(fault.errcode, fault.errmsg))
    if (req.method !== route.method) return send(res, 200, wechatError(route.method === 'POST' ? 43002 : 43001))
    let answer: Answer
    switch (route.api) {
      case 'jscode2session':
        answer = jscode2session(q)
        break
      case 'stable_token':
        answer = stableToken(body)
        break
      case 'token':
        answer = token(q)
        break
      case 'getuserphonenumber':
        answer = getUserPhoneNumber(body, q)
        break
      case 'msg_sec_check':
        answer = msgSecCheck(body, q)
        break
    }
    send(res, 200, typeof answer === 'number' ? wechatError(answer) : answer)
  }

  function stringField(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
    const value = body[name]
    if (value === undefined && !required) return undefined
    if (typeof value !== 'string' || value === '') throw new HttpError(400, { error: 'bad_request', message: `${name} must be a non-empty string` })
    return value
  }

  /** Test controls for other processes. */
  async function serveControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const post = req.method === 'POST'
    if (path === '/__fake/stats' && req.method === 'GET') return send(res, 200, { ...calls })
    if (path === '/__fake/reset-calls' && post) {
      calls = zeroCalls()
      return send(res, 200, { ok: true })
    }
    if (path === '/__fake/codes' && post) {
      const body = await controlJson(req)
      const openid = stringField(body, 'openid', true) as string
      return send(res, 200, { code: mintCode(openid, { unionid: stringField(body, 'unionid', false) }) })
    }
    if (path === '/__fake/phone-codes' && post) {
      const body = await controlJson(req)
      const phoneNumber = stringField(body, 'phoneNumber', true) as string
      try {
        return send(res, 200, { code: mintPhoneCode(phoneNumber, { countryCode: stringField(body, 'countryCode', false) }) })
      } catch (err) {
        throw new HttpError(400, { error: 'bad_request', message: (err as Error).message })
      }
    }
    if (path === '/__fake/expire-access-token' && post) {
      expireAccessTokens()
      return send(res, 200, { ok: true })
    }
    if (path === '/__fake/encrypt' && post) {
      const body = await controlJson(req)
      const openid = stringField(body, 'openid', true) as string
      try {
        return send(res, 200, encryptFor(openid, (body.data ?? {}) as Record<string, unknown>, { watermarkAppid: stringField(body, 'watermarkAppid', false) }))
      } catch (err) {
        throw new HttpError(400, { error: 'bad_request', message: (err as Error).message })
      }
    }
    if (path === '/__fake/fault' && post) {
      const body = await controlJson(req)
      try {
        if (body.kind === 'clear') clearFaults()
        else if (body.kind === 'fail') fail(body.api as FakeWechatApi, body.errcode as number, { times: body.times as number | undefined, errmsg: stringField(body, 'errmsg', false) })
        else if (body.kind === 'delay') delay(body.api as FakeWechatApi, body.ms as number, { times: body.times as number | undefined })
        else if (body.kind === 'html') html(body.api as FakeWechatApi, { times: body.times as number | undefined })
        else throw new TypeError("fault: kind must be 'fail', 'delay', 'html' or 'clear'")
      } catch (err) {
        if (err instanceof HttpError) throw err
        throw new HttpError(400, { error: 'bad_request', message: (err as Error).message })
      }
      return send(res, 200, { ok: true })
    }
    throw new HttpError(404, { error: 'not_found', message: `no fake control ${req.method} ${path}` })
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const route = WECHAT_ROUTES[url.pathname]
    if (route) return serveWechat(req, res, route, url.searchParams)
    if (url.pathname.startsWith('/__fake/')) return serveControl(req, res, url.pathname)
    send(res, 404, { error: 'not_found', message: `no such API: ${req.method} ${url.pathname}` })
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) send(res, err.status, err.body)
      else send(res, 500, { error: 'internal_error', message: String((err as Error)?.message ?? err) })
    })
  })
  server.on('clientError', (_err, socket) => socket.destroy())

  const port = options.port ?? 0
  const listener = createListener(server, port, 'fake WeChat')
  const { stop, sleep } = listener

  await listener.listen()

  return {
    get url() {
      return `http://127.0.0.1:${listener.port}`
    },
    get port() {
      return listener.port
    },
    appid,
    secret,
    get calls() {
      return { ...calls }
    },
    resetCalls() {
      calls = zeroCalls()
    },
    mintCode,
    mintPhoneCode,
    sessionKeyOf: (openid) => users.get(openid)?.sessionKey,
    encryptFor,
    expireAccessTokens,
    fail,
    delay,
    html,
    clearFaults,
    stop,
    start: listener.start,
    close: listener.close,
  }
}
