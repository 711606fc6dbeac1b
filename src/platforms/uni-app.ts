/**
 * uni-app: the global `uni` exposes wx-shaped callback APIs on every mini program target (uni
 * itself maps Alipay's getAuthCode → `code`, `headers` / `status` → `header` / `statusCode`, and
 * `name` → `fileName`), and returns a promise when a call has no callbacks. The host is the
 * build's target, from `getSystemInfoSync().uniPlatform` ('mp-weixin', 'mp-qq', 'mp-toutiao',
 * 'mp-alipay'). What differs per target: docs/platforms.md (uni-app row).
 */
import type { HostName, HostPlatform } from './host'
import { frameworkPlatform } from './framework'
import type { Host } from './wrap'

/** The part of `uni` the adapter needs, typed from @dcloudio/types. */
export interface UniLike {
  login(options?: object): unknown
  request(options: object): unknown
  getStorageSync(key: string): unknown
  setStorageSync(key: string, value: unknown): void
  removeStorageSync(key: string): void
  getSystemInfoSync?(): { uniPlatform?: string }
}

export interface UniPlatformOptions {
  /** The host the build targets; default: read from `uni.getSystemInfoSync().uniPlatform`. */
  host?: HostName
}

const TARGETS: Record<string, HostName> = { 'mp-weixin': 'weixin', 'mp-qq': 'qq', 'mp-toutiao': 'douyin', 'mp-alipay': 'alipay' }

/** The SDK's platform over uni-app's `uni`. Throws a CONFIG error on a target that is no mini program host (H5, App…). */
export function uniPlatform(uni: UniLike, options: UniPlatformOptions = {}): HostPlatform {
  let target: string | undefined
  try {
    target = uni.getSystemInfoSync ? uni.getSystemInfoSync().uniPlatform : undefined
  } catch (_) {
    target = undefined
  }
  return frameworkPlatform(uni as unknown as Host, options.host || (target ? TARGETS[target] : undefined), 'uni-app', options.host || target)
}
