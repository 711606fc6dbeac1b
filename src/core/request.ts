/**
 * The authenticated request wrapper: every call carries the current token (only to trusted
 * origins), waits for a login or refresh in flight instead of sending a stale token, and on an
 * unauthorized answer shares one renewal with the whole burst and retries at most once.
 * Every call settles: with the body, or with a typed error.
 */
import { raceAbort } from '../base/abort'
import type { ResolvedConfig } from './config'
import { createDispatcher, type Call } from './dispatch'
import { AuthError, HttpError, NetworkError, ResponseParseError } from '../base/errors'
import { hookList, runHooks } from '../net/hooks'
import { snippet } from '../net/http'
import { redact, scrub } from '../base/redact'
import type { AuthResponse, HookOptions, RequestOptions, UploadOptions } from '../net/request-types'
import type { Limiter } from '../net/limiter'
import { loggedOutError, type SessionMachine } from './session'
import { createTrustCheck } from '../net/trust'
import { resolveUrl, stripQuery } from '../base/url'

export type { AuthResponse, HookOptions, Hooks, Method, OneOrMany, RequestOptions, UploadOptions } from '../net/request-types'

export interface Requester {
  request<T = unknown>(options: RequestOptions, extra?: Partial<RequestOptions>): Promise<T>
  upload<T = unknown>(options: UploadOptions): Promise<T>
}

/** The request wrapper of one instance. `debug` lines are only built when `cfg.debug` is set. */
export function createRequester(cfg: ResolvedConfig, machine: SessionMachine, limiter: Limiter, debug: (line: string) => void): Requester {
  const { hooks, baseURL } = cfg
  const beforeHooks = hookList(hooks.beforeRequest)
  const afterHooks = hookList(hooks.afterResponse)
  const errorHooks = hookList(hooks.beforeError)
  const isTrusted = createTrustCheck(baseURL, cfg.trusted)
  const sendOnce = createDispatcher(cfg, machine, limiter)

  /** One call: send, handle an unauthorized answer with one renewal and one retry, map the result. */
  function attempt(opts: HookOptions, epoch0: number): Promise<unknown> {
    const { method } = opts
    if (opts.kind === 'upload') {
      const u = opts as UploadOptions
      if (typeof u.filePath !== 'string' || !u.filePath || typeof u.name !== 'string' || !u.name) {
        return Promise.reject(new AuthError('INVALID_INPUT', 'upload() needs `filePath` and `name`.'))
      }
    }
    const url = resolveUrl(baseURL, opts.url)
    const where = (): string => method + ' ' + stripQuery(url)
    const call: Call = { url, opts, withAuth: opts.auth !== false && isTrusted(url), epoch0, token: null }

    /** `lastToken`: null on the first attempt, the refused token on the retry. */
    const loop = (lastToken: string | null): Promise<unknown> =>
      sendOnce(call, lastToken).then((res) => {
        const { token } = call
        const status = res.statusCode
        const response: AuthResponse = { statusCode: status, data: res.data, header: res.header }
        if (token !== null && cfg.isUnauthorized(response)) {
          if (lastToken !== null || opts.retry === false) {
            throw new AuthError(
              'UNAUTHORIZED',
              `${where()} answered HTTP ${status}, unauthorized${lastToken !== null ? ' after a fresh login: the server refuses its own tokens' : ''}.`,
              { statusCode: status },
            )
          }
          if (cfg.debug) debug(`${where()} → ${status}: renewing`)
          return raceAbort(machine.renew(token, epoch0), opts.signal).then(() => {
            if (machine.epoch !== epoch0) throw loggedOutError()
            return loop(token)
          })
        }
        const finish = (final: AuthResponse): unknown => {
          const code = final.statusCode
          if (cfg.debug) debug(`${where()} → ${code}`)
          // An answer that echoes the token (or the refresh token) does not carry it into the error.
          const secrets = (): Array<string | undefined> => {
            const held = machine.current()
            return [call.token || undefined, held ? held.token : undefined, held ? held.refreshToken : undefined]
          }
          if (code < 200 || code >= 300) throw new HttpError(code, redact(final.data, 0, secrets()), method, stripQuery(url))
          if (res.notJson && final.data === res.data) {
            const body = scrub(snippet(res.data), secrets())
            throw new ResponseParseError(`${where()} answered ${code} with a body that is not JSON: ${body}. For text, pass dataType: 'text'.`, code, body)
          }
          return final.data
        }
        return afterHooks.length ? runHooks(afterHooks, response, opts).then(finish) : finish(response)
      })
    return loop(null)
  }

  /** `extra` (url, method, data of get/post/put/delete) overrides `input`: the options are copied once. */
  function perform(kind: 'request' | 'upload', input: RequestOptions | UploadOptions | undefined, extra?: Partial<RequestOptions>): Promise<unknown> {
    const opts = Object.assign({}, input, extra) as HookOptions
    if (typeof opts.url !== 'string' || !opts.url) {
      return Promise.reject(new TypeError(`weapp-auth: ${kind}() needs a non-empty \`url\`.`))
    }
    opts.kind = kind
    opts.method = kind === 'upload' ? 'POST' : String(opts.method || 'GET').toUpperCase()
    // The epoch when the app made the call: a logout() from here on (even during an async
    // beforeRequest hook) makes it reject with LOGGED_OUT instead of logging in again.
    const epoch0 = machine.epoch
    let current = opts
    let result: Promise<unknown>
    try {
      result = beforeHooks.length ? runHooks(beforeHooks, opts, opts).then((o) => attempt((current = o), epoch0)) : attempt(opts, epoch0)
    } catch (err) {
      result = Promise.reject(err)
    }
    return errorHooks.length
      ? result.catch((err: unknown) =>
          runHooks(errorHooks, err instanceof Error ? err : new NetworkError('The request failed: ' + String(err), String(err)), current).then((e) => {
            throw e
          }),
        )
      : result
  }

  return {
    request: <T>(options: RequestOptions, extra?: Partial<RequestOptions>) => perform('request', options, extra) as Promise<T>,
    upload: <T>(options: UploadOptions) => perform('upload', options) as Promise<T>,
  }
}
