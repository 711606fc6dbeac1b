/**
 * The one place that touches the `wx` global. Everything else receives a `Platform`, so tests
 * (and other mini program platforms with a wx-compatible API) can pass their own.
 *
 * The shapes below are the subset of `wx` the SDK calls, written structurally so that this
 * package's types do not require `miniprogram-api-typings` in the consumer; the real `wx`
 * object (as typed by miniprogram-api-typings) is assignable to `Platform` (checked in
 * test/types.test-d.ts).
 */

export interface WxCallbackOptions<S> {
  success?: (res: S) => void
  fail?: (err: { errMsg: string; errno?: number }) => void
  complete?: (res: unknown) => void
}

export interface WxRequestSuccess {
  statusCode: number
  data: unknown
  header?: Record<string, unknown>
  errMsg?: string
}

export interface WxRequestTask {
  abort(): void
}

/** The methods wx.request accepts (no PATCH on the platform). */
export type WxMethod = 'OPTIONS' | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'TRACE' | 'CONNECT'

export interface WxRequestOptions extends WxCallbackOptions<WxRequestSuccess> {
  url: string
  method?: WxMethod
  data?: string | Record<string, unknown> | ArrayBuffer
  header?: Record<string, string>
  timeout?: number
  dataType?: string
  responseType?: 'text' | 'arraybuffer'
}

export interface WxUploadOptions extends WxCallbackOptions<{ statusCode: number; data: string; errMsg?: string }> {
  url: string
  filePath: string
  name: string
  header?: Record<string, string>
  formData?: Record<string, unknown>
  timeout?: number
}

export interface WxStorageGetOptions extends WxCallbackOptions<{ data: unknown }> {
  key: string
  encrypt?: boolean
}
export interface WxStorageSetOptions extends WxCallbackOptions<unknown> {
  key: string
  data: unknown
  encrypt?: boolean
}

/**
 * What wx.getSetting / wx.openSetting report. Known scopes only (no index signature), so that
 * the real `wx` typed by miniprogram-api-typings, whose AuthSetting has none, stays assignable.
 */
export interface WxAuthSetting {
  'scope.userInfo'?: boolean
  'scope.userLocation'?: boolean
  'scope.userFuzzyLocation'?: boolean
  'scope.userLocationBackground'?: boolean
  'scope.address'?: boolean
  'scope.invoice'?: boolean
  'scope.invoiceTitle'?: boolean
  'scope.werun'?: boolean
  'scope.record'?: boolean
  'scope.writePhotosAlbum'?: boolean
  'scope.camera'?: boolean
  'scope.bluetooth'?: boolean
  'scope.addPhoneContact'?: boolean
  'scope.addPhoneCalendar'?: boolean
}

export interface Platform {
  login(options: WxCallbackOptions<{ code: string; errMsg?: string }> & { timeout?: number }): unknown
  checkSession?(options: WxCallbackOptions<unknown>): unknown
  request(options: WxRequestOptions): WxRequestTask | unknown
  uploadFile?(options: WxUploadOptions): WxRequestTask | unknown
  getStorageSync(key: string): unknown
  setStorageSync(key: string, data: unknown): void
  removeStorageSync(key: string): void
  getStorage?(options: WxStorageGetOptions): unknown
  setStorage?(options: WxStorageSetOptions): unknown
  removeStorage?(options: WxCallbackOptions<unknown> & { key: string }): unknown
  getAccountInfoSync?(): { miniProgram: { envVersion?: string; appId?: string } }
  canIUse?(schema: string): boolean
  getSetting?(options: WxCallbackOptions<{ authSetting: WxAuthSetting }>): unknown
  authorize?(options: WxCallbackOptions<unknown> & { scope: string }): unknown
  openSetting?(options: WxCallbackOptions<{ authSetting: WxAuthSetting }>): unknown
  showModal?(
    options: WxCallbackOptions<{ confirm: boolean; cancel: boolean }> & {
      title?: string
      content?: string
      confirmText?: string
      cancelText?: string
      showCancel?: boolean
    },
  ): unknown
  getPrivacySetting?(options: WxCallbackOptions<{ needAuthorization: boolean; privacyContractName?: string }>): unknown
  requirePrivacyAuthorize?(options: WxCallbackOptions<unknown>): unknown
  /**
   * The listener is called with `(resolve, eventInfo)`: `resolve({ event: 'agree' | 'disagree', buttonId? })`,
   * `eventInfo.referrer`. Typed loosely because miniprogram-api-typings declares a one-argument
   * callback, and the real `wx` must stay assignable to Platform.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onNeedPrivacyAuthorization?(listener: (resolve: any, eventInfo?: any) => void): unknown
  getSystemInfoSync?(): { SDKVersion?: string }
  getAppBaseInfo?(): { SDKVersion?: string }
}

import { AuthError } from './errors'

declare const wx: unknown

/** The running mini program's `wx`, or a configuration error that says how to pass one. */
export function defaultPlatform(): Platform {
  if (typeof wx === 'undefined' || wx === null) {
    return missingPlatform()
  }
  return wx as Platform
}

function missingPlatform(): never {
  throw new AuthError(
    'CONFIG',
    'createAuth: no global `wx`: run inside a mini program, or pass `platform` (in tests: a fake from weapp-auth/testing).',
  )
}

/** Whether the platform has `name` (a function on wx). */
export function hasApi(platform: Platform, name: keyof Platform): boolean {
  return typeof (platform as unknown as Record<string, unknown>)[name] === 'function'
}

/** The base library version, when the platform tells it ("2.32.3"), else undefined. */
export function baseLibraryVersion(platform: Platform): string | undefined {
  try {
    if (platform.getAppBaseInfo) return platform.getAppBaseInfo().SDKVersion
    if (platform.getSystemInfoSync) return platform.getSystemInfoSync().SDKVersion
  } catch (_) {
    /* ignore: version is only used in messages */
  }
  return undefined
}

/** The running mini program's account info (`getAccountInfoSync().miniProgram`), or {} when the platform cannot say. */
function account(platform: Platform): { envVersion?: string; appId?: string } {
  try {
    return (platform.getAccountInfoSync && platform.getAccountInfoSync().miniProgram) || {}
  } catch (_) {
    return {}
  }
}

/** `develop` / `trial` / `release`, or undefined when the platform cannot say. */
export const envVersion = (platform: Platform): string | undefined => account(platform).envVersion

/** The mini program's AppID, sent with the login so one server can serve several apps; not DevTools' tourist id. */
export function appIdOf(platform: Platform): string | undefined {
  const id = account(platform).appId
  return id && id !== 'touristappid' ? id : undefined
}
