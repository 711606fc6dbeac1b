/**
 * `provideAuth(auth)`: gives the drop-in components (`weapp-auth/components/<name>/index`) and the
 * page guard the app's auth instance. Call it once in app.ts, next to `createAuth`.
 *
 * Where the components find it: in the registry below, which lives in the file the app imports as
 * `weapp-auth/components` (after DevTools' "build npm", the components' code and the app's
 * `import … from 'weapp-auth/components'` both load `miniprogram_npm/weapp-auth/components/index.js`). Under
 * uni-app or Taro the app's bundle carries its own copy of the SDK, so that registry is not the
 * components' one: there the components also look at the App instance, `getApp().globalData.weappAuth`.
 */
import { AuthError, type Auth } from '../core'
import type { BindPhoneOptions, UpdateProfileOptions, UploadAvatarOptions } from '../open'

declare const getApp: undefined | ((options?: { allowDefault?: boolean }) => { globalData?: { weappAuth?: unknown } } | undefined)

/** What the components call on the instance. */
export type ComponentAuth = Pick<Auth<unknown>, 'request' | 'upload' | 'login' | 'isLoggedIn' | 'on' | 'getSession'> & Partial<Pick<Auth<unknown>, 'platform'>>

/** Endpoints of the components' requests, when yours differ from weapp-auth-server's. */
export interface ProvideAuthOptions {
  /** `<auth-profile-form>`'s avatar upload (default `/api/upload/avatar`). */
  avatar?: UploadAvatarOptions
  /** `<auth-profile-form>`'s save (default `/api/user/profile`, nicknames up to 20 characters). */
  profile?: UpdateProfileOptions
  /** `<auth-phone-button>` and the login panel's phone login (default `/api/auth/phone`). */
  phone?: BindPhoneOptions
}

export interface ProvidedAuth {
  auth: ComponentAuth
  options: ProvideAuthOptions
}

let provided: ProvidedAuth | null = null

const isAuth = (a: unknown): a is ComponentAuth =>
  !!a && typeof (a as ComponentAuth).request === 'function' && typeof (a as ComponentAuth).login === 'function' && typeof (a as ComponentAuth).on === 'function'

/**
 * Gives the components and `guardPage` the app's instance (one line in app.ts:
 * `provideAuth(auth)`). Calling it again replaces the instance. Throws AuthError CONFIG when
 * `auth` is not a `createAuth()` instance.
 */
export function provideAuth(auth: ComponentAuth, options: ProvideAuthOptions = {}): void {
  if (!isAuth(auth)) throw new AuthError('CONFIG', 'provideAuth(auth) needs the createAuth() instance.')
  if (!options || typeof options !== 'object') throw new AuthError('CONFIG', 'provideAuth(auth, options): options must be an object.')
  provided = { auth, options }
}

/**
 * The instance given to provideAuth, else the App's `globalData.weappAuth` (uni-app, Taro), else
 * null. For the components and the guard; apps do not need it.
 */
export function providedAuth(): ProvidedAuth | null {
  if (provided) return provided
  const app = typeof getApp == 'function' ? getApp({ allowDefault: true }) : undefined
  const found = app && app.globalData && app.globalData.weappAuth
  return isAuth(found) ? { auth: found, options: {} } : null
}

/** What a component or the guard says when nothing was provided. */
export const MISSING_AUTH = "call provideAuth(auth) from 'weapp-auth/components' in app.ts (uni-app, Taro: set the App's globalData.weappAuth to the instance)"
