/**
 * WeChat: `wx` already has the SDK's Platform shapes; the adapter only attaches the host facts
 * (the object delegates to `wx`, which stays untouched). Sources: docs/platforms.md (WeChat row).
 */
import type { Platform } from '../base/platform'
import type { HostPlatform } from './host'
import { wxPhone } from './wx-phone'

/** The SDK's platform over WeChat's `wx`. */
export function weixinPlatform(wx: Platform): HostPlatform {
  return Object.assign(Object.create(wx) as object, {
    host: 'weixin',
    networkTaskLimit: 10,
    phoneCredential: (detail: unknown) => wxPhone('weixin', detail),
  }) as unknown as HostPlatform
}
