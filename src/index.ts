export { createAuth } from './auth'
export type { Auth, AuthOptions, LoginOptions, RefreshOptions, AuthEventName, AuthState } from './auth'
export type { AuthEvents, Phase } from './session'
export type { Session, SessionInput } from './login-response'
export type { RequestOptions, UploadOptions, AuthResponse, Hooks, HookOptions, Method } from './request'
export { normalizeNickname } from './profile'
export type { PhoneNumberEvent, ChooseAvatarEvent, BindPhoneOptions, UploadAvatarOptions, ProfileInput, NicknameOptions } from './profile'
export { SCOPES } from './scope'
export type { Scope, ScopeName, ScopeState, AuthSettingMap, EnsureScopeOptions, PrivacyRequest } from './scope'
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
