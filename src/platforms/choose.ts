/**
 * How `weapp-auth`'s `createAuth` turns its `platform` option into a host adapter:
 * - absent: detected from the globals (detect.ts: qq, tt, my, then wx);
 * - a host name: that host's global, adapted (CONFIG when the runtime does not define it);
 * - an object: an adapter (it has `host`) as is; a host's own global (`qq`, `tt`, `my`) through
 *   that host's adapter; uni-app's `uni` (it has `getProvider`) and `Taro` (it has `getEnv`)
 *   through their adapters, which read the build's target; anything else is a wx-compatible
 *   object, treated as WeChat.
 * Bundles every adapter; `weapp-auth/core` (plain.ts) takes objects only and bundles none.
 */
import { AuthError } from '../base/errors'
import type { Platform } from '../base/platform'
import { ADAPTERS, detectPlatform, GLOBALS } from './detect'
import type { HostName, HostPlatform } from './host'
import { asHostPlatform } from './plain'
import { taroPlatform, type TaroLike } from './taro'
import { uniPlatform, type UniLike } from './uni-app'

/** The global each host name reads, for the error when it is missing. */
const NAMES: Record<HostName, string> = { weixin: 'wx', qq: 'qq', douyin: 'tt', alipay: 'my' }

export function choosePlatform(given: Platform | HostName | undefined): HostPlatform {
  if (given === undefined) return detectPlatform()
  if (typeof given === 'string') {
    if (!Object.prototype.hasOwnProperty.call(GLOBALS, given)) {
      throw new AuthError('CONFIG', `createAuth: platform "${given}" is not a host: use 'weixin', 'qq', 'douyin' or 'alipay', or pass an object (an adapter from weapp-auth/platforms, uni, Taro).`)
    }
    const global = GLOBALS[given]()
    if (!global) throw new AuthError('CONFIG', `createAuth: platform "${given}" needs the global \`${NAMES[given]}\`, which this runtime does not define.`)
    return ADAPTERS[given](global as never)
  }
  const o = given as unknown as Record<string, unknown>
  if (o && typeof o === 'object' && typeof o.host !== 'string') {
    // A host's own global passed as is (`platform: my`) gets that host's adapter, not WeChat's shapes.
    for (const name of Object.keys(GLOBALS) as HostName[]) if (name !== 'weixin' && GLOBALS[name]() === given) return ADAPTERS[name](given as never)
    if (typeof o.getEnv === 'function') return taroPlatform(given as unknown as TaroLike)
    if (typeof o.getProvider === 'function') return uniPlatform(given as unknown as UniLike)
  }
  return asHostPlatform(given)
}

