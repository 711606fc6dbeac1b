/**
 * How `weapp-auth/core`'s `createAuth` turns its `platform` option into a host adapter, bundling
 * no host's adapter but WeChat's tag: an adapter (it has `host`) as is; any other wx-compatible
 * object, or the global `wx` when absent, as WeChat. Host names need `weapp-auth` (choose.ts).
 */
import { AuthError } from '../base/errors'
import { defaultPlatform, type Platform } from '../base/platform'
import type { HostName, HostPlatform } from './host'
import { weixinPlatform } from './weixin'

export function asHostPlatform(given: Platform | HostName | undefined): HostPlatform {
  const p = given === undefined ? defaultPlatform() : given
  if (!p || typeof p !== 'object') {
    throw new AuthError('CONFIG', `createAuth: platform must be an object (wx, an adapter), got ${String(p)}; host names need createAuth from 'weapp-auth'.`)
  }
  return typeof (p as Partial<HostPlatform>).host === 'string' ? (p as HostPlatform) : weixinPlatform(p)
}
