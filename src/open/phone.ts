/**
 * `bindPhoneNumber(auth, event)`: whatever phone-number credential the host hands out goes to your
 * server with the token and the host's name; only the server can exchange or decrypt it.
 *
 * What the POST body carries, per host (`auth.platform.phoneCredential` reads it):
 * - WeChat: `{ code, platform: 'weixin' }` (base library 2.21.2+); from older base libraries
 *   `{ encryptedData, iv, platform: 'weixin' }` (docs/platforms.md, "Client: open abilities").
 * - QQ: `{ encryptedData, iv, platform: 'qq' }` (or `{ code, … }` if the event carries one).
 * - Douyin: `{ encryptedData, iv, platform: 'douyin' }`; from base library 3.51.0 the event
 *   carries a `code` instead: `{ code, platform: 'douyin' }`
 *   (https://developer.open-douyin.com/docs/resource/zh-CN/mini-app/develop/tutorial/open-capabilities/general-capabilities/new-phone-method).
 * - Alipay: `{ response, platform: 'alipay' }`, the encrypted, signed `response` of
 *   `my.getPhoneNumber`, which this function calls itself after the user agreed in
 *   `<button open-type="getAuthorize" scope="phoneNumber" onGetAuthorize="…">`; that event
 *   carries no data (https://opendocs.alipay.com/mini/api/getphonenumber, @mini-types/my
 *   lib.my.d.ts getPhoneNumber).
 */
import { AuthError } from '../base/errors'
import { attempt, call, failure, label, requireApi, type HostFailure } from './host'
import { checkInstance, type AuthInstance } from './instance'

export interface PhoneNumberEvent {
  detail?: {
    errMsg?: string
    code?: string
    errno?: number
    encryptedData?: string
    iv?: string
    /** Alipay: my.getPhoneNumber's `response`, when you called it yourself. */
    response?: string
  }
}

export interface BindPhoneOptions {
  /** Default '/api/auth/phone'. */
  url?: string
  /**
   * 'body' (default): the JSON body above. 'query': a `code` and `platform` go in the query string
   * (`?code=…&platform=weixin`) instead; encrypted payloads (encryptedData / iv, Alipay's
   * `response`) always go in the body, out of URLs and their logs.
   */
  codeIn?: 'body' | 'query'
}

/** Throws the typed error for a refusal or failure the host reported. */
function refuse(e: HostFailure): never {
  const x = { errMsg: e.errMsg, errno: e.errno }
  // Douyin's "platform auth deny" is the platform refusing this mini program, not the user.
  throw /den(y|ied)|cancel|取消|拒绝/i.test(x.errMsg) && !/platform auth/.test(x.errMsg)
    ? new AuthError('PHONE_DENIED', 'The user declined to share the phone number: offer another way.', x)
    : x.errno === 1400001
      ? new AuthError('PHONE_QUOTA', 'Phone number quota used up: buy more or offer SMS verification.', x)
      : failure('PHONE_FAILED', 'getPhoneNumber', x)
}

/**
 * Posts the phone-number credential of the host (see the file comment for the body per host)
 * with the token; resolves with your server's answer. `event`: the getPhoneNumber button's event
 * (WeChat, QQ, Douyin). On Alipay call it from the getAuthorize button's `onGetAuthorize`
 * handler (its event, or nothing: my.getPhoneNumber is called here), or pass `{ detail: res }`
 * with the result of a my.getPhoneNumber you called yourself; not from `onError`. Rejects
 * PHONE_DENIED / PHONE_QUOTA / PHONE_FAILED / PHONE_NO_CODE without posting, and UNSUPPORTED on
 * Alipay without my.getPhoneNumber (base library before 1.16.4, or a framework that does not map
 * it: then call it yourself).
 */
export function bindPhoneNumber<T = unknown>(auth: AuthInstance, event?: PhoneNumberEvent, options: BindPhoneOptions = {}): Promise<T> {
  return attempt(() => {
    const host = checkInstance(auth, 'bindPhoneNumber')
    const p = auth.platform
    const url = options.url || '/api/auth/phone'
    const post = (detail: unknown): Promise<T> => {
      // A stand-in without `platform` is WeChat; it posts a code (base library 2.21.2+) only.
      const c = p ? p.phoneCredential(detail) : (detail as { code?: string }).code ? { code: (detail as { code: string }).code, platform: 'weixin' as const } : null
      if (!c) throw new AuthError('PHONE_NO_CODE', `The ${label(host)} phone event has no code, encryptedData/iv or response.`)
      return auth.request<T>(
        options.codeIn === 'query' && c.code
          ? { url: url + (/\?/.test(url) ? '&' : '?') + 'code=' + encodeURIComponent(c.code) + '&platform=' + c.platform, method: 'POST' }
          : { url, method: 'POST', data: c as unknown as Record<string, unknown> },
      )
    }
    const detail = event && event.detail
    if (host.name === 'alipay' && !(detail && detail.response)) {
      requireApi(host, 'getPhoneNumber', 'bindPhoneNumber', 'call it, then bindPhoneNumber(auth, { detail: res }).')
      return call(host.api, 'getPhoneNumber').then(post, refuse)
    }
    if (!detail || typeof detail !== 'object') {
      throw new AuthError('INVALID_INPUT', 'bindPhoneNumber(auth, e) needs the getPhoneNumber button event.')
    }
    if (typeof detail.errMsg === 'string' && !/:ok$/.test(detail.errMsg)) refuse(detail as HostFailure)
    return post(detail)
  }, 'bindPhoneNumber')
}
