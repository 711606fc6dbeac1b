/**
 * How `weapp-auth/core`'s `createAuth` turns its `platform` option into a host adapter, bundling
 * no host's adapter but WeChat's tag: an adapter (it has `host`) as is; any other wx-compatible
 * object, or the global `wx` when absent, as WeChat. Host names need `weapp-auth` (choose.ts).
 */
import { AuthError } from '../errors'
import { defaultPlatform, type Platform } from '../platform'
import type { HostName, HostPlatform } from './host'
import { weixinPlatform } from './weixin'

export function asHostPlatform(given: Platform | HostName | undefined): HostPlatform {
  if (typeof given === 'string') {
    throw new AuthError('CONFIG', `createAuth: weapp-auth/core takes no host names ("${given}"): pass the adapter (platform: douyinPlatform(tt) from weapp-auth/platforms), or import createAuth from 'weapp-auth'.`)
  }
  if (!given || typeof given !== 'object') {
    if (given !== undefined) throw new AuthError('CONFIG', `createAuth: platform must be an object (wx, an adapter, uni, Taro) or a host name, got ${String(given)}.`)
    given = defaultPlatform()
  }
  return typeof (given as Partial<HostPlatform>).host === 'string' ? (given as HostPlatform) : weixinPlatform(given)
}
