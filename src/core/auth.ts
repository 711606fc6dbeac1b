/**
 * `createAuth`: the facade. It resolves the options (config.ts), then wires the token store,
 * the login flow (login.ts), the session state machine (session.ts) and the request wrapper
 * (request.ts) into one instance. The open abilities (phone, avatar, nickname, scopes,
 * privacy) are not on it: they are functions in `weapp-auth/open` that take the instance.
 */
import { resolveConfig, type AuthOptions, type PlatformChooser } from './config'
import { createEmitter, type Emitter, type Listener } from './events'
import { createLimiter } from '../net/limiter'
import { createLoginFlow } from './login'
import { isExpiring, type Session } from './login-response'
import { createRequester, type Method, type RequestOptions, type UploadOptions } from './request'
import { createSessionMachine, type AuthEvents, type Phase } from './session'
import type { HostPlatform } from '../platforms/host'
import { createTokenStore } from './token-store'

export type AuthEventName = keyof AuthEvents

export interface AuthState {
  phase: Phase
  loggedIn: boolean
  /** Network calls of this instance in flight and waiting for a slot. */
  activeRequests: number
  queuedRequests: number
  /** Event listeners registered on this instance. */
  listeners: number
}

type Body = Omit<RequestOptions, 'url' | 'method' | 'data'>

export interface Auth<U = unknown> {
  /** At app launch: reuses a stored, unexpired session when `wx.checkSession` agrees (no network), else logs in. */
  checkAndLogin(): Promise<Session<U>>
  /** Logs in now (wx.login → your server). Concurrent calls share one attempt. */
  login(): Promise<Session<U>>
  /** Forgets the session (memory and storage); a login in flight is discarded. Emits `logout`. */
  logout(): void
  /**
   * Ends every session of the user on your server first (POST `url`, default `/api/auth/logout`,
   * with `{ all: true }`: other phones and tablets too), then here as `logout()`. Rejects, and
   * keeps the session, when the server could not be told (offline, say); an answer saying the
   * session had already ended counts as done.
   */
  logout(options: { everywhere: true; url?: string }): Promise<void>
  /** The stored token, or null. Costs no storage call. */
  getToken(): string | null
  getSession(): Session<U> | null
  /** A token is stored and not past its known expiry. */
  isLoggedIn(): boolean
  on<K extends AuthEventName>(event: K, listener: Listener<AuthEvents<U>[K]>): () => void
  off<K extends AuthEventName>(event: K, listener: Listener<AuthEvents<U>[K]>): void
  /** Resolves with the parsed body of a 2xx answer; see the README for the 401 rules. */
  request<T = unknown>(options: RequestOptions): Promise<T>
  get<T = unknown>(url: string, options?: Omit<RequestOptions, 'url' | 'method'>): Promise<T>
  delete<T = unknown>(url: string, options?: Omit<RequestOptions, 'url' | 'method'>): Promise<T>
  post<T = unknown>(url: string, data?: unknown, options?: Body): Promise<T>
  put<T = unknown>(url: string, data?: unknown, options?: Body): Promise<T>
  /** `wx.uploadFile` with the same token and retry rules; resolves with the JSON-parsed answer. */
  upload<T = unknown>(options: UploadOptions): Promise<T>
  /** Counters for diagnostics and leak tests. */
  debugState(): AuthState
  /** The host this instance runs on: its adapter (`platform.host` is 'weixin', 'qq', 'douyin' or 'alipay'). */
  readonly platform: HostPlatform
}

/**
 * Creates the auth instance on the host `choose` picks from the `platform` option (the entries
 * differ only there: index.ts detects, core.ts does not). Throws AuthError('CONFIG') for options
 * it cannot work with.
 */
export function createAuthOn<U = unknown>(options: AuthOptions<U>, choose: PlatformChooser): Auth<U> {
  const cfg = resolveConfig(options as AuthOptions, choose)
  const sink = cfg.debug
  const debug = (line: string): void => {
    try {
      if (sink) sink(line)
    } catch (_) {
      /* a debug sink must not break the flow */
    }
  }
  const events: Emitter<AuthEvents> = createEmitter<AuthEvents>((err) => debug('a listener threw: ' + String(err)))
  const store = createTokenStore(cfg, (err) => events.emit('error', err))
  const limiter = createLimiter(cfg.maxConcurrent)
  const flow = createLoginFlow(cfg, store, limiter)
  const machine = createSessionMachine({ store, events, marginMs: cfg.expiryMargin, obtain: flow.obtain, refresh: flow.refresh, debug })
  const requester = createRequester(cfg, machine, limiter, debug)
  const request = <T>(options: RequestOptions): Promise<T> => requester.request<T>(options)
  /** get/delete/post/put: the app's options and the shortcut's fields, copied once. */
  const shortcut = <T>(method: Method, url: string, options: object | undefined, data?: { data: unknown }): Promise<T> =>
    requester.request<T>(options as RequestOptions, Object.assign({ url, method }, data))
  const isLoggedIn = (): boolean => {
    const s = store.get()
    return !!s && (s.expiresAt === undefined || Date.now() < s.expiresAt)
  }

  function checkAndLogin(): Promise<Session> {
    return store.load().then(() => {
      const cur = store.get()
      if (machine.busy() || !cur) return machine.login()
      if (isExpiring(cur, Date.now(), cfg.expiryMargin)) {
        debug('token expiring: renewing')
        return machine.renew(cur.token)
      }
      return flow.checkSession().then((ok) => {
        const now = machine.current()
        // A login or renewal that ran while checkSession was pending (a page's first request met a
        // 401) is this launch's login: never a second one.
        if (machine.busy() || (now && now.token !== cur.token)) return machine.ensure()
        if (!ok) debug('checkSession failed: logging in')
        return ok && now ? now : machine.login()
      })
    })
  }

  const auth: Auth = {
    checkAndLogin,
    // Starts synchronously when the record is loaded, so a request made right after login() waits for it.
    login: () => (store.loaded ? machine.login() : store.load().then(machine.login)),
    logout: ((options?: { everywhere?: boolean; url?: string }) => {
      if (!options || !options.everywhere) return machine.logout()
      return request({ url: options.url || '/api/auth/logout', method: 'POST', data: { all: true }, retry: false }).then(
        () => machine.logout(),
        (err: { code?: string }) => {
          // Refused as unauthorized: the session had already ended on the server.
          if (err && err.code === 'UNAUTHORIZED') return machine.logout()
          throw err
        },
      )
    }) as Auth['logout'],
    getToken() {
      const s = store.get()
      return s ? s.token : null
    },
    getSession: store.get,
    isLoggedIn,
    on: events.on,
    off: events.off,
    request,
    get: (url, o) => shortcut('GET', url, o),
    delete: (url, o) => shortcut('DELETE', url, o),
    post: (url, data, o) => shortcut('POST', url, o, { data }),
    put: (url, data, o) => shortcut('PUT', url, o, { data }),
    upload: requester.upload,
    platform: cfg.platform,
    debugState: () => ({
      phase: machine.phase,
      loggedIn: isLoggedIn(),
      activeRequests: limiter.active,
      queuedRequests: limiter.queued,
      listeners: events.count(),
    }),
  }
  return auth as Auth<U>
}
