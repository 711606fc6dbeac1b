/**
 * Douyin (ByteDance) mini programs: the code exchange, the phone number (both forms of the
 * getPhoneNumber button), the text check and the shared client_token.
 *
 * The code exchange:
 * `POST https://developer.toutiao.com/api/apps/v2/jscode2session`, JSON `{ appid, secret, code, anonymous_code }`
 * (at least one of the two codes; each works once) → `{ err_no, err_tips, log_id, data: { session_key,
 * openid, anonymous_openid, unionid } }`. `openid`, `session_key` and `unionid` come only when a
 * `code` was sent; `anonymous_openid` only when an `anonymous_code` was.
 * Source: https://developer.open-douyin.com/docs/resource/zh-CN/mini-app/develop/server/log-in/code-2-session
 * (and https://partner.open-douyin.com/docs/resource/zh-CN/interaction/develop/server/log-in/code-2-session).
 * err_no values, from the same API's v1 table (the v2 page lists none; assumed unchanged):
 * -1 system error, 40015 bad appid, 40017 bad secret, 40018 bad code, 40019 bad anonymous_code,
 * anything else "parameter empty" — https://m.w3cschool.cn/microapp/microapp-jdxg36av.html.
 *
 * Mapping onto the kit's errors (WechatApiError with host 'Douyin', errcode = err_no):
 * 40018 / 40019 → wechat_invalid_code (400: the client logs in again; Douyin has no separate
 * "used" code, a used code is 40018), -1 → wechat_busy (503), 40015 / 40017 →
 * wechat_invalid_credential (502: this server's appid/secret are wrong), others → wechat_error.
 *
 * Guests: `tt.login({ force: false })` for a user not logged in to Douyin hands out only an
 * `anonymousCode`. Then the identity is Douyin's `anonymous_openid`, returned as
 * `openid: 'anonymous:' + anonymous_openid` (DOUYIN_GUEST_PREFIX) with no session_key: it can
 * never equal a real openid, and the app should treat that user as a guest (no phone number,
 * nothing that needs a session_key) until a login with a `code`.
 *
 * The phone number: the getPhoneNumber button's older `{ encryptedData, iv }`, opened with the
 * user's session_key (session-key-phone.ts), or, from base library 3.51.0, its `code` (5 minutes,
 * single use, not tt.login's code), exchanged by the server API "phonenumber.getPhoneNumber"
 * (https://developer.open-douyin.com/docs/resource/zh-CN/mini-app/develop/tutorial/open-capabilities/general-capabilities/new-phone-method).
 * That guide names the API but its server page could not be read: UNVERIFIED, this provider calls
 * `POST {openApiBase}/api/apps/v1/get_phonenumber_info/` with the header `access-token: <client_token>`
 * and JSON `{ code }`, and reads `{ err_no, err_msg, log_id, data }` where `data` is base64 RSA
 * ciphertext (the application public key of 开发配置; opened with `privateKey`, douyin-phone.ts)
 * of `{ phoneNumber, purePhoneNumber, countryCode, watermark: { appid, timestamp } }`. The
 * watermark must be this AppID and within 10 minutes of now (as session_key data must).
 * err_no: 28001003 (access_token invalid) and 28001008 (expired) renew the client_token once and
 * retry (ASSUMED for this API: the codes Douyin's other open.douyin.com mini-app APIs document,
 * https://developer.open-douyin.com/docs/resource/zh-CN/mini-app/develop/server/basic-abilities/content-security/get-user-encrypt-key);
 * 28001005 (system error, retry) and -1 → wechat_busy (503); 28001007 (parameter invalid: ASSUMED
 * to be what a bad, used or expired code gets) → wechat_invalid_code (400); anything else → wechat_error.
 *
 * The client_token (Douyin's app-level access token, shared by every instance through the store
 * under `douyin:<appid>`, access-token.ts): `POST {openApiBase}/oauth/client_token/` JSON
 * `{ client_key, client_secret, grant_type: 'client_credential' }` → `{ data: { access_token,
 * description, error_code, expires_in }, message }`; 2 hours; a new one leaves the previous one
 * valid for 5 more minutes; `data.error_code` 10002 bad parameters, 10003 unknown client_key,
 * 10013 wrong client_key/client_secret (→ wechat_invalid_credential, 502)
 * (https://partner.open-douyin.com/docs/resource/zh-CN/mini-app/develop/tutorial/beginner/token,
 * https://douyin.apifox.cn/api-128961756). Douyin has no forced mode and documents no daily cap:
 * a rejected token is simply replaced (`forceDailyLimit: Infinity`).
 *
 * The text check (nicknames): `POST {apiBase}/api/v2/tags/text/antidirt`, header `X-Token` (and
 * `access-token`, which the newer page's example uses) with the client_token, JSON
 * `{ tasks: [{ content }] }` → `{ log_id, data: [{ code, task_id, predicts: [{ prob, hit?, model_name,
 * target }], msg }] }`; `prob` 1 (or `hit: true`) means the text breaks the rules → 'risky'
 * (https://developer.open-douyin.com/docs/resource/zh-CN/mini-game/develop/server/content-safety/content-safety-check,
 * mini-app mirror https://m.w3cschool.cn/microapp/microapp-6gka36bn.html). A bad token answers
 * `{ error_id, code: 401, message, exception }`: renewed once and retried.
 */
