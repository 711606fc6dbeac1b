export { createAuth } from './auth'
export type { Auth, AuthEventName, AuthState } from './auth'
export type { AuthOptions, LoginOptions, RefreshOptions } from './config'
export type { AuthEvents, Phase } from './session'
export type { Session, SessionInput } from './login-response'
export type { RequestOptions, UploadOptions, AuthResponse, Hooks, HookOptions, Method } from './request'
export { createAbortController } from './abort'
export type { AbortSignalLike, AbortControllerLike } from './abort'
export {
  WeappAuthError,
  AuthError,
  HttpError,
  NetworkError,
  TimeoutError,
  AbortError,
  ResponseParseError,
  isWeappAuthError,
} from './errors'
export type { AuthErrorCode, ErrorCode } from './errors'
export type { Platform } from './platform'
export type { Migration, SessionStorage, StorageIO, StorageFailure } from './storage-io'
