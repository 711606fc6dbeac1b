/**
 * `weapp-auth/core`: `createAuth` without host detection, for an app built for one host. The
 * `platform` option takes an object only (the global `wx` by default; on other hosts an adapter
 * from `weapp-auth/platforms`), so a bundle keeps that one adapter and no other. Everything else
 * is `weapp-auth`'s API (same errors, same types).
 */
import { createAuthOn, type Auth } from './core/auth'
import type { AuthOptions } from './core/config'
import type { Platform } from './base/platform'
import { asHostPlatform } from './platforms/plain'

/** `createAuth`'s options in `weapp-auth/core`: `platform` is an object (no host names: they need detection). */
export type CoreAuthOptions<U = unknown> = Omit<AuthOptions<U>, 'platform'> & {
  /** The host: the global `wx` (default), an adapter from `weapp-auth/platforms`, or any wx-compatible object (treated as WeChat). */
  platform?: Platform
}

/** Creates the auth instance on `options.platform` (default: the global `wx`). Throws AuthError('CONFIG') for options it cannot work with. */
export function createAuth<U = unknown>(options: CoreAuthOptions<U>): Auth<U> {
  return createAuthOn(options as AuthOptions<U>, asHostPlatform)
}
export type { Auth, AuthEventName, AuthState } from './core/auth'
export type { AuthOptions, LoginOptions, RefreshOptions } from './core/config'
export type { AuthEvents, Phase } from './core/session'
export type { Session, SessionInput } from './core/login-response'
export type { RequestOptions, UploadOptions, AuthResponse, Hooks, HookOptions, Method } from './core/request'
export { createAbortController } from './base/abort'
export type { AbortSignalLike, AbortControllerLike } from './base/abort'
export {
  WeappAuthError,
  AuthError,
  HttpError,
  NetworkError,
  TimeoutError,
  AbortError,
  ResponseParseError,
  isWeappAuthError,
} from './base/errors'
export type { AuthErrorCode, ErrorCode } from './base/errors'
export type { Platform } from './base/platform'
export type { HostName, HostPlatform, PhoneCredential } from './platforms/host'
export type { Migration, SessionStorage, StorageIO, StorageFailure } from './core/storage-io'
