/**
 * Taro: `Taro` (from @tarojs/taro) exposes wx-shaped APIs on every mini program target; every
 * asynchronous one also returns a promise (`Taro.request`: a promise with `abort()`) that rejects
 * when the call fails although the fail callback ran, so the adapter silences it. The host is the
 * build's target, from `Taro.getEnv()` ('WEAPP', 'QQ', 'TT', 'ALIPAY'). Per-target differences:
 * docs/platforms.md (Taro row).
 */
import type { HostName, HostPlatform } from './host'
import { frameworkPlatform } from './framework'
import type { Host } from './wrap'

/** The part of `Taro` the adapter needs, typed from @tarojs/taro. */
export interface TaroLike {
  login(option?: object): Promise<unknown>
  request(option: { url: string }): Promise<unknown>
  getStorageSync(key: string): unknown
  setStorageSync(key: string, data: unknown): void
  removeStorageSync(key: string): void
  getEnv(): string
}

export interface TaroPlatformOptions {
  /** The host the build targets; default: from `Taro.getEnv()`. */
  host?: HostName
}

const TARGETS: Record<string, HostName> = { WEAPP: 'weixin', QQ: 'qq', TT: 'douyin', ALIPAY: 'alipay' }

/** The SDK's platform over `Taro`. Throws a CONFIG error on a target that is no mini program host (H5, RN…). */
export function taroPlatform(taro: TaroLike, options: TaroPlatformOptions = {}): HostPlatform {
  let env: string | undefined
  try {
    env = taro.getEnv()
  } catch (_) {
    env = undefined
  }
  return frameworkPlatform(taro as unknown as Host, options.host || (env ? TARGETS[env] : undefined), 'Taro', options.host || env)
}
