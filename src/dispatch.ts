/**
 * Getting one attempt of a call onto the network: wait for a usable session (unless the call
 * sends no token) and a network slot, merge the token header, transmit. The common case
 * (session ready, a slot free) goes out synchronously, with no extra promise. The 401 rule and
 * the hooks live in request.ts.
 */
import { abortError, raceAbort } from './abort'
import type { ResolvedConfig } from './config'
import { transmit, type RawResponse } from './http'
import type { Limiter } from './limiter'
import type { HookOptions, RequestOptions, UploadOptions } from './request'
import { loggedOutError, type SessionMachine } from './session'

/** The token a call's latest attempt carried (null: none). */
export interface Sent {
  token: string | null
}

/** One call as the send path sees it. `epoch0`: the session epoch when the app made the call. */
export interface Call {
  url: string
  opts: HookOptions
  withAuth: boolean
  epoch0: number
  sent: Sent
}

/**
 * The header a request carries: the call's own, with the token's header(s) replacing any
 * same-named one regardless of case.
 */
export function withAuthHeader(given: Record<string, string> | undefined, auth: Record<string, string> | null): Record<string, string> {
  const header: Record<string, string> = Object.assign({}, given)
  for (const k in auth) {
    for (const h in header) if (h.toLowerCase() === k.toLowerCase()) delete header[h]
    header[k] = auth[k]
  }
  return header
}

/** `sendOnce(call, lastToken)`: the attempt's answer, or a typed error (aborted, logged out, network). */
export function createDispatcher(cfg: ResolvedConfig, machine: SessionMachine, limiter: Limiter): (call: Call, lastToken: string | null) => Promise<RawResponse> {
  /** Sends once with `token`, holding the slot that `release` frees; records the token in `sent`. */
  function send(call: Call, token: string | null, release: () => void): Promise<RawResponse> {
    const { url, opts } = call
    const header = withAuthHeader(opts.header, token ? cfg.authHeader(token) : null)
    call.sent.token = token
    const o = opts as HookOptions & RequestOptions & UploadOptions
    // The call's own options with the resolved URL, the merged headers and the timeout.
    return transmit(
      cfg.platform,
      {
        kind: o.kind,
        url,
        method: o.method,
        header,
        data: o.data,
        dataType: o.dataType,
        responseType: o.responseType,
        filePath: o.filePath,
        name: o.name,
        formData: o.formData,
        timeout: o.timeout || cfg.timeout,
        signal: o.signal,
      },
      release,
    )
  }

  /**
   * Waits for a usable session (when `withAuth`) and a network slot, then sends once. The
   * common case (session ready, a slot free) goes out synchronously, with no extra promise.
   */
  function sendOnce(call: Call, lastToken: string | null): Promise<RawResponse> {
    const { opts, withAuth, epoch0 } = call
    if (!(opts.signal && opts.signal.aborted) && machine.epoch === epoch0) {
      const cur = withAuth ? machine.usable() : null
      if (!withAuth || cur) {
        const release = limiter.tryAcquire()
        if (release) return send(call, cur ? cur.token : null, release)
      }
    }
    return sendWhenReady(call, lastToken)
  }

  /** The slow path: waits for the session (when `withAuth`) and a slot, rechecking both once it has the slot. */
  function sendWhenReady(call: Call, lastToken: string | null): Promise<RawResponse> {
    const { opts, withAuth, epoch0 } = call
    const signal = opts.signal
    const check = (): void => {
      if (machine.epoch !== epoch0) throw loggedOutError()
    }
    // An aborted call starts nothing, not even the login it would wait for.
    if (signal && signal.aborted) return Promise.reject(abortError(signal))
    if (machine.epoch !== epoch0) return Promise.reject(loggedOutError())
    /** The token this call last saw: if it is dropped meanwhile, the call shares that renewal's outcome. */
    const seen: Promise<string | null> = withAuth
      ? raceAbort(machine.ensure(lastToken), signal).then((s) => {
          check()
          return s.token
        })
      : Promise.resolve(lastToken)
    return seen.then((token) => {
      const slot = limiter.acquire()
      return raceAbort(slot.ready, signal).then(
        (release) => {
          if (!withAuth) return send(call, null, release)
          const cur = machine.current()
          // A login or refresh started while this call waited for its slot: wait for it instead
          // of sending the token it is about to replace.
          if (machine.busy() || !cur || machine.epoch !== epoch0) {
            release()
            check()
            return sendWhenReady(call, token)
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
