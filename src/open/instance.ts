/**
 * The part of an auth instance the open abilities use: its public `request` and `upload`, so
 * they send with the token and the one-re-login-on-401 rule, and its `platform` (the host
 * adapter), so they know the host without detecting it. Nothing else of the core.
 */
import type { Auth } from '../core/auth'
import { AuthError } from '../base/errors'
import type { Platform } from '../base/platform'
import { hostFor, type Host } from './host'

/** `platform` may be absent (a hand-made stand-in): the host is then WeChat's global `wx` shapes. */
export type AuthInstance = Pick<Auth<unknown>, 'request' | 'upload'> & Partial<Pick<Auth<unknown>, 'platform'>>

/**
 * Rejects (as a typed error) a call that forgot the instance, e.g. the old `bindPhoneNumber(e)`
 * form; returns the instance's host. `helper`: the function's name.
 */
export function checkInstance(auth: unknown, helper: string): Host {
  const a = auth as AuthInstance | null
  if (!a || typeof a.request !== 'function' || typeof a.upload !== 'function') {
    throw new AuthError('INVALID_INPUT', `${helper}(auth, …) needs the createAuth() instance first.`)
  }
  return hostFor(a.platform || ({} as Platform))
}
