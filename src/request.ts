/**
 * The authenticated request wrapper: every call carries the current token (only to trusted
 * origins), waits for a login or refresh in flight instead of sending a stale token, and on an
 * unauthorized answer shares one renewal with the whole burst and retries at most once.
 * Every call settles: with the body, or with a typed error.
 */
import { raceAbort, type AbortSignalLike } from './abort'
import type { ResolvedConfig } from './config'
import { createDispatcher, type Call } from './dispatch'
import { AuthError, HttpError, NetworkError, ResponseParseError } from './errors'
import { hookList, runHooks } from './hooks'
import { snippet, type RawResponse } from './http'
import type { Limiter } from './limiter'
import { loggedOutError, type SessionMachine } from './session'
import { createTrustCheck } from './trust'
import { resolveUrl, stripQuery } from './url'

/** The methods wx.request supports (it has no PATCH). */
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS'

interface CommonOptions {
  /** Relative to `baseURL`, or absolute. The token goes only to `baseURL`'s origin and `trustedOrigins`. */
  url: string
  header?: Record<string, string>
  /** `false`: send no token and never trigger a login (public endpoints). Default true. */
  auth?: boolean
  /** Milliseconds for each attempt. Default: the instance's `timeout` (60 000). */
  timeout?: number
  /** Aborts the call: the network task is aborted and the promise rejects with AbortError. */
  signal?: AbortSignalLike
  /** `false`: reject an unauthorized answer at once instead of re-logging in and retrying once. */
  retry?: boolean
}

export interface RequestOptions extends CommonOptions {
  method?: Method
  data?: unknown
  /** 'json' (default): the body must be JSON (or empty). 'text': resolve with the raw string. */
  dataType?: 'json' | 'text'
  responseType?: 'text' | 'arraybuffer'
}

export interface UploadOptions extends CommonOptions {
  filePath: string
  /** The multipart field name of the file. */
  name: string
  formData?: Record<string, unknown>
}

/** What `afterResponse` hooks and `isUnauthorized` see. */
export interface AuthResponse {
  statusCode: number
  data: unknown
  header: Record<string, unknown>
}

/** Options after defaults and `beforeRequest` hooks, as the hooks see them. */
export type HookOptions = (RequestOptions | UploadOptions) & { method: string; kind: 'request' | 'upload' }

export type OneOrMany<F> = F | F[]
export interface Hooks {
  /** May return changed options (or change them in place). Runs once per call, before the URL is checked for trust. */
  beforeRequest?: OneOrMany<(options: HookOptions) => HookOptions | void | Promise<HookOptions | void>>
  /** May inspect or return a replacement response (for example to unwrap an envelope). */
  afterResponse?: OneOrMany<(response: AuthResponse, options: HookOptions) => AuthResponse | void | Promise<AuthResponse | void>>
  /** May return a different or enriched error. */
  beforeError?: OneOrMany<(error: Error, options: HookOptions) => Error | void | Promise<Error | void>>
}

export interface Requester {
  request<T = unknown>(options: RequestOptions, extra?: Partial<RequestOptions>): Promise<T>
  upload<T = unknown>(options: UploadOptions): Promise<T>
}

