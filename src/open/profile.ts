/**
 * The nickname check and `updateProfile(auth, { nickName?, avatarUrl? })`, sent with the token.
 */
import { AuthError } from '../base/errors'
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

/** Characters with nothing to see: zero-width and format characters, variation selectors, Hangul fillers, tags. */
const INVISIBLE = /[\xad\u115f\u1160\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\u{e0000}-\u{e01ef}]/gu

/**
 * One character as a user sees it, approximately: a flag (two regional indicators) or any code
 * point, then whatever extends it (combining marks, variation selectors, skin tones, tags) and
 * whatever a zero-width joiner joins to it (emoji ZWJ sequences).
 */
const CLUSTER = /(?:[\u{1f1e6}-\u{1f1ff}]{2}|[^])(?:[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f\u{1f3fb}-\u{1f3ff}\u{e0020}-\u{e007f}\u{e0100}-\u{e01ef}]|\u200d[^]?)*/gu

interface SegmenterLike {
  segment(text: string): Iterable<unknown>
}

/**
 * Characters as a user sees them (grapheme clusters): the host's `Intl.Segmenter` where it has one,
 * otherwise the table-free approximation above.
 */
export function countCharacters(text: string): number {
  const Segmenter = typeof Intl != 'undefined' ? (Intl as unknown as { Segmenter?: new (locale?: string, options?: { granularity: string }) => SegmenterLike }).Segmenter : undefined
  if (!Segmenter) return (text.match(CLUSTER) || []).length
  let n = 0
  for (const _ of new Segmenter(undefined, { granularity: 'grapheme' }).segment(text)) n++
  return n
}

/**
 * Trims a nickname and checks it; throws AuthError INVALID_INPUT for empty or over-long names.
 * Length is counted as users see it (countCharacters: an emoji, a flag or a letter with its accents
 * is one), and a name with nothing visible (only zero-width or format characters) is empty.
 */
export function normalizeNickname(value: unknown, options: NicknameOptions = {}): string {
  const { maxLength: max = 20 } = options
  if (typeof value !== 'string') throw new AuthError('INVALID_INPUT', `Nickname must be a string, got ${value === null ? 'null' : typeof value}.`)
  // \s covers the full-width space U+3000 too.
  const name = value.replace(/\s+/g, ' ').trim()
  if (!name.replace(INVISIBLE, '').trim()) throw new AuthError('INVALID_INPUT', 'Nickname empty (WeChat empties one failing its check): ask for another.')
  const length = countCharacters(name)
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
  }, 'updateProfile')
}
