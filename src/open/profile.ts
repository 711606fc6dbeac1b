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
  const { maxLength: max = 20 } = options
  if (typeof value !== 'string') throw new AuthError('INVALID_INPUT', `Nickname must be a string, got ${value === null ? 'null' : typeof value}.`)
  // \s covers the full-width space U+3000 too.
  const name = value.replace(/\s+/g, ' ').trim()
  if (!name) throw new AuthError('INVALID_INPUT', 'Nickname empty (WeChat empties one failing its check): ask for another.')
  const length = Array.from(name).length
  if (length > max) throw new AuthError('INVALID_INPUT', `Nickname too long: ${length} characters; at most ${max}.`)
  return name
}

/** Sends `{ nickName?, avatarUrl? }` (nickname checked with normalizeNickname) to your profile endpoint. */
export function updateProfile<T = unknown>(auth: AuthInstance, profile: ProfileInput, options: UpdateProfileOptions = {}): Promise<T> {
  return attempt(() => {
    checkInstance(auth, 'updateProfile')
    const { nickName, avatarUrl } = profile || ({} as ProfileInput)
    if (nickName === undefined && avatarUrl === undefined) throw new AuthError('INVALID_INPUT', 'updateProfile(auth, profile) needs { nickName?, avatarUrl? }.')
    const data: ProfileInput = {}
    if (nickName !== undefined) data.nickName = normalizeNickname(nickName, options)
    if (avatarUrl !== undefined) {
      if (typeof avatarUrl !== 'string' || !avatarUrl) throw new AuthError('INVALID_INPUT', 'avatarUrl must be a non-empty string.')
      data.avatarUrl = avatarUrl
    }
    return auth.request<T>({ url: options.url || '/api/user/profile', method: 'POST', data })
  })
}
