/**
 * Issue 7: type tests (expect-type). Not run by jest: `tsc -p test/tsconfig.json` (in `npm test`)
 * type-checks this file. Negative cases use `// @ts-expect-error`, so they fail the typecheck
 * the day they stop being errors.
 */
import { expectTypeOf } from 'expect-type'
import {
  AbortError,
  AuthError,
  HttpError,
  NetworkError,
  WeappAuthError,
  createAuth,
  isWeappAuthError,
  type Auth,
  type AuthErrorCode,
  type AuthEventName,
  type AuthOptions,
  type ErrorCode,
  type Migration,
  type Platform,
  type Session,
  type SessionStorage,
} from 'weapp-auth'
import {
  bindPhoneNumber,
  ensurePrivacyAuthorized,
  ensureScope,
  getAuthSetting,
  normalizeNickname,
  onNeedPrivacyAuthorization,
  updateProfile,
  uploadAvatar,
  type AuthSettingMap,
} from 'weapp-auth/open'
import { jwtExpiry } from 'weapp-auth/jwt'
import { encryptedStorage, legacyToken } from 'weapp-auth/storage'
import { createFakeWx } from 'weapp-auth/testing'
import { createAuth as createAuthCore } from 'weapp-auth/core'
import { alipayPlatform, douyinPlatform, type HostName, type HostPlatform, type MyLike, type TtLike } from 'weapp-auth/platforms'

declare const platform: Platform
interface User {
  id: number
  nickName: string
}
const auth = createAuth<User>({ baseURL: 'https://api.example.com', login: { url: '/login' }, platform })

// ── request<T> returns Promise<T> ───────────────────────────────────────────────────────────────
expectTypeOf(auth.request<{ id: number }>({ url: '/x' })).toEqualTypeOf<Promise<{ id: number }>>()
expectTypeOf(auth.get<string[]>('/x')).toEqualTypeOf<Promise<string[]>>()
expectTypeOf(auth.post<{ ok: true }>('/x', { a: 1 })).toEqualTypeOf<Promise<{ ok: true }>>()
expectTypeOf(auth.put<number>('/x')).toEqualTypeOf<Promise<number>>()
expectTypeOf(auth.delete<void>('/x')).toEqualTypeOf<Promise<void>>()
expectTypeOf(auth.upload<{ url: string }>({ url: '/u', filePath: 'p', name: 'file' })).toEqualTypeOf<Promise<{ url: string }>>()
expectTypeOf(auth.request({ url: '/x' })).toEqualTypeOf<Promise<unknown>>() // no T: unknown, never any
// @ts-expect-error a request needs a url
void auth.request({ method: 'GET' })
// @ts-expect-error not an HTTP method
void auth.request({ url: '/x', method: 'FETCH' })
// @ts-expect-error get() takes its data in the options, not as a second positional body
void auth.get('/x', { a: 1 })

// ── the user type flows through ─────────────────────────────────────────────────────────────────
expectTypeOf(auth).toEqualTypeOf<Auth<User>>()
expectTypeOf(auth.login()).toEqualTypeOf<Promise<Session<User>>>()
expectTypeOf(auth.getSession()).toEqualTypeOf<Session<User> | null>()
expectTypeOf<Session<User>['user']>().toEqualTypeOf<User | undefined>()
expectTypeOf(auth.getToken()).toEqualTypeOf<string | null>()

// ── event names are a closed union ──────────────────────────────────────────────────────────────
expectTypeOf<'login' | 'logout' | 'error'>().toMatchTypeOf<AuthEventName>()
expectTypeOf<string>().not.toMatchTypeOf<AuthEventName>()
auth.on('login', (s) => expectTypeOf(s).toEqualTypeOf<Session<User>>())
auth.on('logout', (e) => expectTypeOf(e).toEqualTypeOf<{ reason: 'logout' }>())
auth.on('error', (e) => expectTypeOf(e).toEqualTypeOf<Error>())
expectTypeOf(auth.on('error', () => undefined)).toEqualTypeOf<() => void>()
// @ts-expect-error no such event
auth.on('loggedIn', () => undefined)
// @ts-expect-error the login payload is a session, not a string
auth.on('login', (s: string) => s)

