/**
 * QQ mini programs: the global `qq` has wx's names and shapes (callbacks with `errMsg`,
 * `statusCode` / `header`, sync storage by key), so the adapter only binds the calls the SDK
 * uses and says what QQ is. Sources: docs/platforms.md (QQ row).
 */
import type { HostPlatform } from './host'
import { bindNames, WX_NAMES, type Host } from './wrap'
import { wxPhone } from './wx-phone'

/** The part of `qq` the adapter needs (QQ publishes no typings package; shapes as wx). */
export interface QqLike {
  login(options: object): unknown
  request(options: object): unknown
  getStorageSync(key: string): unknown
  setStorageSync(key: string, data: unknown): unknown
  removeStorageSync(key: string): unknown
}

/** The SDK's platform over QQ's `qq` global. */
export function qqPlatform(qq: QqLike): HostPlatform {
  const out = bindNames(qq as unknown as Host, WX_NAMES, {
    host: 'qq',
    networkTaskLimit: 10,
    loginCall: 'qq.login',
    phoneCredential: (detail: unknown) => wxPhone('qq', detail),
  })
  return out as unknown as HostPlatform
}
