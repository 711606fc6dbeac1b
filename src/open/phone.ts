/**
 * `bindPhoneNumber(auth, event)`: the code of a getPhoneNumber event goes to your server with
 * the token (never encryptedData/iv, which only the server may decrypt).
 */
import { AuthError } from '../errors'
import { attempt } from './host'
import { checkInstance, type AuthInstance } from './instance'

export interface PhoneNumberEvent {
  detail: { errMsg?: string; code?: string; errno?: number; encryptedData?: string; iv?: string }
}

export interface BindPhoneOptions {
  /** Default '/api/auth/phone'. */
  url?: string
  /** 'body' (default): JSON `{ code }`; 'query': `?code=`. */
  codeIn?: 'body' | 'query'
}

/** The typed error for an event that carries no usable code, or null when it has one. */
function refusal(detail: PhoneNumberEvent['detail']): AuthError | null {
  const errMsg = String(detail.errMsg || '')
  const errno = detail.errno
  if (/:ok$/.test(errMsg)) {
    if (typeof detail.code === 'string' && detail.code) return null
    return new AuthError('PHONE_NO_CODE', 'The getPhoneNumber event has no code: the base library is older than 2.21.2. Ask the user to update WeChat.', { errMsg })
  }
  if (/den(y|ied)|cancel/i.test(errMsg)) return new AuthError('PHONE_DENIED', 'The user declined to share the phone number. Offer another way to continue.', { errMsg })
  if (errno === 1400001) {
    return new AuthError('PHONE_QUOTA', 'The phone number component has used up its quota (errno 1400001). Buy more quota in the admin console, or offer SMS verification.', { errMsg, errno })
  }
  return new AuthError('PHONE_FAILED', `Getting the phone number failed: ${errMsg || 'unknown error'}${errno !== undefined ? ` (errno ${errno})` : ''}.`, { errMsg, errno })
}

/**
 * Posts the code of a `<button open-type="getPhoneNumber">` event with the token; resolves with
 * your server's answer. Rejects PHONE_DENIED / PHONE_QUOTA / PHONE_NO_CODE / PHONE_FAILED
 * without any request.
 */
export function bindPhoneNumber<T = unknown>(auth: AuthInstance, event: PhoneNumberEvent, options: BindPhoneOptions = {}): Promise<T> {
  return attempt(() => {
    checkInstance(auth, 'bindPhoneNumber()')
    const detail = event && event.detail
    if (!detail || typeof detail !== 'object') {
      throw new AuthError('INVALID_INPUT', 'bindPhoneNumber(auth, e) needs the event of <button open-type="getPhoneNumber" bindgetphonenumber="…">.')
    }
    const err = refusal(detail)
    if (err) throw err
    const code = detail.code as string
    const url = options.url || '/api/auth/phone'
    if (options.codeIn === 'query') {
      return auth.request<T>({ url: url + (url.indexOf('?') >= 0 ? '&' : '?') + 'code=' + encodeURIComponent(code), method: 'POST' })
    }
    return auth.request<T>({ url, method: 'POST', data: { code } })
  })
}
