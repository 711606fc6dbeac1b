/**
 * The few helpers every host adapter needs, kept tiny (each app bundles one adapter).
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFn = (...args: any[]) => any
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Host = Record<string, any>

/** Copies the host's functions among `names` onto `out`, bound to the host. Absent ones stay absent. */
export function bindNames(host: Host, names: string[], out: Host): Host {
  for (const n of names) if (typeof host[n] === 'function') out[n] = host[n].bind(host)
  return out
}

/**
 * Returns a host call's result, first silencing it if it is a promise: Taro (always) and
 * uni-app / Alipay (some calls) return a promise besides calling the callbacks, and a failure
 * would otherwise surface as an unhandled rejection although the fail callback got it.
 */
export function quiet<T>(result: T): T {
  const r = result as unknown as { then?: AnyFn; catch?: AnyFn }
  if (r && typeof r.then === 'function' && typeof r.catch === 'function') r.catch(() => undefined)
  return result
}

/** The wx API names the SDK calls, for hosts whose calls already have wx's shapes. */
export const WX_NAMES = [
  'login',
  'checkSession',
  'request',
  'uploadFile',
  'getStorageSync',
  'setStorageSync',
  'removeStorageSync',
  'getStorage',
  'setStorage',
  'removeStorage',
  'getAccountInfoSync',
  'canIUse',
  'getSetting',
  'authorize',
  'openSetting',
  'showModal',
  'getPrivacySetting',
  'requirePrivacyAuthorize',
  'onNeedPrivacyAuthorization',
  'getSystemInfoSync',
  'getAppBaseInfo',
]
