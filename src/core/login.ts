/**
 * The login flow: `wx.login` → code → your login endpoint → Session, the refresh-token
 * exchange, and `wx.checkSession`. The session state machine decides when these run; this
 * module only knows how.
 *
 * The code request is built in one place (`codeRequest`): the code, the host's name as
 * `platform` (so one server can route it), and Douyin's `anonymousCode` when tt.login gave one.
 */
import { raceAbort, type AbortSignalLike } from '../base/abort'
import type { ResolvedConfig } from './config'
import { AuthError, TimeoutError } from '../base/errors'
import { transmit, snippet, type RawResponse } from '../net/http'
import type { Limiter } from '../net/limiter'
import { defaultParse, normalizeSession, type Session } from './login-response'
import { appIdOf, envVersion } from '../base/platform'
import { redact, scrub } from '../base/redact'
import type { TokenStore } from './token-store'
import { appendQuery, stripQuery } from '../base/url'

export interface LoginFlow {
  /** A full login: wx.login → code → server. `signal` aborts when logout() abandons it. */
  obtain(signal: AbortSignalLike): Promise<Session>
  /** Exchanges a refresh token; absent when `refresh` is not configured. */
  refresh?: (refreshToken: string, signal: AbortSignalLike) => Promise<Session>
  /** `wx.checkSession`: false when WeChat's session is gone (or the call fails or hangs). */
  checkSession(): Promise<boolean>
}

/** Calls a wx callback API once, settling after at most `timeout` ms with `onTimeout`. */
function callWithin<R>(timeout: number, onTimeout: () => R | never, run: (resolve: (v: R) => void, reject: (e: unknown) => void) => void): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let done = false
    const once = <A>(fn: (a: A) => void) => (a: A): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      fn(a)
    }
    const timer = setTimeout(() => {
      try {
        once(resolve)(onTimeout())
      } catch (err) {
        once(reject)(err)
      }
    }, timeout)
    try {
      run(once(resolve), once(reject))
    } catch (err) {
      once(reject)(err)
    }
  })
}

/** What the host's login gave: its code (empty on Douyin for a user not logged into Douyin) and Douyin's anonymous code. */
export interface HostCode {
  code: string
  anonymousCode?: string
}

/** The URL and body of the call that exchanges the code, per `login.codeIn`, tagged with the host. */
export function codeRequest(login: ResolvedConfig['login'], got: HostCode, platform: string, appid?: string): { url: string; data?: Record<string, unknown> } {
  // The AppID first, so that a `login.data.appid` of yours wins; the code and the host always ours.
  const fields: Record<string, unknown> = Object.assign(appid ? { appid } : {}, login.data, { code: got.code, platform })
  if (got.anonymousCode) fields.anonymousCode = got.anonymousCode
  if (login.codeIn === 'body') return { url: login.url, data: fields }
  for (const k of Object.keys(fields)) fields[k] = String(fields[k])
  return { url: appendQuery(login.url, fields as Record<string, string>) }
}