// ── options reject unknown keys (and the runtime check names the typo, see login.test.ts) ───────
const base = { baseURL: 'https://api.example.com', login: { url: '/login' }, platform }
createAuth(base)
// @ts-expect-error baseUrl is not baseURL
createAuth({ baseUrl: 'https://api.example.com', login: { url: '/login' }, platform })
// @ts-expect-error unknown top-level option
createAuth({ ...base, retries: 3 })
// @ts-expect-error unknown login option
createAuth({ ...base, login: { url: '/login', timeOut: 5000 } })
// @ts-expect-error unknown refresh option
createAuth({ ...base, refresh: { url: '/refresh', method: 'POST' } })
// @ts-expect-error unknown hook
createAuth({ ...base, hooks: { afterRequest: () => undefined } })
// @ts-expect-error codeIn is 'body' | 'query'
createAuth({ ...base, login: { url: '/login', codeIn: 'header' } })
// @ts-expect-error login is required
createAuth({ baseURL: 'https://api.example.com', platform })
expectTypeOf<AuthOptions>().toHaveProperty('storage').toEqualTypeOf<SessionStorage | undefined>()
expectTypeOf<AuthOptions>().toHaveProperty('migrate').toEqualTypeOf<Migration | undefined>()
createAuth({ ...base, storage: encryptedStorage(), migrate: legacyToken('token'), expiryFromToken: jwtExpiry })
expectTypeOf(jwtExpiry).toEqualTypeOf<(token: string) => number | undefined>()
// @ts-expect-error encryptStorage was replaced by storage: encryptedStorage()
createAuth({ ...base, encryptStorage: true })

// ── errors narrow by code ───────────────────────────────────────────────────────────────────────
declare const err: unknown
if (isWeappAuthError(err)) {
  expectTypeOf(err.code).toEqualTypeOf<ErrorCode>()
  // @ts-expect-error not a code the SDK can produce
  if (err.code === 'LOGIN_FAILED') void 0
}
if (isWeappAuthError(err, 'LOGIN_REJECTED')) {
  expectTypeOf(err.code).toEqualTypeOf<'LOGIN_REJECTED'>()
  expectTypeOf(err).toMatchTypeOf<AuthError>()
  expectTypeOf(err.statusCode).toEqualTypeOf<number | undefined>()
  expectTypeOf(err.status).toEqualTypeOf<number | undefined>() // deprecated alias, kept through 0.x
}
// the README's example: the code narrows to the class that carries it
if (isWeappAuthError(err, 'HTTP_ERROR') && err.statusCode === 404) expectTypeOf(err).toMatchTypeOf<HttpError>()
if (isWeappAuthError(err, 'NETWORK_ERROR')) expectTypeOf(err.errMsg).toEqualTypeOf<string>()
if (isWeappAuthError(err, 'TIMEOUT')) expectTypeOf(err.timeout).toEqualTypeOf<number>()
if (isWeappAuthError(err, 'ABORTED')) expectTypeOf(err).toMatchTypeOf<AbortError>()
if (isWeappAuthError(err, 'BAD_RESPONSE')) expectTypeOf(err.snippet).toEqualTypeOf<string>()
if (isWeappAuthError(err, 'STORAGE_CORRUPT')) {
  // every error with an HTTP status names it statusCode; an AuthError has one only for an answer
  expectTypeOf(err.statusCode).toEqualTypeOf<number | undefined>()
  // @ts-expect-error status is read-only
  err.status = 401
}
// @ts-expect-error isWeappAuthError only takes real codes
isWeappAuthError(err, 'NOPE')
if (err instanceof AuthError) {
  expectTypeOf(err.code).toEqualTypeOf<AuthErrorCode>()
  expectTypeOf(err.statusCode).toEqualTypeOf<number | undefined>()
  expectTypeOf(err.errno).toEqualTypeOf<number | undefined>()
  if (err.code === 'LOGGED_OUT') expectTypeOf(err.code).toEqualTypeOf<'LOGGED_OUT'>()
  // @ts-expect-error HTTP_ERROR is not an AuthError code
  if (err.code === 'HTTP_ERROR') void 0
}
if (err instanceof HttpError) {
  expectTypeOf(err.code).toEqualTypeOf<'HTTP_ERROR'>()
  expectTypeOf(err.statusCode).toEqualTypeOf<number>()
}
if (err instanceof NetworkError) expectTypeOf(err.code).toEqualTypeOf<'NETWORK_ERROR'>()
expectTypeOf<AuthError>().toMatchTypeOf<WeappAuthError>()
/** A switch over every code is exhaustive: adding a code without handling it fails here. */
function describe(e: WeappAuthError): string {
  switch (e.code) {
    case 'WX_LOGIN_FAILED':
    case 'LOGIN_REJECTED':
    case 'BAD_LOGIN_RESPONSE':
    case 'CONFIG':
    case 'UNAUTHORIZED':
    case 'LOGGED_OUT':
    case 'PHONE_DENIED':
    case 'PHONE_FAILED':
    case 'PHONE_QUOTA':
    case 'PHONE_NO_CODE':
    case 'OPEN_SETTING_FAILED':
    case 'INVALID_INPUT':
    case 'UNSUPPORTED':
    case 'SCOPE_DEPRECATED':
    case 'PRIVACY_DENIED':
    case 'STORAGE_FAILED':
    case 'STORAGE_CORRUPT':
    case 'HTTP_ERROR':
    case 'NETWORK_ERROR':
    case 'TIMEOUT':
    case 'ABORTED':
    case 'BAD_RESPONSE':
      return e.code
    default: {
      const never: never = e.code
      return never
    }
  }
}
void describe

