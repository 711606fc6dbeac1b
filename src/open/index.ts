/**
 * `weapp-auth/open`: the open abilities as standalone functions, on WeChat, QQ, Douyin and Alipay
 * (and uni-app / Taro builds for them). Scopes and privacy need no instance (`options.platform`:
 * `auth.platform` or a host global; default: the running host's global, looked for in the order
 * qq, tt, my, wx); phone, avatar and profile take the instance from `createAuth`, learn the host
 * from `auth.platform`, and reach the core only through its public `request`/`upload`. Where a
 * host lacks an ability they reject UNSUPPORTED naming it. Import what you call; a bundler drops
 * the rest, and the core never loads any of it.
 */
export { ensureScope, getAuthSetting, SCOPES } from './scope'
export type { Scope, ScopeName, ScopeState, AuthSettingMap, EnsureScopeOptions } from './scope'
export { ensurePrivacyAuthorized, onNeedPrivacyAuthorization } from './privacy'
export type { PrivacyRequest } from './privacy'
export { bindPhoneNumber } from './phone'
export type { PhoneNumberEvent, BindPhoneOptions } from './phone'
export { uploadAvatar } from './avatar'
export type { ChooseAvatarEvent, UploadAvatarOptions } from './avatar'
export { normalizeNickname, updateProfile } from './profile'
export type { ProfileInput, NicknameOptions, UpdateProfileOptions } from './profile'
export { deleteAccount } from './account'
export type { DeleteAccountOptions } from './account'
export type { HostOptions } from './host'
export type { AuthInstance } from './instance'
