/**
 * Phone number, avatar and nickname: the open-ability flows that replaced getUserProfile, sent
 * through the authenticated request path (token, one re-login on 401, one retry).
 */
import { AuthError } from './errors'
import type { RequestOptions, UploadOptions } from './request'

export interface PhoneNumberEvent {
  detail: { errMsg?: string; code?: string; errno?: number; encryptedData?: string; iv?: string }
}
export interface ChooseAvatarEvent {
  detail: { avatarUrl?: string }
}

export interface BindPhoneOptions {
  /** Default '/api/auth/phone'. */
  url?: string
  /** 'body' (default): JSON `{ code }`; 'query': `?code=`. */
  codeIn?: 'body' | 'query'
}
export interface UploadAvatarOptions {
  /** Default '/api/upload/avatar'. */
  url?: string
  /** Multipart field name. Default 'file'. */
  name?: string
  formData?: Record<string, unknown>
}
export interface ProfileInput {
  nickName?: string
  avatarUrl?: string
}
export interface NicknameOptions {
  /** Longest accepted nickname, in characters. Default 20. */
  maxLength?: number
}

/** Trims a nickname and checks it; throws AuthError INVALID_INPUT for empty or over-long names. */
export function normalizeNickname(value: unknown, options: NicknameOptions = {}): string {
  const max = options.maxLength === undefined ? 20 : options.maxLength
  if (typeof value !== 'string') throw new AuthError('INVALID_INPUT', `A nickname must be a string, got ${value === null ? 'null' : typeof value}.`)
  const name = value.replace(/[\s\u3000]+/g, ' ').trim()
  if (!name) throw new AuthError('INVALID_INPUT', 'The nickname is empty. WeChat empties <input type="nickname"> when its content check fails: ask the user for another one.')
  const length = Array.from(name).length
  if (length > max) throw new AuthError('INVALID_INPUT', `The nickname has ${length} characters; at most ${max} are allowed.`)
  return name
}

/** Temp paths handed out by chooseAvatar / chooseMedia: `wxfile://…` on devices, `http://tmp/…` in DevTools. */
const TEMP_PATH = /^(wxfile:\/\/|http:\/\/tmp\/|https:\/\/tmp\/)/

interface Transport {
  request<T>(options: RequestOptions): Promise<T>
  upload<T>(options: UploadOptions): Promise<T>
}

export interface ProfileApi {
  bindPhoneNumber<T = unknown>(e: PhoneNumberEvent, options?: BindPhoneOptions): Promise<T>
  uploadAvatar<T = unknown>(eventOrPath: ChooseAvatarEvent | string, options?: UploadAvatarOptions): Promise<T>
  updateProfile<T = unknown>(profile: ProfileInput, options?: { url?: string; maxLength?: number }): Promise<T>
}

export function createProfileApi(transport: Transport): ProfileApi {
  function bindPhoneNumber<T>(e: PhoneNumberEvent, options: BindPhoneOptions = {}): Promise<T> {
    const detail = e && e.detail
    if (!detail || typeof detail !== 'object') {
      return Promise.reject(new AuthError('INVALID_INPUT', 'bindPhoneNumber(e) needs the event of <button open-type="getPhoneNumber" bindgetphonenumber="…">.'))
    }
    const errMsg = String(detail.errMsg || '')
    if (!/:ok$/.test(errMsg)) {
      if (/den(y|ied)|cancel/i.test(errMsg)) {
        return Promise.reject(new AuthError('PHONE_DENIED', 'The user declined to share the phone number. Offer another way to continue.', { errMsg }))
      }
      if (detail.errno === 1400001) {
        return Promise.reject(
          new AuthError('PHONE_QUOTA', 'The phone number component has used up its quota (errno 1400001). Buy more quota in the admin console, or offer SMS verification.', {
            errMsg,
            errno: detail.errno,
          }),
        )
      }
      return Promise.reject(
        new AuthError('PHONE_FAILED', `Getting the phone number failed: ${errMsg || 'unknown error'}${detail.errno !== undefined ? ` (errno ${detail.errno})` : ''}.`, {
          errMsg,
          errno: detail.errno,
        }),
      )
    }
    const code = detail.code
    if (typeof code !== 'string' || !code) {
      // encryptedData/iv are for the server's legacy path and are never decrypted or sent from here.
      return Promise.reject(
        new AuthError('PHONE_NO_CODE', 'The getPhoneNumber event has no code: the base library is older than 2.21.2. Ask the user to update WeChat.', { errMsg }),
      )
    }
    const url = options.url || '/api/auth/phone'
    if (options.codeIn === 'query') {
      return transport.request<T>({ url: url + (url.indexOf('?') >= 0 ? '&' : '?') + 'code=' + encodeURIComponent(code), method: 'POST' })
    }
    return transport.request<T>({ url, method: 'POST', data: { code } })
  }

  function uploadAvatar<T>(eventOrPath: ChooseAvatarEvent | string, options: UploadAvatarOptions = {}): Promise<T> {
    const path = typeof eventOrPath === 'string' ? eventOrPath : eventOrPath && eventOrPath.detail ? eventOrPath.detail.avatarUrl : undefined
    if (typeof path !== 'string' || !path) {
      return Promise.reject(new AuthError('INVALID_INPUT', 'uploadAvatar() needs the chooseavatar event or its temp file path; it got none.'))
    }
    if (!TEMP_PATH.test(path)) {
      return Promise.reject(
        new AuthError('INVALID_INPUT', `uploadAvatar() uploads a temp file (wxfile://… or http://tmp/…); "${path.slice(0, 60)}" is not one. To save a URL you already host, use updateProfile({ avatarUrl }).`),
      )
    }
    return transport.upload<T>({ url: options.url || '/api/upload/avatar', filePath: path, name: options.name || 'file', formData: options.formData })
  }

  function updateProfile<T>(profile: ProfileInput, options: { url?: string; maxLength?: number } = {}): Promise<T> {
    try {
      if (!profile || typeof profile !== 'object') throw new AuthError('INVALID_INPUT', 'updateProfile() needs { nickName?, avatarUrl? }.')
      const data: ProfileInput = {}
      if (profile.nickName !== undefined) data.nickName = normalizeNickname(profile.nickName, { maxLength: options.maxLength })
      if (profile.avatarUrl !== undefined) {
        if (typeof profile.avatarUrl !== 'string' || !profile.avatarUrl) throw new AuthError('INVALID_INPUT', 'avatarUrl must be a non-empty string.')
        data.avatarUrl = profile.avatarUrl
      }
      if (data.nickName === undefined && data.avatarUrl === undefined) throw new AuthError('INVALID_INPUT', 'updateProfile() got neither nickName nor avatarUrl.')
      return transport.request<T>({ url: options.url || '/api/user/profile', method: 'POST', data })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  return { bindPhoneNumber, uploadAvatar, updateProfile }
}
