/**
 * What uni-app and Taro adapters share: both expose wx-shaped callback APIs on every mini program
 * target and return promises besides (silenced here), so only the target host differs. The
 * per-target differences follow the hosts' own adapters (docs/platforms.md).
 */
import { AuthError } from '../base/errors'
import type { HostName, HostPlatform } from './host'
import { bindNames, quiet, WX_NAMES, type Host } from './wrap'
import { wxPhone } from './wx-phone'

const HOSTS = ['weixin', 'qq', 'douyin', 'alipay']
let warned = false

/**
 * Older Alipay base libraries give error 19 without the status: a 401 cannot be told from any
 * other HTTP error there, so no renewal can start. Said once, with the way out.
 */
function bareStatus(e: Host): Host {
  if (!warned && e && /http status error/.test(String(e.errMsg))) {
    warned = true
    console.warn('[weapp-auth] Alipay error 19 without a status: a 401 cannot renew here; answer 200 + an error code, with isUnauthorized.')
  }
  return e
}

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
    if (!/Sync$|^canIUse$|^getAppBaseInfo$/.test(k)) {
      out[k] = (o: Host) => {
        const fail = o && o.fail
        if (!fail || (name !== 'douyin' && (name !== 'alipay' || k !== 'request'))) return quiet(fn(o))
        return quiet(
          fn(
            Object.assign({}, o, {
              fail: (e: Host) =>
                // On Alipay an HTTP error status comes through fail (my.request's error 19), with the
                // status when Alipay gives it: that is an answer, so a 401 still renews.
                name === 'alipay'
                  ? e && typeof e.statusCode === 'number'
                    ? o.success && o.success({ statusCode: e.statusCode, data: e.data, header: e.header || {} })
                    : fail(bareStatus(e))
                  : // On Douyin the frameworks pass tt's failures through: `errNo`, read as wx's `errno`.
                    fail(e && e.errNo !== undefined ? Object.assign({ errno: e.errNo }, e) : e),
            }),
          ),
        )
      }
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
