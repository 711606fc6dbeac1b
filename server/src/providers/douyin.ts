/**
 * Douyin (ByteDance) mini programs' code exchange:
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
 */
import { BadRequestError, UpstreamError, WechatApiError, type ErrorCode } from '../errors'
import type { HostSession, SessionProvider } from '../types'
import { createWechatApi } from './host-api'
import { decryptedPhone } from './session-key-phone'
import { appSecretOptions, type ProviderHttpOptions } from './provider-options'

export interface DouyinProviderOptions extends ProviderHttpOptions {
  /** The Douyin mini program's AppID (tt…). */
  appid: string
  /** Its AppSecret (stays on the server). */
  secret: string
  /** Default 'https://developer.toutiao.com'; point it at `createFakeDouyin().url` in tests. */
  apiBase?: string
}

/** The openid of a Douyin guest (anonymous login) is this prefix + Douyin's anonymous_openid. */
export const DOUYIN_GUEST_PREFIX = 'anonymous:'

const API = 'api/apps/v2/jscode2session'

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

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** A SessionProvider for `platform: 'douyin'`: `createAuthServer({ providers: { douyin: douyinProvider({ appid, secret }) } })`. */
export function douyinProvider(options: DouyinProviderOptions): SessionProvider {
  const { appid, secret, base, timeoutMs, fetch } = appSecretOptions('douyinProvider', options, 'https://developer.toutiao.com')
  const douyin = createWechatApi({ base, timeoutMs, fetch, emit: () => {}, host: 'Douyin' })

  return {
    platform: 'douyin',
    appid,
    phoneNumber(credential, sessionKey, context) {
      return decryptedPhone('Douyin', appid, credential, sessionKey, context?.nowMs)
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
