/**
 * `weapp-auth`: `createAuth` with host detection, and everything `weapp-auth/core` exports (the
 * errors, the types). The local `createAuth` takes precedence over core's.
 */
import { createAuthOn, type Auth } from './core/auth'
import type { AuthOptions } from './core'
import { choosePlatform } from './platforms/choose'

/**
 * Creates the auth instance. The host comes from `options.platform` (a host name, an adapter,
 * `uni`, `Taro`, a wx-compatible object) or, without it, from the globals qq, tt, my, wx in that
 * order. Throws AuthError('CONFIG') for options it cannot work with. An app for one host that
 * wants none of the other hosts' adapters imports createAuth from `weapp-auth/core`.
 */
export function createAuth<U = unknown>(options: AuthOptions<U>): Auth<U> {
  return createAuthOn(options, choosePlatform)
}
export * from './core'
