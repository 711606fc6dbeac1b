/**
 * A faithful fake `wx` for unit tests (jest, miniprogram-simulate). Unlike miniprogram-simulate's
 * stand-in, its storage stores, `wx.login` issues unique single-use codes, and `request` /
 * `uploadFile` reach handler functions you write, with latency, `RequestTask.abort()`, time
 * limits and the platform's limit of 10 concurrent network tasks recorded.
 *
 * Behaviour modelled on the real platform:
 * - `getStorageSync` of a missing key returns `''`; values are deep-copied (JSON) on write.
 * - encrypted storage (`setStorage`/`getStorage` with `encrypt: true`, base library 2.21.3+):
 *   an encrypted value read through the sync API (or without `encrypt`) is an opaque string;
 *   reading a plain value with `encrypt: true` fails.
 * - `request` with an object body and method GET puts the fields in the query string; other
 *   methods send JSON. Response bodies travel as text and are JSON-parsed only for
 *   `dataType: 'json'` (the default), falling back to the raw string, as wx does.
 * - `uploadFile` needs an existing temp file (`addTempFile`) and always answers a string body.
 * - callbacks are always asynchronous.
 * - every request and upload is timed: its `timeout`, else `networkTimeout` (60 000 ms, as wx).
 */

import type { Platform } from '../base/platform'
import type { FakeHostObject } from './host-object-type'
import { createFakeOpenAbilities, type FakeOpenAbilities } from './fake-open-abilities'
import { checked, switches } from './settings'

export interface FakeRequest {
  kind: 'request' | 'upload'
  /** The full URL as sent (query included). */
  url: string
  /** The path without origin and query: `/api/user/me`. */
  path: string
  query: Record<string, string>
  method: string
  header: Record<string, string>
  /** The parsed JSON body (objects), the raw string body, or undefined. */
  data?: unknown
  filePath?: string
  name?: string
  formData?: Record<string, unknown>
  /** Content of the uploaded temp file. */
  file?: { path: string; content: string; size: number }
}

export type FakeReply =
  | { statusCode?: number; data?: unknown; header?: Record<string, string> }
  /** The request fails without an answer, like a network error (`errMsg`: "request:fail …"). */
  | { networkError: string }
  /** No answer ever comes (until the request's own timeout, or abort). */
  | { hang: true }

export type FakeHandler = (req: FakeRequest) => FakeReply | Promise<FakeReply>

export interface FakeWxOptions {
  /** Answers requests and uploads. Default: 404 for everything. */
  handler?: FakeHandler
  /** Milliseconds before each answer (a number, or a function of the request). Default 0. */
  latency?: number | ((req: FakeRequest) => number)
  /** `SDKVersion` reported by the fake. Default '3.7.0'. */
  baseLibrary?: string
  /** `getAccountInfoSync().miniProgram.appId`. Default 'touristappid' (DevTools without an AppID: the SDK then sends none). */
  appId?: string
  /** `getAccountInfoSync().miniProgram.envVersion`. Default 'develop'. */
  envVersion?: 'develop' | 'trial' | 'release'
  /** wx API names to leave out, to simulate an older base library. */
  missing?: string[]
  /** `'record'` (default) counts tasks over the limit of 10; `'fail'` fails them like old base libraries did. */
  taskLimit?: 'record' | 'fail'
  /** app.json's `networkTimeout`: ms before a request or upload without its own `timeout` fails. Default 60 000, as in wx. */
  networkTimeout?: number
}

export interface FakeBehavior {
  /** 'ok': a fresh code; 'fail': fail callback; 'hang': never calls back; 'no-code': success without code. */
  login: 'ok' | 'fail' | 'hang' | 'no-code'
  /** wx.checkSession outcome. */
  checkSession: boolean
  /** Milliseconds before wx.checkSession answers (0: at once). */
  checkSessionDelay: number
  /**
   * Make storage reads / writes throw (sync) or fail (async), like a disabled or full storage;
   * async reads and writes may also `'hang'`: `getStorage` / `setStorage` / `removeStorage` never call back.
   */
  storageRead: 'ok' | 'throw' | 'hang'
  storageWrite: 'ok' | 'throw' | 'hang'
}

export type CodeCheck = 'ok' | 'used' | 'expired' | 'invalid'

interface StoredEntry {
  value: unknown
  encrypted: boolean
}

/** The network task limit of the platform. */
export const NETWORK_TASK_LIMIT = 10
const CODE_TTL_MS = 5 * 60 * 1000

function compareVersion(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] || 0) - (pb[i] || 0)
    if (d) return d < 0 ? -1 : 1
  }
  return 0
}

function clone<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v))
}