// ── the platform type ───────────────────────────────────────────────────────────────────────────
// The real wx, as typed by miniprogram-api-typings, is a Platform: `createAuth({ platform: wx })` compiles.
declare const realWx: WechatMiniprogram.Wx
expectTypeOf(realWx).toMatchTypeOf<Platform>()
const fromRealWx: Platform = realWx
void fromRealWx
// The fake's wx is a Platform (its calls loosely typed for tests): `platform: fake.wx` needs no cast.
expectTypeOf(createFakeWx().wx).toMatchTypeOf<Platform>()
expectTypeOf(createFakeWx().wx).toHaveProperty('login')
// @ts-expect-error a platform needs at least login, request and the sync storage calls
const notAPlatform: Platform = { login() {}, request() {} }
void notAPlatform

// ── weapp-auth/open: standalone functions; the instance ones take any createAuth instance ───────
const phone = bindPhoneNumber<{ phoneNumber: string }>(auth, { detail: { errMsg: 'getPhoneNumber:ok', code: 'c' } })
expectTypeOf(phone).toEqualTypeOf<Promise<{ phoneNumber: string }>>()
expectTypeOf(uploadAvatar<{ url: string }>(auth, 'wxfile://tmp_a.jpeg')).toEqualTypeOf<Promise<{ url: string }>>()
expectTypeOf(updateProfile(auth, { nickName: 'a' }, { url: '/me', maxLength: 30 })).toEqualTypeOf<Promise<unknown>>()
expectTypeOf(normalizeNickname(' a ')).toEqualTypeOf<string>()
expectTypeOf(ensureScope('scope.writePhotosAlbum', { platform })).toEqualTypeOf<Promise<'granted' | 'denied'>>()
expectTypeOf(getAuthSetting()).toEqualTypeOf<Promise<AuthSettingMap>>()
expectTypeOf(ensurePrivacyAuthorized({ platform })).toEqualTypeOf<Promise<void>>()
onNeedPrivacyAuthorization((req) => expectTypeOf(req.agree).toEqualTypeOf<(buttonId?: string) => void>(), { platform })
// @ts-expect-error the instance comes first (the old auth.bindPhoneNumber(e) form is gone)
void bindPhoneNumber({ detail: { errMsg: 'getPhoneNumber:ok', code: 'c' } })
// @ts-expect-error open abilities are no longer methods of the instance
void auth.ensureScope
// @ts-expect-error an unknown option of ensureScope
void ensureScope('scope.camera', { platfrom: platform })

// ── other hosts (issue 12): host names, adapters, weapp-auth/core, auth.platform ────────────────
createAuth({ baseURL: 'https://api.example.com', login: { url: '/login' }, platform: 'douyin' })
createAuth({ baseURL: 'https://api.example.com', login: { url: '/login' }, platform: 'alipay' })
// @ts-expect-error not a host name
createAuth({ baseURL: 'https://api.example.com', login: { url: '/login' }, platform: 'baidu' })
declare const tt: TtLike
declare const my: MyLike
const onDouyin = createAuthCore({ baseURL: 'https://api.example.com', login: { url: '/login' }, platform: douyinPlatform(tt) })
expectTypeOf(onDouyin.platform.host).toEqualTypeOf<HostName>()
expectTypeOf(onDouyin.platform).toMatchTypeOf<HostPlatform>()
createAuthCore({ baseURL: 'https://api.example.com', login: { url: '/login' }, platform: alipayPlatform(my, { uploadFileType: 'image' }) })
// @ts-expect-error weapp-auth/core takes no host names: they need the detecting entry
createAuthCore({ baseURL: 'https://api.example.com', login: { url: '/login' }, platform: 'douyin' })
expectTypeOf(auth.platform.networkTaskLimit).toEqualTypeOf<number>()