import { AuthServerError, BadRequestError, ConfigError, UpstreamError, WechatApiError, type ErrorCode } from '../errors'
import { checkWatermark, MAX_DATA_AGE_SECONDS } from '../decrypt'
import { createAccessTokens, tokensPerStore, type TokenFailure } from '../access-token'
import type { HostSession, PhoneInfo, ProviderContext, SessionProvider, TextCheckResult } from '../types'
import { createWechatApi, fetchUpstream } from './host-api'
import { decryptedPhone } from './session-key-phone'
import { appSecretOptions, baseUrl, type ProviderHttpOptions } from './provider-options'
import { checkRsaPadding, loadDouyinAppKey, openDouyinPhoneData, type DouyinRsaPadding } from './douyin-phone'

export interface DouyinProviderOptions extends ProviderHttpOptions {
  /** The Douyin mini program's AppID (tt…). */
  appid: string
  /** Its AppSecret (stays on the server). */
  secret: string
  /** code2Session and the text check. Default 'https://developer.toutiao.com'; point it at `createFakeDouyin().url` in tests. */
  apiBase?: string
  /** The client_token and the phone-number code. Default 'https://open.douyin.com'; the fake serves both on its one URL. */
  openApiBase?: string
  /**
   * The application private key (a PEM, PKCS#8 or PKCS#1, or its bare base64 body): the pair of
   * the application public key set in the Douyin console (开发配置), with which Douyin encrypts
   * the phone number behind a getPhoneNumber `code`. Without it such a code is refused with a 400
   * saying so (the older `{ encryptedData, iv }` still works).
   */
  privateKey?: string
  /** The RSA padding of that phone number: 'pkcs1' (PKCS#1 v1.5, default) or 'oaep' (SHA-1). See douyin-phone.ts. */
  rsaPadding?: DouyinRsaPadding
  /** Renew the shared client_token when less than this is left. Default 300 s. */
  accessTokenMarginSeconds?: number
}

/** The openid of a Douyin guest (anonymous login) is this prefix + Douyin's anonymous_openid. */
export const DOUYIN_GUEST_PREFIX = 'anonymous:'

const API = 'api/apps/v2/jscode2session'
const TOKEN_API = 'oauth/client_token/'
const PHONE_API = 'api/apps/v1/get_phonenumber_info/'
const TEXT_API = 'api/v2/tags/text/antidirt'
/** A getPhoneNumber code longer than this is refused before Douyin is called (WeChat's are 32–64 characters). */
const MAX_PHONE_CODE_LENGTH = 512

/** err_no of the open.douyin.com mini-app APIs (see the file comment). */
export const DOUYIN_TOKEN_INVALID = 28001003
export const DOUYIN_TOKEN_EXPIRED = 28001008
/** ASSUMED: what the phone API answers for a bad, used or expired code ("参数不合法"). */
export const DOUYIN_BAD_PARAMETER = 28001007
export const DOUYIN_SYSTEM_ERROR = 28001005

