/**
 * Fakes of the framework objects `uni` (uni-app) and `Taro`, over the wx fake's engine (over the
 * tt fake's for a Douyin build: `uniPlatform: 'mp-toutiao'`, `env: 'TT'`, where both frameworks
 * pass tt.login's `anonymousCode` and tt's `errNo` failures through). Both keep wx's shapes on
 * every target:
 * - `uni`: a call without success/fail/complete returns a promise; `getSystemInfoSync()` reports
 *   `uniPlatform` (@dcloudio/types). Built for Alipay (`mp-alipay`), a non-2xx answer comes as
 *   my.request's error 19 passed through uni's protocol: uni's common `returnValue` turns
 *   `{ error, errorMessage }` into `errMsg` and keeps the other fields, and the request protocol
 *   renames `status`/`headers` to `statusCode`/`header`, on every callback (uni-app
 *   packages/uni-mp-alipay/src/api/protocols.ts `returnValue` and `request.returnValue`;
 *   uni-mp-core's `processCallback`). So the failure carries the status when Alipay's does
 *   (`alipayHttpErrors: 'fail-with-response'`, default), or not (`'fail-bare'`, older base libraries);
 *   `'success'` delivers it through success as wx does;
 * - `Taro`: every asynchronous call returns a promise besides calling the callbacks, rejecting on
 *   failure; `Taro.request` returns that promise with `abort()`; `getEnv()` reports the target
 *   (@tarojs/taro types/api/open-api/login.d.ts, network/request.d.ts).
 */
import type { TaroLike } from '../platforms/taro'
import type { UniLike } from '../platforms/uni-app'
import { createFakeWx, type FakeWx, type FakeWxOptions } from './fake-wx'
import { asHost, hostObject, type FakeHostObject } from './fake-host'
import { createFakeTt } from './fake-tt'
import { checked } from './settings'

const ASYNC = ['login', 'checkSession', 'request', 'uploadFile', 'getStorage', 'setStorage', 'removeStorage', 'getSetting', 'authorize', 'openSetting', 'showModal']
const SYNC = ['getStorageSync', 'setStorageSync', 'removeStorageSync', 'canIUse', 'getAccountInfoSync', 'getAppBaseInfo']

/** The engine a build uses: tt's on Douyin (anonymous codes, errNo), else wx's. `api` is the host object the framework calls. */
function engine(options: FakeWxOptions, douyin: boolean): { base: FakeWx; api: Record<string, any> } {
  if (douyin) {
    const tt = createFakeTt(options)
    return { base: tt as unknown as FakeWx, api: tt.tt }
  }
  const wx = createFakeWx(options)
  return { base: wx, api: wx.wx }
}

/** Calls `name` on the host object and returns a promise of its outcome (the task's abort kept). */
function promised(api: Record<string, any>, name: string, o: any, always: boolean): unknown {
  const hasCallbacks = !!(o && (o.success || o.fail || o.complete))
  if (hasCallbacks && !always) return api[name](o)
  let task: any
  const p: any = new Promise((resolve, reject) => {
    task = api[name](
      Object.assign({}, o, {
        success: (r: any) => {
          if (o && o.success) o.success(r)
          resolve(r)
        },
        fail: (e: any) => {
          if (o && o.fail) o.fail(e)
          reject(e)
        },
      }),
    )
  })
  if (task && typeof task.abort === 'function') p.abort = () => task.abort()
  return p
}

export interface FakeUni extends FakeWx {
  /** The `uni` object: pass it as `platform` (from `weapp-auth`), to `uniPlatform`, or set it as `global.uni`. */
  readonly uni: FakeHostObject<UniLike>
}
export interface FakeTaro extends FakeWx {
  /** The `Taro` object: pass it as `platform` (from `weapp-auth`) or to `taroPlatform`. */
  readonly taro: FakeHostObject<TaroLike>
}

export function createFakeUni(options: FakeWxOptions & { uniPlatform?: string; alipayHttpErrors?: 'fail-with-response' | 'fail-bare' | 'success' } = {}): FakeUni {
  const { base, api } = engine(options, options.uniPlatform === 'mp-toutiao')
  const own: Record<string, (o: any) => unknown> = {
    getSystemInfoSync: () => ({ uniPlatform: options.uniPlatform || 'mp-weixin', SDKVersion: options.baseLibrary || '3.7.0' }),
    // uni.getProvider({ service }) (@dcloudio/types GetProviderOptions): the providers of a service on this target.
    getProvider: (o: any = {}) => {
      const provider = { 'mp-weixin': 'weixin', 'mp-qq': 'qq', 'mp-toutiao': 'toutiao', 'mp-alipay': 'alipay' }[options.uniPlatform || 'mp-weixin']
      const res = { service: o.service, provider: provider ? [provider] : [], errMsg: 'getProvider:ok' }
      if (o.success) o.success(res)
      if (o.complete) o.complete(res)
    },
  }
  for (const n of ASYNC) own[n] = (o: any) => promised(api, n, o, false)
  if (options.alipayHttpErrors !== undefined) checked('options.alipayHttpErrors', ['fail-with-response', 'fail-bare', 'success'], options.alipayHttpErrors)
  const httpErrors = options.alipayHttpErrors || 'fail-with-response'
  if (options.uniPlatform === 'mp-alipay' && httpErrors !== 'success') {
    // my.request's error 19 for a non-2xx status, as uni's protocol hands it to `fail`.
    own.request = (o: any = {}) =>
      promised(
        api,
        'request',
        Object.assign({}, o, {
          success: (r: any) => {
            if (r.statusCode >= 200 && r.statusCode < 300) return o.success && o.success(r)
            const err: any = { errMsg: 'request:fail http status error' }
            if (httpErrors === 'fail-with-response') Object.assign(err, { statusCode: r.statusCode, header: r.header, data: r.data })
            if (o.fail) o.fail(err)
            if (o.complete) o.complete(err)
          },
        }),
        false,
      )
  }
  return asHost<FakeUni>(base, 'uni', hostObject(base, SYNC, own, options.missing))
}

export function createFakeTaro(options: FakeWxOptions & { env?: string } = {}): FakeTaro {
  const { base, api } = engine(options, options.env === 'TT')
  const own: Record<string, (o: any) => unknown> = { getEnv: () => options.env || 'WEAPP' }
  for (const n of ASYNC) own[n] = (o: any) => promised(api, n, o, true)
  const made = hostObject(base, SYNC, own, options.missing)
  made.host.ENV_TYPE = { WEAPP: 'WEAPP', QQ: 'QQ', TT: 'TT', ALIPAY: 'ALIPAY', WEB: 'WEB' }
  return asHost<FakeTaro>(base, 'taro', made)
}
