/**
 * A faithful fake `my` (Alipay mini programs) over the wx fake's engine, with Alipay's names and
 * shapes (@mini-types/my, docs/platforms.md):
 * - `my.getAuthCode({ scopes })` → `{ authCode, authSuccessScopes, authErrorScopes }`; no
 *   `my.login`, no `my.checkSession`, no `my.authorize`;
 * - failures are `{ error, errorMessage }`: 12 network, 13 timeout, 14 JSON parse, 19 HTTP status,
 *   11 file not found, 2 bad parameters;
 * - `my.request` takes `headers` (or `header`), defaults `dataType` to json and fails with 14 on
 *   a body that is not JSON; its result has `status` / `headers` (`responseFields: 'legacy'`, older
 *   base libraries) or also `statusCode` / `header` (`'both'`, default). A non-2xx status fails
 *   with 19 and the response (`httpErrors: 'fail-with-response'`, default), fails with 19 alone
 *   (`'fail-bare'`), or succeeds (`'success'`): which one a given base library does is not
 *   documented, so the fake lets a test pick;
 * - `my.getStorageSync({ key })` → `{ data }` (null when absent); `my.setStorageSync` reports a
 *   failure in its result, it does not throw; no `encrypt` option;
 * - `my.uploadFile` needs `fileName` (or `name`) and `fileType`;
 * - `my.getPhoneNumber` → `{ response }` (encrypted, for the server), or fails when the user refuses.
 */
import type { MyLike } from '../platforms/alipay'
import { createFakeWx, type FakeWx, type FakeWxOptions } from './fake-wx'
import { asHost, hostObject, type FakeHostObject } from './fake-host'
import { checked } from './settings'

export interface FakeMyOptions extends FakeWxOptions {
  responseFields?: 'both' | 'legacy'
  httpErrors?: 'fail-with-response' | 'fail-bare' | 'success'
}

export interface FakeMy extends FakeWx {
  /** The `my` object: pass it to `alipayPlatform`, or set it as `global.my`. */
  readonly my: FakeHostObject<MyLike>
  /** What the user answers to the phone-number authorization (`my.getPhoneNumber`). Default 'allow'. */
  phoneNumber: 'allow' | 'deny'
}

/** Alipay's failure shape for one of the engine's wx failures. */
function myError(e: any): { error: number; errorMessage: string } {
  const text = String((e && e.errMsg) || 'fail').replace(/^[^:]*:fail ?/, '')
  const error = /timeout/.test(text) ? 13 : /not found/.test(text) ? 11 : 12
  return { error, errorMessage: text }
}

function myCallbacks(o: any, ok?: (r: any) => unknown): any {
  return {
    success: (r: any) => o.success && o.success(ok ? ok(r) : r),
    fail: (e: any) => o.fail && o.fail(myError(e)),
  }
}