function douyinCode(errNo: number): ErrorCode {
  switch (errNo) {
    case 40018:
    case 40019:
      return 'wechat_invalid_code'
    case -1:
      return 'wechat_busy'
    case 40015:
    case 40017:
      return 'wechat_invalid_credential'
    default:
      return 'wechat_error'
  }
}

/** The open platform's codes: the phone API's err_no and client_token's data.error_code. */
function openCode(errNo: number): ErrorCode {
  switch (errNo) {
    case DOUYIN_BAD_PARAMETER:
      return 'wechat_invalid_code'
    case -1:
    case DOUYIN_SYSTEM_ERROR:
      return 'wechat_busy'
    case DOUYIN_TOKEN_INVALID:
    case DOUYIN_TOKEN_EXPIRED:
    case 10003:
    case 10013:
      return 'wechat_invalid_credential'
    default:
      return 'wechat_error'
  }
}

/** Which failures are about the client_token: the phone API's 28001003/28001008, the text check's 401. */
function douyinTokenFailure(err: unknown): TokenFailure {
  if (!(err instanceof WechatApiError) || err.host !== 'Douyin') return null
  if (err.api === PHONE_API) return err.errcode === DOUYIN_TOKEN_EXPIRED ? 'expired' : err.errcode === DOUYIN_TOKEN_INVALID ? 'invalid' : null
  if (err.api === TEXT_API && err.errcode === 401) return 'invalid'
  return null
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** A number or a numeric string, else NaN. */
function num(value: unknown): number {
  if (typeof value === 'number') return value
  if (typeof value === 'string' && value.trim() !== '') return Number(value)
  return NaN
}

function badResponse(api: string, what: string): UpstreamError {
  return new UpstreamError('wechat_bad_response', api, `Douyin ${api} ${what}`)
}

function checkMargin(value: unknown): number {
  if (value === undefined) return 300
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value >= 7200) {
    throw new ConfigError('douyinProvider: accessTokenMarginSeconds must be a number of seconds from 0 to 7199 (a client_token lasts 7200 s)')
  }
  return value
}

