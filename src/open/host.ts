/**
 * What the open abilities need from the host: which host it is and its API (the option, else the
 * running host's global), a check that an API exists, and the promise form of a callback API.
 *
 * The host is known without bundling any adapter or the detection of `weapp-auth`: an adapter
 * (`auth.platform`) says it in `host`; a host's own global (`qq`, `tt`, `my`, `wx`) is recognised
 * as the running host's global it is; any other object is called as WeChat's `wx`. Without the
 * option, the running host's global is used, looked for in the order qq, tt, my, wx (as
 * createAuth detects).
 */
import { AuthError, type AuthErrorCode } from '../base/errors'
import { baseLibraryVersion, hasApi, type Platform } from '../base/platform'
import type { HostName } from '../platforms/host'

declare const qq: unknown
declare const tt: unknown
declare const my: unknown
declare const wx: unknown

export interface HostOptions {
  /**
   * The host to call: `auth.platform` (or any adapter from `weapp-auth/platforms`), or a host's own
   * global (`wx`, `qq`, `tt`, `my`). Default: the running host's global, looked for in the order
   * qq, tt, my, wx.
   */
  platform?: Platform
}

/** The host's API and name. */
export interface Host {
  api: Platform
  name: HostName
}

/** How messages name each host: the app, then the global whose calls are meant (in detection order). */
const LABELS: Record<HostName, string> = { qq: 'QQ (qq)', douyin: 'Douyin (tt)', alipay: 'Alipay (my)', weixin: 'WeChat (wx)' }

/** "Alipay (my)". */
export const label = (host: Host): string => LABELS[host.name]
/** "my.getSetting": the host's own name for one of its calls. */
export const api = (host: Host, name: string): string => LABELS[host.name].slice(-3, -1) + '.' + name

/** The running hosts' globals, in createAuth's detection order (QQ may define `wx` as an alias of `qq`). */
const globals = (): unknown[] => [typeof qq == 'object' && qq, typeof tt == 'object' && tt, typeof my == 'object' && my, typeof wx == 'object' && wx]
const NAMES = Object.keys(LABELS) as HostName[]

/**
 * The host a platform object belongs to: an adapter's `host`, or which running host's global it
 * is; else WeChat. Without one: the first running host's global, or CONFIG.
 */
export function hostFor(p?: Platform): Host {
  const found = globals()
  const i = p ? found.indexOf(p) : found.findIndex(Boolean)
  const api = (p || found[i]) as Platform & { host?: HostName }
  if (!api) throw new AuthError('CONFIG', 'No qq, tt, my or wx global: pass `platform`.')
  return { api, name: api.host || NAMES[i] || 'weixin' }
}

export const hostOf = (options: HostOptions | undefined): Host => hostFor(options && options.platform)

/** Minimum base libraries (WeChat's, and Alipay's my.getPhoneNumber: 1.16.4), for UNSUPPORTED messages. */
const MIN_VERSION: Record<string, string> = {
  'wx.getSetting': '1.2.0',
  'wx.openSetting': '1.1.0',
  'wx.showModal': '1.0.0',
  'my.getPhoneNumber': '1.16.4',
}

/**
 * Throws UNSUPPORTED when the host lacks `name`: "`helper`() needs my.getPhoneNumber (Alipay (my)
 * base library 1.16.4 or later, this is 1.10.0)" and what to do (default: ask users to update).
 */
export function requireApi(host: Host, name: string, helper: string, todo = 'ask users to update.'): void {
  if (hasApi(host.api, name as keyof Platform)) return
  const running = baseLibraryVersion(host.api)
  const call = api(host, name)
  throw new AuthError('UNSUPPORTED', `${helper}() needs ${call} (${label(host)} base library ${MIN_VERSION[call] || 'newer'} or later${running ? `, this is ${running}` : ''}): ${todo}`)
}

/**
 * Runs `fn` now; whatever it throws becomes the rejection (promise-returning helpers never throw).
 * `helper`: the name of a helper that sends to your server (`uploadAvatar`); a 404 or 405 from its
 * endpoint then says which option sets the URL ("… answered HTTP 404. Check uploadAvatar's url
 * option.").
 */
export function attempt<T>(fn: () => T | PromiseLike<T>, helper?: string): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn())).catch((e) => {
    // (404 | 1) == (405 | 1) == 405: no such route, or not with that method.
    if (helper && e && e.code == 'HTTP_ERROR' && (e.statusCode | 1) == 405) e.message += ` Check ${helper}'s url option.`
    throw e
  })
}

/** How a host call failed: wx's shape. */
export interface HostFailure {
  errMsg: string
  errno?: number
}

/**
 * Promise form of the host callback API `platform[name](args)`. Failures (and a throw) reject as
 * `{ errMsg, errno? }`: wx's shape as is, Alipay's `{ error, errorMessage }` (a raw `my`) as
 * `{ errMsg: errorMessage }`.
 */
export function call<R>(platform: Platform, name: string, args?: object): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    try {
      ;(platform as unknown as Record<string, (o: object) => unknown>)[name](
        Object.assign({ success: resolve, fail: (e: { errMsg: string; errorMessage?: string }) => reject((e && (e.errMsg ? e : { errMsg: e.errorMessage })) || { errMsg: 'fail' }) }, args),
      )
    } catch (err) {
      reject({ errMsg: (err as Error) && (err as Error).message })
    }
  })
}

/** The AuthError `code` for a failure the host reported: "`what` failed (errMsg)" + `hint`, with its errMsg and errno. */
export function failure(code: AuthErrorCode, what: string, e: HostFailure, hint = ''): AuthError {
  return new AuthError(code, `${what} failed (${e.errMsg})${hint}`, { errMsg: e.errMsg, errno: e.errno })
}

/** `call` on the host whose failure rejects as AuthError `code`: "my.openSetting failed (errMsg)" + `hint`. */
export function callOr<R>(host: Host, name: string, code: AuthErrorCode, hint?: string): Promise<R> {
  return call<R>(host.api, name).catch((err: HostFailure) => {
    throw failure(code, api(host, name), err, hint)
  })
}