export function createFakeMy(options: FakeMyOptions = {}): FakeMy {
  const base = createFakeWx(Object.assign({}, options, { baseLibrary: options.baseLibrary || '2.9.0' }))
  if (options.responseFields !== undefined) checked('options.responseFields', ['both', 'legacy'], options.responseFields)
  if (options.httpErrors !== undefined) checked('options.httpErrors', ['fail-with-response', 'fail-bare', 'success'], options.httpErrors)
  const legacy = options.responseFields === 'legacy'
  const httpErrors = options.httpErrors || 'fail-with-response'
  const state = { phoneNumber: 'allow' as 'allow' | 'deny' }
  let phoneSeq = 0
  const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(base.storageSnapshot(), key)
  const syncWrite = (fn: () => void): { success: boolean; error?: number; errorMessage?: string } => {
    try {
      fn()
      return { success: true }
    } catch (err) {
      return { success: false, error: 12, errorMessage: (err as Error).message }
    }
  }
  const own: Record<string, (o: any) => unknown> = {
    getAuthCode(o: any = {}) {
      return base.wx.login(myCallbacks(o, (r) => ({ authCode: r.code, authSuccessScopes: [].concat(o.scopes || 'auth_base'), authErrorScopes: {} })))
    },
    request(o: any) {
      const dataType = o.dataType || 'json'
      return base.wx.request({
        url: o.url,
        method: o.method,
        data: o.data,
        header: Object.assign({ 'content-type': 'application/json' }, o.header, o.headers),
        timeout: o.timeout,
        dataType: 'text',
        success: (r: any) => {
          let data = r.data
          if (dataType === 'json' && typeof data === 'string' && data) {
            try {
              data = JSON.parse(data)
            } catch (_) {
              return o.fail && o.fail({ error: 14, errorMessage: 'JSON parse data error' })
            }
          }
          const res: any = legacy ? { data, status: r.statusCode, headers: r.header } : { data, status: r.statusCode, headers: r.header, statusCode: r.statusCode, header: r.header }
          const ok = r.statusCode >= 200 && r.statusCode < 300
          if (ok || httpErrors === 'success') return o.success && o.success(res)
          const err = { error: 19, errorMessage: 'http status error' }
          if (o.fail) o.fail(httpErrors === 'fail-with-response' ? Object.assign(res, err) : err)
        },
        fail: (e: any) => o.fail && o.fail(myError(e)),
      })
    },
    uploadFile(o: any) {
      const name = o.fileName || o.name
      if (!name || !o.fileType) {
        return Promise.resolve().then(() => o.fail && o.fail({ error: 2, errorMessage: 'invalid params: fileName and fileType are required' }))
      }
      return base.wx.uploadFile(
        Object.assign({ url: o.url, filePath: o.filePath, name, header: o.header || o.headers, formData: o.formData, timeout: o.timeout }, myCallbacks(o)),
      )
    },
    getStorageSync(o: { key: string }) {
      try {
        const data = base.wx.getStorageSync(o.key)
        return { data: has(o.key) ? data : null }
      } catch (err) {
        return { data: null, error: 12, errorMessage: (err as Error).message }
      }
    },
    setStorageSync: (o: { key: string; data: unknown }) => syncWrite(() => base.wx.setStorageSync(o.key, o.data)),
    removeStorageSync: (o: { key: string }) => syncWrite(() => base.wx.removeStorageSync(o.key)),
    getStorage(o: any) {
      if (base.behavior.storageRead === 'ok' && !has(o.key)) return Promise.resolve().then(() => o.success && o.success({ data: null }))
      return base.wx.getStorage(Object.assign({ key: o.key }, myCallbacks(o)))
    },
    setStorage: (o: any) => base.wx.setStorage(Object.assign({ key: o.key, data: o.data }, myCallbacks(o))),
    removeStorage: (o: any) => base.wx.removeStorage(Object.assign({ key: o.key }, myCallbacks(o))),
    getSetting: (o: any = {}) => base.wx.getSetting(myCallbacks(o)),
    openSetting: (o: any = {}) => base.wx.openSetting(myCallbacks(o)),
    showModal: (o: any = {}) => base.wx.showModal(Object.assign({}, o, myCallbacks(o))),
    getPhoneNumber(o: any = {}) {
      return Promise.resolve().then(() => {
        if (state.phoneNumber === 'deny') return o.fail && o.fail({ error: 11, errorMessage: '用户取消授权' })
        const response = JSON.stringify({ response: 'ENCRYPTED-PHONE-' + ++phoneSeq, sign: 'SIGN-' + phoneSeq })
        if (o.success) o.success({ response })
      })
    },
  }
  const made = hostObject(base, ['getSystemInfoSync', 'getAppBaseInfo', 'getAccountInfoSync'], own, options.missing)
  made.host.canIUse = (schema: string) => !/encrypt/.test(schema) && String(schema).split('.')[0] in made.host
  const out = asHost<FakeMy>(base, 'my', made)
  Object.defineProperty(out, 'phoneNumber', { get: () => state.phoneNumber, set: (v) => (state.phoneNumber = checked('fake.phoneNumber', ['allow', 'deny'], v)), enumerable: true })
  return out
}
