/**
 * One network call through `wx.request` / `wx.uploadFile` in callback form (neither has a
 * promise form: `await wx.request()` yields a RequestTask, not the response), with a time
 * limit, an abort signal and body parsing. No auth logic lives here.
 */
import { onAbort, abortError, type AbortSignalLike } from '../base/abort'
import { NetworkError, TimeoutError } from '../base/errors'
import type { Platform, WxRequestOptions, WxRequestTask } from '../base/platform'
import { stripQuery } from '../base/url'

export interface TransmitSpec {
  kind: 'request' | 'upload'
  url: string
  method: string
  header: Record<string, string>
  data?: unknown
  /** 'json' (default): the body is parsed as JSON here. 'text': returned as a string. */
  dataType?: 'json' | 'text'
  responseType?: 'text' | 'arraybuffer'
  filePath?: string
  name?: string
  formData?: Record<string, unknown>
  timeout: number
  signal?: AbortSignalLike
}

export interface RawResponse {
  statusCode: number
  /** Parsed JSON when the body was JSON, the raw text otherwise, undefined when empty. */
  data: unknown
  header: Record<string, unknown>
  /** True when JSON was expected and the body was neither empty nor JSON. */
  notJson: boolean
}

/** `onSettle` runs synchronously when the call ends (answer, failure, timeout or abort): it frees the slot. */
export function transmit(platform: Platform, spec: TransmitSpec, onSettle?: () => void): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const { signal, url, header, timeout } = spec
    if (signal && signal.aborted) {
      if (onSettle) onSettle()
      return reject(abortError(signal))
    }
    let settled = false
    let task: WxRequestTask | undefined
    const where = (): string => spec.method + ' ' + stripQuery(url)
    /** True for the first outcome only: it stops the timer and the abort listener and frees the slot. */
    const done = (): boolean => {
      if (settled) return false
      settled = true
      clearTimeout(timer)
      stopAbort()
      if (onSettle) onSettle()
      return true
    }
    /** Rejects with `err` (timeout or abort) and aborts the network task. */
    const stop = (err: Error): void => {
      if (!done()) return
      reject(err)
      try {
        task!.abort()
      } catch (_) {
        /* no task (the call threw), a host task without abort(), or a task already done */
      }
    }
    const timer = setTimeout(() => stop(new TimeoutError(`${where()} timed out after ${timeout} ms.`, timeout)), timeout)
    const stopAbort = onAbort(signal, () => stop(abortError(signal!)))
    const fail = (err: { errMsg?: string } | undefined): void => {
      if (!done()) return
      const errMsg = (err && err.errMsg) || 'fail'
      reject(
        /timeout/i.test(errMsg)
          ? new TimeoutError(`${where()} timed out (${errMsg}).`, timeout)
          : new NetworkError(`${where()} failed: ${errMsg}. Check the network and the domain allow-list.`, errMsg),
      )
    }
    const success = (res: { statusCode: number; data: unknown; header?: Record<string, unknown> }): void => {
      if (!done()) return
      let data = res.data
      let notJson = false
      if (typeof data === 'string' && spec.dataType !== 'text' && spec.responseType !== 'arraybuffer') {
        const text = data.replace(/^\ufeff/, '')
        try {
          data = JSON.parse(text)
        } catch (_) {
          // An empty (or whitespace-only) body is no body, not a broken one.
          notJson = /\S/.test(text)
          data = notJson ? text : undefined
        }
      }
      resolve({ statusCode: res.statusCode, data, header: res.header || {}, notJson })
    }
    try {
      if (spec.kind === 'upload') {
        if (!platform.uploadFile) throw new Error('uploadFile is not available')
        task = platform.uploadFile({ url, header, timeout, success, fail, filePath: spec.filePath as string, name: spec.name as string, formData: spec.formData }) as WxRequestTask | undefined
      } else {
        task = platform.request({
          url,
          header,
          timeout,
          success,
          fail,
          method: spec.method as WxRequestOptions['method'],
          data: spec.data as WxRequestOptions['data'],
          // Parse here rather than in wx, so a non-JSON body is detected instead of passed on.
          dataType: 'text',
          // As given: unset means 'text' (https://developers.weixin.qq.com/miniprogram/dev/api/network/request/wx.request.html).
          responseType: spec.responseType,
        }) as WxRequestTask | undefined
      }
    } catch (err) {
      fail({ errMsg: (err as Error) && (err as Error).message })
    }
  })
}

/** The first 200 characters of a body, for error messages. */
export function snippet(data: unknown): string {
  let s: string
  try {
    s = typeof data === 'string' ? data : JSON.stringify(data) || ''
  } catch (_) {
    s = String(data)
  }
  return s.length > 200 ? s.slice(0, 200) + '…' : s
}