/** A SessionProvider for `platform: 'douyin'`: `createAuthServer({ providers: { douyin: douyinProvider({ appid, secret }) } })`. */
export function douyinProvider(options: DouyinProviderOptions): SessionProvider {
  const { appid, secret, base, timeoutMs, fetch } = appSecretOptions('douyinProvider', options, 'https://developer.toutiao.com')
  const openBase = baseUrl('douyinProvider', 'openApiBase', options.openApiBase, 'https://open.douyin.com')
  const appKey = options.privateKey === undefined ? undefined : loadDouyinAppKey(options.privateKey)
  const rsaPadding = checkRsaPadding(options.rsaPadding)
  const marginSeconds = checkMargin(options.accessTokenMarginSeconds)
  const douyin = createWechatApi({ base, timeoutMs, fetch, emit: () => {}, host: 'Douyin' })

  /** One POST of JSON to a Douyin API, its answer's JSON object whatever the HTTP status (Douyin's errors are JSON too). */
  async function postJson(url: string, api: string, body: unknown, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const { status, text } = await fetchUpstream(
      fetch,
      url,
      { method: 'POST', headers: { ...headers, accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify(body) },
      { api, host: 'Douyin', timeoutMs },
    )
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw badResponse(api, `answered HTTP ${status} with something that is not JSON`)
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw badResponse(api, `answered HTTP ${status} with JSON that is not an object`)
    return json as Record<string, unknown>
  }

  /** Runs one call; a failure is told to the server's events (upstream_error) and thrown on. */
  async function reported<T>(context: ProviderContext, api: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (err) {
      if (err instanceof AuthServerError) context.emit({ type: 'upstream_error', api: (err as { api?: string }).api ?? api, code: err.code })
      throw err
    }
  }

  const tokensFor = tokensPerStore(({ store, now, emit }) =>
    createAccessTokens({
      store,
      key: `douyin:${appid}`,
      api: TOKEN_API,
      host: 'Douyin',
      marginSeconds,
      now,
      emit,
      tokenFailure: douyinTokenFailure,
      // No forced mode: any renewal is a new token; Douyin documents no daily cap. The gap only
      // folds one burst of rejections (every instance at once) into one token call.
      renewsExpired: false,
      forceDailyLimit: Infinity,
      forceGapMs: 5_000,
      async fetchToken() {
        const answer = await postJson(`${openBase}/${TOKEN_API}`, TOKEN_API, { client_key: appid, client_secret: secret, grant_type: 'client_credential' })
        const data = answer.data as Record<string, unknown> | undefined
        if (data === null || typeof data !== 'object' || Array.isArray(data)) throw badResponse(TOKEN_API, 'answered without data')
        const errorCode = data.error_code === undefined ? 0 : num(data.error_code)
        if (!Number.isFinite(errorCode)) throw badResponse(TOKEN_API, 'answered a non-numeric data.error_code')
        if (errorCode !== 0) {
          throw new WechatApiError(TOKEN_API, errorCode, typeof data.description === 'string' ? data.description : '', { host: 'Douyin', code: openCode(errorCode) })
        }
        return { token: data.access_token as string, expiresInSeconds: num(data.expires_in) }
      },
    }),
  )

  async function phoneFromCode(code: unknown, context: ProviderContext): Promise<PhoneInfo> {
    if (!appKey) {
      throw new BadRequestError(
        'unsupported_platform',
        "This server cannot read Douyin phone codes: give douyinProvider its privateKey (DOUYIN_PRIVATE_KEY for the bin), the application private key whose public key is set in the Douyin console (开发配置)",
      )
    }
    if (typeof code !== 'string' || code === '') throw new BadRequestError('code_required', 'douyin: code is required (the getPhoneNumber button event\'s e.detail.code)')
    if (code.length > MAX_PHONE_CODE_LENGTH) throw new BadRequestError('code_too_long', `douyin: code is longer than ${MAX_PHONE_CODE_LENGTH} characters`)
    const answer = await reported(context, PHONE_API, () =>
      tokensFor(context).withToken(async (token) => {
        const json = await postJson(`${openBase}/${PHONE_API}`, PHONE_API, { code }, { 'access-token': token })
        const errNo = num(json.err_no)
        if (!Number.isFinite(errNo)) throw badResponse(PHONE_API, 'answered without a numeric err_no')
        if (errNo !== 0) throw new WechatApiError(PHONE_API, errNo, typeof json.err_msg === 'string' ? json.err_msg : '', { host: 'Douyin', code: openCode(errNo) })
        return json
      }),
    )
    const info = reportedSync(context, PHONE_API, () => openDouyinPhoneData(appKey, rsaPadding, answer.data, PHONE_API))
    checkWatermark(info.watermark, appid)
    const stamp = num((info.watermark as { timestamp?: unknown }).timestamp)
    // Seconds, as every other watermark; a value in milliseconds is read as such (the answer is unverified).
    const seconds = stamp > 1e12 ? stamp / 1000 : stamp
    if (!Number.isFinite(seconds) || Math.abs(context.nowMs / 1000 - seconds) > MAX_DATA_AGE_SECONDS) {
      throw new BadRequestError('watermark_mismatch', `The phone number's watermark timestamp is missing or more than ${MAX_DATA_AGE_SECONDS / 60} minutes from now`)
    }
    const phoneNumber = nonEmpty(info.phoneNumber)
    if (!phoneNumber) throw badResponse(PHONE_API, 'answered data without phoneNumber')
    return { phoneNumber, purePhoneNumber: nonEmpty(info.purePhoneNumber) ?? phoneNumber, countryCode: info.countryCode === undefined || info.countryCode === null ? '' : String(info.countryCode) }
  }

  function reportedSync<T>(context: ProviderContext, api: string, call: () => T): T {
    try {
      return call()
    } catch (err) {
      if (err instanceof AuthServerError) context.emit({ type: 'upstream_error', api, code: err.code })
      throw err
    }
  }

  return {
    platform: 'douyin',
    appid,
    phoneNumber(credential, sessionKey, context) {
      if (credential.encryptedData !== undefined) return decryptedPhone('Douyin', appid, credential, sessionKey, context?.nowMs)
      if (!context) throw new AuthServerError('internal_error', 'douyinProvider.phoneNumber needs the server context for its client_token')
      return phoneFromCode(credential.code, context)
    },

    async checkText(input, context): Promise<TextCheckResult> {
      const answer = await reported(context, TEXT_API, () =>
        tokensFor(context).withToken(async (token) => {
          const json = await postJson(`${base}/${TEXT_API}`, TEXT_API, { tasks: [{ content: input.text }] }, { 'X-Token': token, 'access-token': token })
          if (json.error_id !== undefined || (json.code !== undefined && json.code !== 0)) {
            const code = num(json.code)
            const message = typeof json.message === 'string' ? json.message : ''
            throw new WechatApiError(TEXT_API, Number.isFinite(code) ? code : -1, message, { host: 'Douyin', code: code === 401 ? 'wechat_invalid_credential' : 'wechat_error' })
          }
          return json
        }),
      )
      return reportedSync(context, TEXT_API, () => {
        const task = Array.isArray(answer.data) ? (answer.data[0] as Record<string, unknown> | undefined) : undefined
        if (task === null || typeof task !== 'object') throw badResponse(TEXT_API, 'answered without data[0]')
        const taskCode = num(task.code)
        if (taskCode !== 0) {
          if (!Number.isFinite(taskCode)) throw badResponse(TEXT_API, 'answered data[0] without a numeric code')
          throw new WechatApiError(TEXT_API, taskCode, typeof task.msg === 'string' ? task.msg : '', { host: 'Douyin', code: 'wechat_error' })
        }
        const predicts = task.predicts
        // No verdict is no pass: the text is not saved unchecked.
        if (!Array.isArray(predicts) || predicts.length === 0) throw badResponse(TEXT_API, 'answered data[0] without predicts')
        const risky = predicts.some((p) => p !== null && typeof p === 'object' && ((p as { hit?: unknown }).hit === true || num((p as { prob?: unknown }).prob) === 1))
        const result: TextCheckResult = { suggest: risky ? 'risky' : 'pass', label: 0 }
        if (typeof answer.log_id === 'string' && answer.log_id !== '') result.traceId = answer.log_id
        return result
      })
    },

    accessToken(context, opts) {
      return tokensFor(context).get(opts)
    },

    async code2Session(input): Promise<HostSession> {
      const code = input?.code ?? ''
      const anonymousCode = input?.anonymousCode ?? ''
      if (typeof code !== 'string' || typeof anonymousCode !== 'string') throw new BadRequestError('code_required', 'douyin: code and anonymousCode must be strings')
      if (code === '' && anonymousCode === '') throw new BadRequestError('code_required', 'douyin: code or anonymousCode is required')
      const body: Record<string, string> = { appid, secret }
      if (code !== '') body.code = code
      if (anonymousCode !== '') body.anonymous_code = anonymousCode
      const answer = await douyin.call<{ err_no?: unknown; err_tips?: unknown; data?: unknown }>(API, { method: 'POST', body })
      const errNo = typeof answer.err_no === 'number' ? answer.err_no : typeof answer.err_no === 'string' && answer.err_no.trim() !== '' ? Number(answer.err_no) : NaN
      if (!Number.isFinite(errNo)) throw new UpstreamError('wechat_bad_response', API, `Douyin ${API} answered without a numeric err_no`)
      if (errNo !== 0) {
        throw new WechatApiError(API, errNo, typeof answer.err_tips === 'string' ? answer.err_tips : '', { host: 'Douyin', code: douyinCode(errNo) })
      }
      const data = (answer.data ?? {}) as Record<string, unknown>
      if (data === null || typeof data !== 'object') throw new UpstreamError('wechat_bad_response', API, `Douyin ${API} answered err_no 0 without data`)
      if (code !== '') {
        const openid = nonEmpty(data.openid)
        const sessionKey = nonEmpty(data.session_key)
        if (!openid || !sessionKey) throw new UpstreamError('wechat_bad_response', API, `Douyin ${API} answered without openid/session_key for a code`)
        const session: HostSession = { openid, sessionKey }
        const unionid = nonEmpty(data.unionid)
        if (unionid) session.unionid = unionid
        return session
      }
      const anonymousOpenid = nonEmpty(data.anonymous_openid)
      if (!anonymousOpenid) throw new UpstreamError('wechat_bad_response', API, `Douyin ${API} answered without anonymous_openid for an anonymous_code`)
      return { openid: DOUYIN_GUEST_PREFIX + anonymousOpenid }
    },
  }
}
