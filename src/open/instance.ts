/**
 * The part of an auth instance the open abilities use: its public `request` and `upload`, so
 * they send with the token and the one-re-login-on-401 rule, and nothing else of the core.
 */
import type { Auth } from '../auth'
import { AuthError } from '../errors'

export type AuthInstance = Pick<Auth<unknown>, 'request' | 'upload'>

/** Rejects (as a typed error) a call that forgot the instance, e.g. the old `bindPhoneNumber(e)` form. */
export function checkInstance(auth: unknown, helper: string): void {
  const a = auth as AuthInstance | null
  if (!a || typeof a.request !== 'function' || typeof a.upload !== 'function') {
    throw new AuthError('INVALID_INPUT', `${helper} needs the instance from createAuth() as its first argument: ${helper.replace('()', '(auth, …)')}.`)
  }
}