function parseQuery(q: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (!q) return out
  for (const part of q.split('&')) {
    if (!part) continue
    const i = part.indexOf('=')
    const k = decodeURIComponent((i >= 0 ? part.slice(0, i) : part).replace(/\+/g, ' '))
    out[k] = i >= 0 ? decodeURIComponent(part.slice(i + 1).replace(/\+/g, ' ')) : ''
  }
  return out
}

function splitUrl(url: string): { path: string; query: Record<string, string> } {
  const noHash = url.split('#')[0]
  const qi = noHash.indexOf('?')
  const beforeQuery = qi >= 0 ? noHash.slice(0, qi) : noHash
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*(.*)$/.exec(beforeQuery)
  return { path: (m ? m[1] : beforeQuery) || '/', query: parseQuery(qi >= 0 ? noHash.slice(qi + 1) : '') }
}

type Callbacks = { success?: (res: any) => void; fail?: (err: any) => void; complete?: (res: any) => void }

/** Call the success/fail and complete callbacks asynchronously, as wx does. */
function later(fn: () => void, ms = 0): void {
  if (ms > 0) setTimeout(fn, ms)
  else Promise.resolve().then(fn)
}

function succeed(o: Callbacks, res: unknown): void {
  later(() => {
    if (o.success) o.success(res)
    if (o.complete) o.complete(res)
  })
}
function failWith(o: Callbacks, errMsg: string, errno?: number): void {
  later(() => {
    const err = errno === undefined ? { errMsg } : { errMsg, errno }
    if (o.fail) o.fail(err)
    if (o.complete) o.complete(err)
  })
}

export interface FakeWx extends FakeOpenAbilities {
  /**
   * The object to pass as `platform` (or to set as `global.wx` before miniprogram-simulate): a
   * `Platform`, with every call loosely typed for tests (the ones `missing` names are absent).
   */
  readonly wx: FakeHostObject<Platform>
  /**
   * How wx.login, wx.checkSession and storage behave. Each field checks what it is assigned (a
   * TypeError names the field and the values it takes); assigning an object sets the fields given
   * and puts the others back to their defaults.
   */
  get behavior(): FakeBehavior
  set behavior(v: Partial<FakeBehavior>)
  /** Calls made to each wx API, by name. */
  calls: Record<string, number>
  /** Every request and upload that reached the handler, in order. */
  requests: FakeRequest[]
  network: { active: number; peak: number; overLimit: number; limit: number }
  setHandler(handler: FakeHandler): void
  setLatency(latency: number | ((req: FakeRequest) => number)): void
  /** Checks a code issued by `wx.login` and marks it used, like code2Session does. */
  redeemCode(code: unknown): CodeCheck
  /** Codes issued so far. */
  readonly issuedCodes: string[]
  /** Adds a temp file (as `chooseAvatar` or `chooseMedia` would) and returns its path. */
  addTempFile(content?: string, ext?: string, dir?: string): string
  /** Plain values in storage (encrypted ones as `{ encrypted: true }`). */
  storageSnapshot(): Record<string, unknown>
  /** Resolves once no request or upload is in flight (checking every few ms, up to `timeoutMs`). */
  idle(timeoutMs?: number): Promise<void>
  /** Resets counters and the request log. */
  resetCounters(): void
}

