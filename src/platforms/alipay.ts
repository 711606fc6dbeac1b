/**
 * Alipay mini programs: the global `my`. What the adapter maps (sources: docs/platforms.md,
 * Alipay row; @mini-types/my lib.my.d.ts):
 * - login: `my.getAuthCode({ scopes: 'auth_base' })` (silent, no prompt) → `{ code: authCode }`;
 * - no checkSession: left out, so the SDK relies on token expiry and the server's 401;
 * - request: `headers` (not `header`); the result has `status` / `headers` (base libraries
 *   before `statusCode` / `header` were added) or both; an HTTP error status may arrive through
 *   `fail` as `{ error: 19, errorMessage: 'http status error' }`: when that carries the status
 *   it is delivered as a response (the SDK decides on 401 itself), else as a failure;
 * - failures are `{ error, errorMessage }`, mapped to `{ errMsg, errno }` (13 = timeout);
 * - storage: `my.getStorageSync({ key })` → `{ data }` (no key → null, mapped to wx's `''`);
 *   `my.setStorageSync` reports errors in its result instead of throwing: thrown here, as wx does;
 *   no encrypted storage;
 * - uploadFile needs `fileName` and `fileType` (`name` on newer base libraries): both sent.
 */
import type { HostPlatform } from './host'
import { quiet, type AnyFn, type Host } from './wrap'

type AlipayError = { error?: number; errorMessage?: string }

/** The part of `my` the adapter needs, typed from @mini-types/my. */
export interface MyLike {
  getAuthCode(options: { scopes?: string | string[]; success?(res: { authCode: string }): void; fail?(err: AlipayError): void }): unknown
  request(options: { url: string }): unknown
  getStorageSync(options: { key: string }): { data: unknown }
  setStorageSync(options: { key: string; data: unknown }): unknown
  removeStorageSync(options: { key: string }): unknown
}

export interface AlipayPlatformOptions {
  /** `fileType` for uploads: 'image' (default: avatars), 'video' or 'audio'. */
  uploadFileType?: 'image' | 'video' | 'audio'
}

function errOf(name: string, e: AlipayError | undefined): { errMsg: string; errno?: number } {
  const code = e && e.error
  const text = e && e.errorMessage
  const reason = code === 13 ? 'timeout' : text || (code !== undefined ? 'error ' + code : 'unknown error')
  return { errMsg: name + ':fail ' + reason + (code !== undefined ? ' (' + code + ')' : ''), errno: code }
}

function fromResponse(r: Host): { statusCode: number; header: Record<string, unknown>; data: unknown } {
  return { statusCode: typeof r.statusCode === 'number' ? r.statusCode : r.status, header: r.header || r.headers || {}, data: r.data }
}

function storageResult(what: string, r: unknown): void {
  const res = r as (AlipayError & { success?: boolean }) | undefined
  if (res && (res.error !== undefined || res.success === false)) throw new Error(errOf(what, res).errMsg)
}

/** The SDK's platform over Alipay's `my` global. */
export function alipayPlatform(my: MyLike, options: AlipayPlatformOptions = {}): HostPlatform {
  const host = my as unknown as Host
  const fileType = options.uploadFileType || 'image'
  const call = (name: string, o: Host, args: Host, ok?: (r: Host) => unknown): unknown =>
    quiet(
      host[name](
        Object.assign(args, {
          success: (r: Host) => o.success && o.success(ok ? ok(r) : r),
          fail: (e: AlipayError) => o.fail && o.fail(errOf(name, e)),
        }),
      ),
    )
  const out: Host = {
    host: 'alipay',
    networkTaskLimit: 10,
    loginCall: 'my.getAuthCode',
    phoneCredential(detail: unknown) {
      const d = detail as { response?: unknown } | null
      return d && typeof d.response === 'string' && d.response ? { platform: 'alipay', response: d.response } : null
    },
    login: (o: Host) => call('getAuthCode', o, { scopes: 'auth_base' }, (r) => ({ code: r.authCode, errMsg: 'login:ok' })),
    request(o: Host) {
      const args: Host = { url: o.url, method: o.method, data: o.data, headers: o.header, timeout: o.timeout }
      args.dataType = o.responseType === 'arraybuffer' ? 'arraybuffer' : o.dataType || 'json'
      args.success = (r: Host) => o.success && o.success(fromResponse(r))
      args.fail = (e: Host) => {
        // An HTTP error status through fail: a response when the status is there.
        if (e && (typeof e.status === 'number' || typeof e.statusCode === 'number')) return o.success && o.success(fromResponse(e))
        if (o.fail) o.fail(errOf('request', e))
      }
      return quiet(host.request(args))
    },
    uploadFile: (o: Host) =>
      call(
        'uploadFile',
        o,
        { url: o.url, filePath: o.filePath, name: o.name, fileName: o.name, fileType, header: o.header, formData: o.formData, timeout: o.timeout },
        fromResponse,
      ),
    getStorageSync(key: string) {
      const r = host.getStorageSync({ key })
      storageResult('getStorageSync', r)
      return r && r.data !== null && r.data !== undefined ? r.data : ''
    },
    setStorageSync: (key: string, data: unknown) => storageResult('setStorageSync', host.setStorageSync({ key, data })),
    removeStorageSync: (key: string) => storageResult('removeStorageSync', host.removeStorageSync({ key })),
    canIUse: (schema: string) => !/encrypt/.test(schema) && typeof host.canIUse === 'function' && !!host.canIUse(schema),
  }
  const optional: Array<[string, ((o: Host) => Host) | null, ((r: Host) => unknown)?]> = [
    ['getStorage', (o) => ({ key: o.key }), (r) => ({ data: r.data === null || r.data === undefined ? '' : r.data })],
    ['setStorage', (o) => ({ key: o.key, data: o.data })],
    ['removeStorage', (o) => ({ key: o.key })],
    ['getSetting', null],
    ['openSetting', null],
    ['showModal', (o) => ({ title: o.title, content: o.content, showCancel: o.showCancel, confirmText: o.confirmText, cancelText: o.cancelText })],
    ['getPhoneNumber', null],
  ]
  for (const [name, args, ok] of optional) {
    if (typeof host[name] === 'function') out[name] = (o: Host) => call(name, o, args ? args(o) : {}, ok)
  }
  for (const name of ['getSystemInfoSync', 'getAppBaseInfo', 'getAccountInfoSync']) {
    if (typeof host[name] === 'function') out[name] = (host[name] as AnyFn).bind(host)
  }
  return out as unknown as HostPlatform
}
