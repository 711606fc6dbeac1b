/**
 * One way to call a host's server API (WeChat's, and QQ's and Douyin's, which keep its shapes):
 * `call(api, request)` over fetch, with a time limit on the whole exchange (connect, headers and body). WeChat answers HTTP 200 with JSON; a non-zero
 * `errcode` is a WechatApiError carrying it
 * (https://developers.weixin.qq.com/doc/oplatform/Return_codes/Return_code_descriptions_new.html).
 * Anything else is an UpstreamError: wechat_unreachable (connection refused/reset, DNS),
 * wechat_timeout (the time limit), wechat_bad_response (not JSON: a gateway's HTML page, say).
 *
 * The access_token travels in the query string, as WeChat wants it; it never appears in an error
 * message, an error's cause, or an event.
 */
import { AuthServerError, UpstreamError, WechatApiError } from '../errors'
import type { AuthServerEvent } from '../types'

export interface WechatApiOptions {
  /** e.g. https://api.weixin.qq.com, no trailing slash. */
  base: string
  timeoutMs: number
  fetch: typeof fetch
  emit: (event: AuthServerEvent) => void
  /** The host named in error messages. Default 'WeChat'; QQ's provider, whose API keeps WeChat's shapes, passes 'QQ'. */
  host?: string
}

export interface WechatRequest {
  method: 'GET' | 'POST'
  query?: Record<string, string>
  /** JSON body (POST). */
  body?: unknown
  /** Appended as `access_token=` and kept out of every error. */
  accessToken?: string
  /** Extra request headers (Douyin sends its token in one); never copied into an error. */
  headers?: Record<string, string>
}

export interface WechatApi {
  /** `api` is the path without its leading slash, e.g. `sns/jscode2session`. Answers WeChat's JSON (errcode 0 or absent). */
  call<T extends object = Record<string, unknown>>(api: string, request: WechatRequest): Promise<T>
}

/** Replaces secrets that could sit in a URL (access_token, secret, js_code) with `***`. */
export function redactUrl(text: string): string {
  return text.replace(/((?:access_token|secret|js_code|appsecret)=)[^&\s"']*/gi, '$1***')
}

export function createWechatApi(options: WechatApiOptions): WechatApi {
  const { base, timeoutMs, emit } = options
  const host = options.host ?? 'WeChat'
  const doFetch = options.fetch

  function fail(err: AuthServerError): never {
    emit({ type: 'upstream_error', api: (err as UpstreamError | WechatApiError).api ?? 'unknown', code: err.code })
    throw err
  }

  async function call<T extends object>(api: string, request: WechatRequest): Promise<T> {
    const params = new URLSearchParams(request.query)
    if (request.accessToken !== undefined) params.set('access_token', request.accessToken)
    const qs = params.toString()
    const url = `${base}/${api}${qs ? '?' + qs : ''}`
    const headers: Record<string, string> = { ...request.headers, accept: 'application/json' }
    const init: RequestInit = { method: request.method, signal: AbortSignal.timeout(timeoutMs), headers }
    if (request.body !== undefined) {
      init.body = JSON.stringify(request.body)
      headers['content-type'] = 'application/json'
    }
    let text: string
    let status: number
    try {
      const res = await doFetch(url, init)
      status = res.status
      text = await res.text()
    } catch (err) {
      if (isTimeout(err)) return fail(new UpstreamError('wechat_timeout', api, `${host} ${api} did not answer within ${timeoutMs} ms`, { cause: safeCause(err) }))
      return fail(new UpstreamError('wechat_unreachable', api, `${host} ${api} is unreachable (${describe(err)})`, { cause: safeCause(err) }))
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return fail(new UpstreamError('wechat_bad_response', api, `${host} ${api} answered HTTP ${status} with something that is not JSON`))
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      return fail(new UpstreamError('wechat_bad_response', api, `${host} ${api} answered HTTP ${status} with JSON that is not an object`))
    }
    const body = json as { errcode?: unknown; errmsg?: unknown }
    if (body.errcode !== undefined && body.errcode !== 0) {
      const errcode = typeof body.errcode === 'number' ? body.errcode : Number(body.errcode)
      if (!Number.isFinite(errcode)) return fail(new UpstreamError('wechat_bad_response', api, `${host} ${api} answered a non-numeric errcode`))
      return fail(new WechatApiError(api, errcode, redactUrl(typeof body.errmsg === 'string' ? body.errmsg : ''), { host }))
    }
    if (status < 200 || status >= 300) {
      return fail(new UpstreamError('wechat_bad_response', api, `${host} ${api} answered HTTP ${status}`))
    }
    return json as T
  }

  return { call }
}

/**
 * One HTTP exchange with a host's API, answering its status and raw text, for callers that need
 * the exact bytes (Alipay's response signature covers a substring of the body). The failures are
 * the ones `call` maps: wechat_timeout past `timeoutMs` (connect, headers and body), and
 * wechat_unreachable (refused, reset, DNS), with the URL kept out of the message and the cause.
 */
export async function fetchUpstream(
  doFetch: typeof fetch,
  url: string,
  init: RequestInit,
  target: { api: string; host: string; timeoutMs: number },
): Promise<{ status: number; text: string }> {
  const { api, host, timeoutMs } = target
  try {
    const res = await doFetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
    return { status: res.status, text: await res.text() }
  } catch (err) {
    if (isTimeout(err)) throw new UpstreamError('wechat_timeout', api, `${host} ${api} did not answer within ${timeoutMs} ms`, { cause: safeCause(err) })
    throw new UpstreamError('wechat_unreachable', api, `${host} ${api} is unreachable (${describe(err)})`, { cause: safeCause(err) })
  }
}

function isTimeout(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name
  return name === 'TimeoutError' || name === 'AbortError'
}

/** The low-level reason (ECONNREFUSED, ENOTFOUND, …) without any URL. */
function describe(err: unknown): string {
  let e: unknown = err
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    e = (e as { cause?: unknown }).cause
  }
  return redactUrl(err instanceof Error ? err.message : String(err))
}

/** A cause that keeps the reason but cannot carry the URL (and its access_token). */
function safeCause(err: unknown): Error {
  const cause = new Error(redactUrl(err instanceof Error ? err.message : String(err)))
  cause.name = (err as { name?: string } | null)?.name ?? 'Error'
  const code = describe(err)
  ;(cause as { code?: string }).code = code
  return cause
}
