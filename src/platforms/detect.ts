/**
 * Auto-detection of the host from its globals, for `createAuth` without `platform`. Importing
 * this bundles all four host adapters; an app that passes `platform` does not import it.
 *
 * Order: `qq`, `tt`, `my`, then `wx`, because a host may also define `wx` as an alias of its own
 * object (QQ does, see docs/platforms.md) while WeChat defines none of the others.
 */
import { AuthError } from '../errors'
import type { Platform } from '../platform'
import { alipayPlatform, type MyLike } from './alipay'
import { douyinPlatform, type TtLike } from './douyin'
import type { HostPlatform } from './host'
import { qqPlatform, type QqLike } from './qq'
import { weixinPlatform } from './weixin'

declare const qq: unknown
declare const tt: unknown
declare const my: unknown
declare const wx: unknown

/** The running host's platform; WeChat's `wx` is returned as is, tagged. Throws CONFIG when no host global exists. */
export function detectPlatform(): HostPlatform {
  if (typeof qq === 'object' && qq) return qqPlatform(qq as QqLike)
  if (typeof tt === 'object' && tt) return douyinPlatform(tt as TtLike)
  if (typeof my === 'object' && my) return alipayPlatform(my as MyLike)
  if (typeof wx === 'object' && wx) return weixinPlatform(wx as Platform)
  throw new AuthError(
    'CONFIG',
    'weapp-auth: no mini program host found (looked for the globals qq, tt, my, wx). Run inside a mini program, or pass `platform` to createAuth (in tests: a fake from weapp-auth/testing).',
  )
}
