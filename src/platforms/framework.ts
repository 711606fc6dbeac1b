/**
 * What uni-app and Taro adapters share: both expose wx-shaped callback APIs on every mini program
 * target and return promises besides (silenced here), so only the target host differs. The
 * per-target differences follow the hosts' own adapters (docs/platforms.md).
 */
import { AuthError } from '../errors'
import type { HostName, HostPlatform } from './host'
import { bindNames, quiet, WX_NAMES, type Host } from './wrap'
import { wxPhone } from './wx-phone'

const HOSTS = ['weixin', 'qq', 'douyin', 'alipay']

/**
 * The platform over a framework object (`uni`, `Taro`) built for `name`; `target` is what the
 * framework reported, for the error when `name` is no supported host.
 */
export function frameworkPlatform(host: Host, name: HostName | undefined, framework: string, target: string | undefined): HostPlatform {
  if (!name || HOSTS.indexOf(name) < 0) {
    throw new AuthError(
      'CONFIG',
      `weapp-auth: ${framework} target "${String(target)}" is not a supported mini program host (WeChat, QQ, Douyin, Alipay); pass { host } to the ${framework} adapter.`,
    )
  }
  const out = bindNames(host, WX_NAMES, {})
  for (const k of Object.keys(out)) {
    const fn = out[k]
    // On Douyin the frameworks pass tt's failures through: `errNo`, read as wx's `errno`.
    if (!/Sync$|^canIUse$|^getAppBaseInfo$/.test(k)) {
      out[k] = (o: Host) =>
        quiet(fn(name === 'douyin' && o && o.fail ? Object.assign({}, o, { fail: (e: Host) => o.fail(e && e.errNo !== undefined ? Object.assign({ errno: e.errNo }, e) : e) }) : o))
    }
  }
  // Neither framework maps a checkSession onto Alipay: there the SDK relies on expiry and 401.
  if (name === 'alipay') delete out.checkSession
  // Only WeChat has encrypted storage.
  if (name !== 'weixin') out.canIUse = (schema: string) => !/encrypt/.test(schema) && !!host.canIUse && !!host.canIUse(schema)
  return Object.assign(out, {
    host: name,
    networkTaskLimit: 10,
    loginCall: (framework === 'Taro' ? 'Taro' : 'uni') + '.login',
    phoneCredential: (detail: unknown) => {
      const d = detail as Host | null
      if (name !== 'alipay') return wxPhone(name, detail)
      return d && typeof d.response === 'string' && d.response ? { platform: name, response: d.response } : null
    },
  }) as unknown as HostPlatform
}