export function createLoginFlow(cfg: ResolvedConfig, store: TokenStore, limiter: Limiter): LoginFlow {
  const { platform, login } = cfg
  const timeout = login.timeout
  const loginCall = platform.loginCall || 'wx.login'
  let warnedSessionKey = false

  function wxLogin(): Promise<HostCode> {
    return callWithin<HostCode>(
      timeout,
      () => {
        throw new TimeoutError(`${loginCall} did not answer within ${timeout} ms; try again.`, timeout)
      },
      (resolve, reject) => {
        const failed = (what: string, extras: object): void =>
          reject(new AuthError('WX_LOGIN_FAILED', `${loginCall} ${what}. Check the network and the AppID.`, extras))
        try {
          platform.login({
            timeout,
            success: (res: { code?: unknown; anonymousCode?: unknown; errMsg?: string }) => {
              const got = { code: res && typeof res.code === 'string' ? res.code : '', anonymousCode: res && typeof res.anonymousCode === 'string' ? res.anonymousCode : '' }
              if (got.code || got.anonymousCode) resolve(got)
              else failed('succeeded without a code', { errMsg: res && res.errMsg })
            },
            fail: (err) => failed('failed: ' + ((err && err.errMsg) || 'unknown error'), { errMsg: err && err.errMsg, errno: err && err.errno }),
          })
        } catch (err) {
          failed('threw: ' + ((err as Error) && (err as Error).message), { cause: err })
        }
      },
    )
  }

  /** One call to the login or refresh endpoint, holding an urgent network slot. */
  function callEndpoint(url: string, method: string, data: unknown, signal: AbortSignalLike): Promise<RawResponse> {
    const slot = limiter.acquire(true)
    return raceAbort(slot.ready, signal).then(
      (release) => transmit(platform, { kind: 'request', url, method, header: { 'content-type': 'application/json' }, data, timeout, signal }, release),
      (err: unknown) => {
        slot.cancel()
        throw err
      },
    )
  }

  function toSession(what: 'login' | 'refresh', url: string, res: RawResponse, parse: ((data: unknown) => unknown) | undefined, sent: Array<string | undefined>): Session {
    const where = `The ${what} endpoint ${stripQuery(url)}`
    // What was just sent (the login code, Douyin's anonymous code, the refresh token) and the
    // session being replaced must not come back in an error, even when the server echoes them.
    const held = store.get()
    const secrets = held ? sent.concat(held.token, held.refreshToken) : sent
    const status = res.statusCode
    if (status < 200 || status >= 300) {
      // 404 or 405 ((404 | 1) == (405 | 1) == 405): no such route, or not with that method: the URL is wrong.
      const body = res.data as { errcode?: unknown; errmsg?: unknown } | undefined
      const wx = body && typeof body === 'object' && body.errcode !== undefined ? body : undefined
      throw new AuthError(
        'LOGIN_REJECTED',
        `${where} answered HTTP ${status}${wx ? ` (errcode ${String(wx.errcode)}${wx.errmsg ? ': ' + scrub(String(wx.errmsg), secrets) : ''})` : ''}. ${status >= 500 ? 'Try again later.' : (status | 1) == 405 ? `Check ${what}.url.` : 'See `data`.'}`,
        { statusCode: status, data: redact(res.data, 0, secrets), errno: wx && typeof wx.errcode === 'number' ? wx.errcode : undefined },
      )
    }
    if (res.notJson) {
      throw new AuthError('BAD_LOGIN_RESPONSE', `${where} answered ${status} with a body that is not JSON: ${scrub(snippet(res.data), secrets)}`, { statusCode: status })
    }
    let input: unknown
    try {
      input = (parse || defaultParse)(res.data)
    } catch (err) {
      throw new AuthError('BAD_LOGIN_RESPONSE', `${what}.parse threw: ${(err as Error) && (err as Error).message}`, { cause: err, statusCode: status })
    }
    // The server's clock, from its Date header: an absolute expiry is judged on it.
    const header = res.header || {}
    const serverNow = Date.parse(String(header.Date || header.date || ''))
    const now = Date.now()
    const { session, sawSessionKey } = normalizeSession(input, now, cfg.expiryFromToken, serverNow > 0 ? serverNow - now : 0)
    if (sawSessionKey && !warnedSessionKey) {
      warnedSessionKey = true
      if (envVersion(platform) === 'develop') console.warn('[weapp-auth] session_key dropped: the server must never send it.')
    }
    if (!session) {
      throw new AuthError(
        'BAD_LOGIN_RESPONSE',
        `${where} answered ${status} without a token (looked for token, access_token or data.token). Return { token } or pass ${what}.parse.`,
        { statusCode: status, data: redact(res.data, 0, secrets) },
      )
    }
    return session
  }

  const refreshCfg = cfg.refresh
  return {
    obtain: (signal) =>
      raceAbort(wxLogin(), signal).then((got) => {
        const req = codeRequest(login, got, platform.host, appIdOf(platform))
        return callEndpoint(req.url, login.method, req.data, signal).then((res) => toSession('login', login.url, res, login.parse, [got.code, got.anonymousCode]))
      }),
    refresh: refreshCfg
      ? (refreshToken, signal) =>
          callEndpoint(refreshCfg.url, 'POST', { refreshToken }, signal).then((res) => {
            const s = toSession('refresh', refreshCfg.url, res, refreshCfg.parse || login.parse, [refreshToken])
            if (!s.refreshToken) s.refreshToken = refreshToken
            return s
          })
      : undefined,
    checkSession: () =>
      platform.checkSession
        ? callWithin<boolean>(
            timeout,
            () => false,
            (resolve) => platform.checkSession!({ success: () => resolve(true), fail: () => resolve(false) }),
          ).catch(() => false)
        : Promise.resolve(true),
  }
}
