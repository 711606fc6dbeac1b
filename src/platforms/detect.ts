/**
 * Auto-detection of the host from its globals, for `createAuth` without `platform`, and the
 * tables behind it (each host's global and adapter), which choose.ts uses for host names too.
 * Importing this bundles all four host adapters; an app that imports createAuth from
 * `weapp-auth/core` does not.
 *
 * Order: `qq`, `tt`, `my`, then `wx` (the key order of GLOBALS), because a host may also define
 * `wx` as an alias of its own object (QQ does, see docs/platforms.md) while WeChat defines none of
 * the others.
 */
import { AuthError } from '../base/errors'
import { alipayPlatform } from './alipay'
import { douyinPlatform } from './douyin'
import type { HostName, HostPlatform } from './host'
import { qqPlatform } from './qq'
import { weixinPlatform } from './weixin'

declare const qq: unknown
declare const tt: unknown
declare const my: unknown
declare const wx: unknown

/** Each host's global (undefined where the runtime has none), in detection order. */
export const GLOBALS: Record<HostName, () => unknown> = {
  qq: () => (typeof qq === 'object' && qq ? qq : undefined),
  douyin: () => (typeof tt === 'object' && tt ? tt : undefined),
  alipay: () => (typeof my === 'object' && my ? my : undefined),
  weixin: () => (typeof wx === 'object' && wx ? wx : undefined),
}
export const ADAPTERS: Record<HostName, (host: never) => HostPlatform> = { qq: qqPlatform, douyin: douyinPlatform, alipay: alipayPlatform, weixin: weixinPlatform }

/** The running host's platform; WeChat's `wx` is returned as is, tagged. Throws CONFIG when no host global exists. */
export function detectPlatform(): HostPlatform {
  for (const name of Object.keys(GLOBALS) as HostName[]) {
    const global = GLOBALS[name]()
    if (global) return ADAPTERS[name](global as never)
  }
  throw new AuthError(
    'CONFIG',
    'weapp-auth: no mini program host found (looked for the globals qq, tt, my, wx). Run inside a mini program, or pass `platform` to createAuth (in tests: a fake from weapp-auth/testing).',
  )
}
