/**
 * A faithful fake `tt` (Douyin mini programs), over the wx fake's engine, with Douyin's shapes
 * (@douyin-microapp/typings): `tt.login` answers `{ code, anonymousCode, isLogin }` (a fresh
 * single-use anonymous code each time), failures carry `errNo` (not `errno`), storage has no
 * `encrypt` option, and no privacy-contract calls exist. Sources: docs/platforms.md.
 */
import type { TtLike } from '../platforms/douyin'
import { createFakeWx, type FakeWx, type FakeWxOptions } from './fake-wx'
import { asHost, hostObject, type FakeHostObject } from './fake-host'

export interface FakeTt extends FakeWx {
  /** The `tt` object: pass it to `douyinPlatform`, or set it as `global.tt`. */
  readonly tt: FakeHostObject<TtLike>
  /** Anonymous codes issued by tt.login, in order. */
  readonly issuedAnonymousCodes: string[]
  /** Checks an anonymous code issued by tt.login and marks it used, as jscode2session's `anonymous_code` does. */
  redeemAnonymousCode(code: unknown): 'ok' | 'used' | 'invalid'
}

const ASYNC = ['checkSession', 'request', 'uploadFile', 'getStorage', 'setStorage', 'removeStorage', 'getSetting', 'authorize', 'openSetting', 'showModal']
const SYNC = ['getStorageSync', 'setStorageSync', 'removeStorageSync', 'getSystemInfoSync']

/** Douyin's failure shape: `{ errMsg, errNo }`. */
function ttFail(o: any): any {
  if (!o || !o.fail) return o
  const fail = o.fail
  return Object.assign({}, o, { fail: (e: any) => fail(e && e.errno !== undefined ? { errMsg: e.errMsg, errNo: e.errno } : { errMsg: e && e.errMsg }) })
}

export function createFakeTt(options: FakeWxOptions = {}): FakeTt {
  const base = createFakeWx(Object.assign({}, options, { baseLibrary: options.baseLibrary || '2.80.0' }))
  const anonymous: string[] = []
  const usedAnonymous = new Set<string>()
  let seq = 0
  const own: Record<string, (o: any) => unknown> = {
    login(o: any = {}) {
      const success = o.success
      return base.wx.login(
        Object.assign(ttFail(o), {
          success: (r: any) => {
            const anonymousCode = 'anon-' + ++seq + '-' + Math.random().toString(36).slice(2, 8)
            anonymous.push(anonymousCode)
            // Not logged in to the Douyin app (force: false): `code` is '' and only anonymousCode comes
            // (@douyin-microapp/typings api/login.d.ts: code is a string, anonymousCode "无论登录与否都会返回").
            if (success) success(Object.assign({}, r, { code: r.code || '', anonymousCode, isLogin: !!r.code }))
          },
        }),
      )
    },
  }
  for (const n of ASYNC) own[n] = (o: any) => base.wx[n](ttFail(Object.assign({}, o, { encrypt: undefined })))
  const made = hostObject(base, SYNC, own, options.missing)
  made.host.canIUse = (schema: string) => !/encrypt/.test(schema) && String(schema).split('.')[0] in made.host
  const out = asHost<FakeTt>(base, 'tt', made)
  Object.defineProperty(out, 'issuedAnonymousCodes', { get: () => anonymous.slice() })
  Object.defineProperty(out, 'redeemAnonymousCode', {
    value: (code: unknown) => {
      if (typeof code !== 'string' || anonymous.indexOf(code) < 0) return 'invalid'
      if (usedAnonymous.has(code)) return 'used'
      usedAnonymous.add(code)
      return 'ok'
    },
  })
  return out
}