export function createFakeWx(options: FakeWxOptions = {}): FakeWx {
  let handler: FakeHandler = options.handler || (() => ({ statusCode: 404, data: { error: 'not found' } }))
  let latency = options.latency || 0
  const baseLibrary = options.baseLibrary || '3.7.0'
  const missing = options.missing || []
  const networkTimeout = options.networkTimeout || 60000
  if (options.taskLimit !== undefined) checked('options.taskLimit', ['record', 'fail'], options.taskLimit)
  if (options.envVersion !== undefined) checked('options.envVersion', ['develop', 'trial', 'release'], options.envVersion)
  const storage = new Map<string, StoredEntry>()
  const files = new Map<string, string>()
  const issued = new Map<string, { at: number; used: boolean }>()
  const issuedList: string[] = []
  let codeSeq = 0
  let fileSeq = 0
  const behaviorSwitches = switches<FakeBehavior>(
    'fake.behavior',
    { login: ['ok', 'fail', 'hang', 'no-code'], checkSession: 'boolean', checkSessionDelay: 'ms', storageRead: ['ok', 'throw', 'hang'], storageWrite: ['ok', 'throw', 'hang'] },
    () => ({ login: 'ok', checkSession: true, checkSessionDelay: 0, storageRead: 'ok', storageWrite: 'ok' }),
  )
  const behavior = behaviorSwitches.value
  const calls: Record<string, number> = {}
  const requests: FakeRequest[] = []
  const network = { active: 0, peak: 0, overLimit: 0, limit: NETWORK_TASK_LIMIT }

  const delayFor = (req: FakeRequest): number => (typeof latency === 'function' ? latency(req) : latency)

  function startTask(kind: 'request' | 'upload', o: any): { abort(): void } {
    const prefix = kind === 'upload' ? 'uploadFile' : 'request'
    let done = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const finish = (fn: () => void): void => {
      if (done) return
      done = true
      if (timer) clearTimeout(timer)
      network.active--
      fn()
    }
    network.active++
    if (network.active > network.peak) network.peak = network.active
    if (network.active > NETWORK_TASK_LIMIT) {
      network.overLimit++
      if (options.taskLimit === 'fail') {
        finish(() => failWith(o, `${prefix}:fail exceed max task count`))
        return { abort() {} }
      }
    }
    const method = String(o.method || (kind === 'upload' ? 'POST' : 'GET')).toUpperCase()
    let url = String(o.url)
    let data: unknown = undefined
    if (kind === 'request' && o.data !== undefined) {
      if (method === 'GET' && o.data && typeof o.data === 'object') {
        const pairs = Object.keys(o.data).map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(String(o.data[k])))
        if (pairs.length) url += (url.indexOf('?') >= 0 ? '&' : '?') + pairs.join('&')
      } else {
        data = typeof o.data === 'string' ? o.data : clone(o.data)
      }
    }
    const { path, query } = splitUrl(url)
    const req: FakeRequest = { kind, url, path, query, method, header: Object.assign({}, o.header || {}), data }
    if (kind === 'upload') {
      req.filePath = o.filePath
      req.name = o.name
      req.formData = clone(o.formData || {})
      const content = files.get(o.filePath)
      if (content === undefined) {
        finish(() => failWith(o, 'uploadFile:fail file not found: ' + String(o.filePath)))
        return { abort() {} }
      }
      req.file = { path: o.filePath, content, size: content.length }
    }
    // wx always times a network task: `timeout`, else app.json's networkTimeout, 60 000 ms by default
    // (https://developers.weixin.qq.com/miniprogram/dev/reference/configuration/app.html#networkTimeout).
    timer = setTimeout(() => finish(() => failWith(o, `${prefix}:fail timeout`)), typeof o.timeout === 'number' && o.timeout > 0 ? o.timeout : networkTimeout)
    requests.push(req)
    const delay = delayFor(req)
    Promise.resolve()
      .then(() => handler(req))
      .then(
        (reply) => {
          if ('hang' in reply) return
          const respond = (): void => {
            if ('networkError' in reply) return finish(() => failWith(o, `${prefix}:fail ${reply.networkError}`))
            const body = reply.data
            const text = typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body)
            let out: unknown = text
            if (kind === 'request' && (o.dataType === undefined || o.dataType === 'json')) {
              try {
                out = JSON.parse(text)
              } catch (_) {
                out = text
              }
            }
            const res = {
              statusCode: reply.statusCode === undefined ? 200 : reply.statusCode,
              data: out,
              header: Object.assign({ 'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json' }, reply.header || {}),
              errMsg: `${prefix}:ok`,
            }
            finish(() => succeed(o, res))
          }
          if (delay > 0) setTimeout(respond, delay)
          else respond()
        },
        (err) => finish(() => failWith(o, `${prefix}:fail handler threw: ${err && err.message}`)),
      )
    return {
      abort() {
        finish(() => failWith(o, `${prefix}:fail abort`))
      },
    }
  }

  function readEntry(key: string): unknown {
    const e = storage.get(key)
    if (!e) return ''
    return e.encrypted ? 'ENCRYPTED:' + String(e.value).length.toString(16) + ':' + 'x'.repeat(8) : clone(e.value)
  }

  const encryptSupported = compareVersion(baseLibrary, '2.21.3') >= 0

  const api: Record<string, any> = {
    login(o: any = {}) {
      if (behavior.login === 'hang') return
      if (behavior.login === 'fail') return failWith(o, 'login:fail network error', 1)
      if (behavior.login === 'no-code') return succeed(o, { errMsg: 'login:ok' })
      const code = 'code-' + ++codeSeq + '-' + Math.random().toString(36).slice(2, 8)
      issued.set(code, { at: Date.now(), used: false })
      issuedList.push(code)
      succeed(o, { code, errMsg: 'login:ok' })
    },
    checkSession(o: any = {}) {
      const ok = behavior.checkSession
      const answer = (): void => (ok ? succeed(o, { errMsg: 'checkSession:ok' }) : failWith(o, 'checkSession:fail session time out, need relogin'))
      if (behavior.checkSessionDelay > 0) setTimeout(answer, behavior.checkSessionDelay)
      else answer()
    },
    request(o: any) {
      return startTask('request', o)
    },
    uploadFile(o: any) {
      return startTask('upload', o)
    },
    getStorageSync(key: string) {
      if (behavior.storageRead === 'throw') throw new Error('getStorageSync:fail storage is disabled')
      return readEntry(key)
    },
    setStorageSync(key: string, data: unknown) {
      if (behavior.storageWrite === 'throw') throw new Error('setStorageSync:fail exceed storage max size 10MB')
      storage.set(key, { value: clone(data), encrypted: false })
    },
    removeStorageSync(key: string) {
      if (behavior.storageWrite === 'throw') throw new Error('removeStorageSync:fail storage is disabled')
      storage.delete(key)
    },
    getStorage(o: any) {
      if (behavior.storageRead === 'hang') return
      if (behavior.storageRead === 'throw') return failWith(o, 'getStorage:fail storage is disabled')
      const e = storage.get(o.key)
      if (!e) return failWith(o, 'getStorage:fail data not found')
      if (o.encrypt && encryptSupported) {
        if (!e.encrypted) return failWith(o, 'getStorage:fail decrypt fail')
        return succeed(o, { data: clone(e.value), errMsg: 'getStorage:ok' })
      }
      succeed(o, { data: readEntry(o.key), errMsg: 'getStorage:ok' })
    },
    setStorage(o: any) {
      if (behavior.storageWrite === 'hang') return
      if (behavior.storageWrite === 'throw') return failWith(o, 'setStorage:fail exceed storage max size')
      if (o.encrypt && encryptSupported && JSON.stringify(o.data).length > 1024 * 1024) {
        return failWith(o, 'setStorage:fail exceed encrypted storage item max size 1MB')
      }
      storage.set(o.key, { value: clone(o.data), encrypted: !!(o.encrypt && encryptSupported) })
      succeed(o, { errMsg: 'setStorage:ok' })
    },
    removeStorage(o: any) {
      if (behavior.storageWrite === 'hang') return
      if (behavior.storageWrite === 'throw') return failWith(o, 'removeStorage:fail storage is disabled')
      storage.delete(o.key)
      succeed(o, { errMsg: 'removeStorage:ok' })
    },
    getAccountInfoSync() {
      return { miniProgram: { appId: options.appId || 'touristappid', envVersion: options.envVersion || 'develop', version: '' } }
    },
    getAppBaseInfo() {
      return { SDKVersion: baseLibrary }
    },
    getSystemInfoSync() {
      return { SDKVersion: baseLibrary, platform: 'devtools' }
    },
    canIUse(schema: string) {
      const name = String(schema).split('.')[0]
      if (!(name in wx)) return false
      if (schema === 'setStorage.object.encrypt' || schema === 'getStorage.object.encrypt') return encryptSupported
      return true
    },
  }

  const open = createFakeOpenAbilities()
  Object.assign(api, open.api)

  const wx = {} as FakeHostObject<Platform>
  for (const name of Object.keys(api)) {
    if (missing.indexOf(name) >= 0) continue
    const fn = api[name]
    calls[name] = 0
    wx[name] = function (this: unknown, ...args: unknown[]) {
      calls[name] = (calls[name] || 0) + 1
      return fn.apply(this, args)
    }
  }

  const fake = {
    wx,
    get behavior(): FakeBehavior {
      return behavior
    },
    set behavior(v: Partial<FakeBehavior>) {
      behaviorSwitches.assign(v)
    },
    calls,
    requests,
    network,
    setHandler(h: FakeHandler) {
      handler = h
    },
    setLatency(l: number | ((req: FakeRequest) => number)) {
      latency = l
    },
    redeemCode(code: unknown): CodeCheck {
      if (typeof code !== 'string') return 'invalid'
      const e = issued.get(code)
      if (!e) return 'invalid'
      if (e.used) return 'used'
      e.used = true
      if (Date.now() - e.at > CODE_TTL_MS) return 'expired'
      return 'ok'
    },
    get issuedCodes() {
      return issuedList.slice()
    },
    addTempFile(content = 'fake-image-bytes', ext = 'png', dir = 'http://tmp/') {
      const path = `${dir}fake-${++fileSeq}.${ext}`
      files.set(path, content)
      return path
    },
    storageSnapshot() {
      const out: Record<string, unknown> = {}
      storage.forEach((e, k) => {
        out[k] = e.encrypted ? { encrypted: true } : clone(e.value)
      })
      return out
    },
    idle(timeoutMs = 5000) {
      const start = Date.now()
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (network.active === 0) return resolve()
          if (Date.now() - start > timeoutMs) return reject(new Error(`fake wx: ${network.active} network task(s) still in flight`))
          setTimeout(check, 2)
        }
        check()
      })
    },
    resetCounters() {
      for (const k of Object.keys(calls)) calls[k] = 0
      requests.length = 0
      network.peak = network.active
      network.overLimit = 0
    },
  }
  return open.attach(fake)
}
