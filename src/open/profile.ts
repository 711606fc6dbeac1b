/**
 * The nickname check and `updateProfile(auth, { nickName?, avatarUrl? })`, sent with the token.
 */
import { AuthError } from '../errors'
import { attempt } from './host'
import { checkInstance, type AuthInstance } from './instance'

export interface ProfileInput {
  nickName?: string
  avatarUrl?: string
}

export interface NicknameOptions {
  /** Longest accepted nickname, in characters. Default 20. */
  maxLength?: number
}

export interface UpdateProfileOptions extends NicknameOptions {
  /** Default '/api/user/profile'. */
  url?: string
}

/** Trims a nickname and checks it; throws AuthError INVALID_INPUT for empty or over-long names. */
export function normalizeNickname(value: unknown, options: NicknameOptions = {}): string {
  const max = options.maxLength === undefined ? 20 : options.maxLength
  if (typeof value !== 'string') throw new AuthError('INVALID_INPUT', `A nickname must be a string, got ${value === null ? 'null' : typeof value}.`)
  const name = value.replace(/[\s\u3000]+/g, ' ').trim()
  if (!name) throw new AuthError('INVALID_INPUT', 'The nickname is empty (WeChat empties <input type="nickname"> when its check fails): ask for another.')
  const length = Array.from(name).length
  if (length > max) throw new AuthError('INVALID_INPUT', `The nickname has ${length} characters; at most ${max} are allowed.`)
  return name
}

/** Sends `{ nickName?, avatarUrl? }` (nickname checked with normalizeNickname) to your profile endpoint. */
export function updateProfile<T = unknown>(auth: AuthInstance, profile: ProfileInput, options: UpdateProfileOptions = {}): Promise<T> {
  return attempt(() => {
    checkInstance(auth, 'updateProfile')
    const data: ProfileInput = {}
    profile = profile || {}
    if (profile.nickName !== undefined) data.nickName = normalizeNickname(profile.nickName, options)
    if (profile.avatarUrl !== undefined) {
      if (typeof profile.avatarUrl !== 'string' || !profile.avatarUrl) throw new AuthError('INVALID_INPUT', 'avatarUrl must be a non-empty string.')
      data.avatarUrl = profile.avatarUrl
    }
    if (data.nickName === undefined && data.avatarUrl === undefined) throw new AuthError('INVALID_INPUT', 'updateProfile(auth, profile) needs { nickName?, avatarUrl? }.')
    return auth.request<T>({ url: options.url || '/api/user/profile', method: 'POST', data })
  })
}
