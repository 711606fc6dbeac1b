/**
 * Douyin (and other ByteDance hosts) mini programs: the global `tt`. Names and success shapes
 * are wx's; the differences the adapter maps:
 * - `tt.login` answers `{ code, anonymousCode, isLogin }`; both codes are passed on (the login
 *   body carries `anonymousCode` for the server's `anonymous_code`);
 * - failures carry `errNo`, not `errno`;
 * - there is no encrypted storage (`encrypt` is not an option of tt.setStorage).
 * Sources: docs/platforms.md (Douyin row), @douyin-microapp/typings api/login.d.ts, api/types.d.ts.
 */
import type { HostPlatform } from './host'
import { bindNames, WX_NAMES, type Host } from './wrap'
import { wxPhone } from './wx-phone'

type Callbacks = { success?: (res: never) => void; fail?: (err: never) => void; complete?: (res: never) => void }

/** The part of `tt` the adapter needs, typed from @douyin-microapp/typings. */
export interface TtLike {
  login(options: { force?: boolean } & Callbacks): unknown
  request(options: { url: string } & Callbacks): unknown
  getStorageSync(key: string): unknown
  setStorageSync(key: string, data: unknown): unknown
  removeStorageSync(key: string): unknown
}

const ASYNC = ['login', 'checkSession', 'request', 'uploadFile', 'getStorage', 'setStorage', 'removeStorage', 'getSetting', 'authorize', 'openSetting', 'showModal']

/** The SDK's platform over Douyin's `tt` global. */
export function douyinPlatform(tt: TtLike): HostPlatform {
  const host = tt as unknown as Host
  const out = bindNames(host, WX_NAMES, {
    host: 'douyin',
    networkTaskLimit: 10,
    loginCall: 'tt.login',
    phoneCredential: (detail: unknown) => wxPhone('douyin', detail),
  })
  for (const name of ASYNC) {
    if (typeof host[name] !== 'function') continue
    out[name] = (o: Host) => {
      const fail = o && o.fail
      const opts: Host = Object.assign({}, o)
      if (name === 'setStorage' || name === 'getStorage') delete opts.encrypt
      if (fail) opts.fail = (e: { errMsg?: string; errNo?: number }) => fail({ errMsg: (e && e.errMsg) || name + ':fail', errno: e && e.errNo })
      return host[name](opts)
    }
  }
  // No encrypted storage on tt: say so whatever tt.canIUse answers for wx's schema.
  out.canIUse = (schema: string) =>
    !/^(set|get)Storage\.object\.encrypt$/.test(schema) && (typeof host.canIUse !== 'function' || !!host.canIUse(schema))
  return out as unknown as HostPlatform
}
