/**
 * Getting one attempt of a call onto the network: wait for a usable session (unless the call
 * sends no token) and a network slot, merge the token header, transmit. The common case
 * (session ready, a slot free) goes out synchronously, with no extra promise. The 401 rule and
 * the hooks live in request.ts.
 */
import { abortError, raceAbort } from '../base/abort'
import type { ResolvedConfig } from './config'
import { transmit, type RawResponse } from '../net/http'
import type { Limiter } from '../net/limiter'
import type { HookOptions, RequestOptions, UploadOptions } from '../net/request-types'
import { loggedOutError, type SessionMachine } from './session'

/**
 * One call as the send path sees it. `epoch0`: the session epoch when the app made the call;
 * `token`: the one its latest attempt carried (null: none).
 */
export interface Call {
  url: string
  opts: HookOptions
  withAuth: boolean
  epoch0: number
  token: string | null
}

/**
 * The header a request carries: the call's own, with the token's header(s) replacing any
 * same-named one regardless of case.
 */
function withAuthHeader(given: Record<string, string> | undefined, auth: Record<string, string> | null): Record<string, string> {
  const header: Record<string, string> = Object.assign({}, given)
  for (const k in auth) {
    for (const h in header) if (h.toLowerCase() === k.toLowerCase()) delete header[h]
    header[k] = auth[k]
  }
  return header
}

/** `sendOnce(call, lastToken)`: the attempt's answer, or a typed error (aborted, logged out, network). */
export function createDispatcher(cfg: ResolvedConfig, machine: SessionMachine, limiter: Limiter): (call: Call, lastToken: string | null) => Promise<RawResponse> {
  /** Sends once with `token`, holding the slot that `release` frees; records the token in `call`. */
  function send(call: Call, token: string | null, release: () => void): Promise<RawResponse> {
    const { url, opts } = call
    const header = withAuthHeader(opts.header, token ? cfg.authHeader(token) : null)
    call.token = token
    // The call's own options (kind, method, data, dataType, responseType, filePath, name,
    // formData, signal) with the resolved URL, the merged headers and the timeout.
    return transmit(cfg.platform, Object.assign({}, opts as RequestOptions & UploadOptions & HookOptions, { url, header, timeout: opts.timeout || cfg.timeout }), release)
  }

  /**
   * Waits for a usable session (when `withAuth`) and a network slot, then sends once. The
   * common case (session ready, a slot free) goes out synchronously, with no extra promise.
   */
  function sendOnce(call: Call, lastToken: string | null): Promise<RawResponse> {
    const { opts, withAuth, epoch0 } = call
    const signal = opts.signal
    // An aborted call starts nothing, not even the login it would wait for.
    if (signal && signal.aborted) return Promise.reject(abortError(signal))
    if (machine.epoch !== epoch0) return Promise.reject(loggedOutError())
    const ready = withAuth ? machine.usable() : null
    const free = (!withAuth || ready) && limiter.tryAcquire()
    if (free) return send(call, ready ? ready.token : null, free)
    // The slow path. The token this call last saw: if it is dropped meanwhile, the call shares
    // that renewal's outcome.
    const seen: Promise<string | null> = withAuth
      ? raceAbort(machine.ensure(lastToken), signal).then((s) => {
          if (machine.epoch !== epoch0) throw loggedOutError()
          return s.token
        })
      : Promise.resolve(lastToken)
    return seen.then((token) => {
      const slot = limiter.acquire()
      return raceAbort(slot.ready, signal).then(
        (release) => {
          if (!withAuth) return send(call, null, release)
          const cur = machine.current()
          // A login or refresh started (or a logout) while this call waited for its slot: start
          // over (LOGGED_OUT, or wait for it) instead of sending the token it is about to replace.
          if (machine.busy() || !cur || machine.epoch !== epoch0) {
            release()
            return sendOnce(call, token)
          }
          return send(call, cur.token, release)
        },
        (err: unknown) => {
          slot.cancel()
          throw err
        },
      )
    })
  }

  return sendOnce
}