/** The request wrapper of one instance. `debug` lines are only built when `cfg.debug` is set. */
export function createRequester(cfg: ResolvedConfig, machine: SessionMachine, limiter: Limiter, debug: (line: string) => void): Requester {
  const debugging = !!cfg.debug
  const beforeHooks = hookList(cfg.hooks.beforeRequest)
  const afterHooks = hookList(cfg.hooks.afterResponse)
  const errorHooks = hookList(cfg.hooks.beforeError)
  const isTrusted = createTrustCheck(cfg.baseURL, cfg.trusted)
  const sendOnce = createDispatcher(cfg, machine, limiter)

  /** One call: send, handle an unauthorized answer with one renewal and one retry, map the result. */
  function attempt(opts: HookOptions, epoch0: number): Promise<unknown> {
    if (opts.kind === 'upload') {
      const u = opts as UploadOptions
      if (typeof u.filePath !== 'string' || !u.filePath || typeof u.name !== 'string' || !u.name) {
        return Promise.reject(new AuthError('INVALID_INPUT', 'upload() needs `filePath` and `name` (the multipart field).'))
      }
    }
    const url = resolveUrl(cfg.baseURL, opts.url)
    const where = (): string => opts.method + ' ' + stripQuery(url)
    const withAuth = opts.auth !== false && isTrusted(url)
    let retried = false

    const finish = (res: RawResponse, final: AuthResponse): unknown => {
      if (debugging) debug(`${where()} → ${final.statusCode}`)
      if (final.statusCode >= 200 && final.statusCode < 300) {
        if (res.notJson && final.data === res.data) {
          throw new ResponseParseError(
            `${where()} answered ${final.statusCode} with a body that is not JSON: ${snippet(res.data)}. Use dataType: 'text' for text endpoints.`,
            final.statusCode,
            snippet(res.data),
          )
        }
        return final.data
      }
      throw new HttpError(final.statusCode, final.data, opts.method, stripQuery(url))
    }

    const call: Call = { url, opts, withAuth, epoch0, token: null }
    const loop = (lastToken: string | null): Promise<unknown> =>
      sendOnce(call, lastToken).then((res) => {
        const token = call.token
        const response: AuthResponse = { statusCode: res.statusCode, data: res.data, header: res.header }
        if (token !== null && cfg.isUnauthorized(response)) {
          if (retried || opts.retry === false) {
            throw new AuthError(
              'UNAUTHORIZED',
              `${where()} was refused as unauthorized (HTTP ${res.statusCode})${retried ? ' after a fresh login: the server does not accept its own tokens' : ''}.`,
              { status: res.statusCode },
            )
          }
          retried = true
          if (debugging) debug(`${where()} → ${res.statusCode}: renewing, retrying once`)
          return raceAbort(machine.renew(token, epoch0), opts.signal).then(() => {
            if (machine.epoch !== epoch0) throw loggedOutError()
            return loop(token)
          })
        }
        return afterHooks.length ? runHooks(afterHooks, response, opts).then((final) => finish(res, final)) : finish(res, response)
      })
    return loop(null)
  }

  /** `extra` (url, method, data of get/post/put/delete) overrides `input`: the options are copied once. */
  function perform(kind: 'request' | 'upload', input: RequestOptions | UploadOptions | undefined, extra?: Partial<RequestOptions>): Promise<unknown> {
    const opts = Object.assign({}, input, extra) as HookOptions
    if (typeof opts.url !== 'string' || !opts.url) {
      return Promise.reject(new TypeError('weapp-auth: ' + kind + '() needs an options object with a non-empty `url`.'))
    }
    opts.kind = kind
    opts.method = kind === 'upload' ? 'POST' : String(opts.method || 'GET').toUpperCase()
    // The epoch when the app made the call: a logout() from here on (even during an async
    // beforeRequest hook) makes it reject with LOGGED_OUT instead of logging in again.
    const epoch0 = machine.epoch
    let current = opts
    let result: Promise<unknown>
    try {
      result = beforeHooks.length
        ? runHooks(beforeHooks, opts, opts).then((o) => {
            current = o
            return attempt(o, epoch0)
          })
        : attempt(opts, epoch0)
    } catch (err) {
      result = Promise.reject(err)
    }
    if (!errorHooks.length) return result
    return result.catch((err: unknown) => {
      const error = err instanceof Error ? err : new NetworkError('The request failed: ' + String(err), String(err))
      return runHooks(errorHooks, error, current).then((e) => {
        throw e
      })
    })
  }

  return {
    request: <T>(options: RequestOptions, extra?: Partial<RequestOptions>) => perform('request', options, extra) as Promise<T>,
    upload: <T>(options: UploadOptions) => perform('upload', options) as Promise<T>,
  }
}
