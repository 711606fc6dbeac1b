/**
 * `createAuth`: validates the options, wires the token store, the session state machine and the
 * request wrapper together, and runs the login itself (wx.login → code → your server).
 */
import { raceAbort, type AbortSignalLike } from './abort'
import { AuthError, TimeoutError } from './errors'
import { createEmitter, type Listener } from './events'
import { transmit, snippet, type RawResponse } from './http'
import { createLimiter } from './limiter'
import { defaultParse, isExpiring, normalizeSession, type Session, type SessionInput } from './login-response'
import { defaultPlatform, envVersion, type Platform } from './platform'
import { redact, scrub } from './redact'
import { createRequester, type AuthResponse, type Hooks, type RequestOptions, type UploadOptions } from './request'
import { createSessionMachine, type AuthEvents, type Phase } from './session'
import { createProfileApi, type ProfileApi } from './profile'
import { createScopeApi, type ScopeApi } from './scope'
import { createTokenStore } from './token-store'
import { appendQuery, isLoopback, parseOrigin, resolveUrl, stripQuery, type Origin } from './url'

export interface LoginOptions<U = unknown> {
  /** Your server's login endpoint, relative to `baseURL` or absolute. */
  url: string
  /** Where the code goes: `'body'` (default) posts JSON `{ code }`; `'query'` sends `?code=`. */
  codeIn?: 'body' | 'query'
  /** HTTP method of the login call. Default POST. */
  method?: 'POST' | 'GET'
  /** Extra fields sent with the code (in the body, or the query string with `codeIn: 'query'`). */
  data?: Record<string, string | number | boolean>
  /** Maps your server's answer to a session; return null when it has no token. */
  parse?: (data: unknown) => SessionInput<U> | null
  /** Milliseconds for `wx.login` and for the login request each. Default 10 000. */
  timeout?: number
}

export interface RefreshOptions<U = unknown> {
  /** Your refresh endpoint; it receives JSON `{ refreshToken }` and answers like the login endpoint. */
  url: string
  parse?: (data: unknown) => SessionInput<U> | null
}

export interface AuthOptions<U = unknown> {
  /** Your server, `https://…` (plain http only for loopback hosts or with `allowInsecure`). */
  baseURL: string
  login: LoginOptions<U>
  /** Optional refresh-token endpoint: tried before a full login when a token is refused or about to expire. */
  refresh?: RefreshOptions<U>
  /** The `wx`-compatible object to use. Default: the global `wx`. */
  platform?: Platform
  /** Storage key of the session record. Default `'weapp-auth'`. Use different keys for separate instances. */
  storageKey?: string
  /** Keep the record in WeChat's encrypted storage (base library 2.21.3+; falls back to plain storage with a warning). */
  encryptStorage?: boolean
  /** Moves a plain token stored by older code under this key (e.g. `'token'`) into the SDK's record, once. */
  legacyTokenKey?: string
  /** Treat a token as expired this many milliseconds before its expiry. Default 60 000. */
  expiryMargin?: number
  /** Allow `http://` to non-loopback hosts. Never do this in a release build. */
  allowInsecure?: boolean
  /** Milliseconds for each request attempt. Default 60 000 (WeChat's own default). */
  timeout?: number
  /** At most this many of the SDK's network calls at once. Default 10, the platform's limit. */
  maxConcurrent?: number
  /** Other origins (`https://cdn.example.com`) that may receive the token. */
  trustedOrigins?: string[]
  /** The header(s) that carry the token. Default `{ Authorization: 'Bearer ' + token }`. */
  authHeader?: (token: string) => Record<string, string>
  /** Decides that an answer means "token not accepted". Default: HTTP 401. */
  isUnauthorized?: (response: AuthResponse) => boolean
  hooks?: Hooks
  /** Receives one line per decision (login, renewals, retries, statuses). Lines never contain tokens. */
  debug?: (line: string) => void
}

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

export interface Auth<U = unknown> {
  /** At app launch: reuses a stored, unexpired session when `wx.checkSession` agrees (no network), else logs in. */
  checkAndLogin(): Promise<Session<U>>
  /** Logs in now (wx.login → your server). Concurrent calls share one attempt. */
  login(): Promise<Session<U>>
  /** Forgets the session (memory and storage); a login in flight is discarded. Emits `logout`. */
  logout(): void
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
  post<T = unknown>(url: string, data?: unknown, options?: Omit<RequestOptions, 'url' | 'method' | 'data'>): Promise<T>
  put<T = unknown>(url: string, data?: unknown, options?: Omit<RequestOptions, 'url' | 'method' | 'data'>): Promise<T>
  /** `wx.uploadFile` with the same token and retry rules; resolves with the JSON-parsed answer. */
  upload<T = unknown>(options: UploadOptions): Promise<T>
  /** Counters for diagnostics and leak tests. */
  debugState(): AuthState
  /** Posts the code of a getPhoneNumber event (never encryptedData/iv); rejects PHONE_DENIED / PHONE_QUOTA / PHONE_NO_CODE / PHONE_FAILED without a request. */
  bindPhoneNumber: ProfileApi['bindPhoneNumber']
  /** Uploads the temp file of a chooseavatar event (or a temp path) with the token; resolves with your server's JSON. */
  uploadAvatar: ProfileApi['uploadAvatar']
  /** Sends `{ nickName?, avatarUrl? }` (nickname checked with normalizeNickname) to your profile endpoint. */
  updateProfile: ProfileApi['updateProfile']
  /** `{ [scope]: true | false | undefined }` (undefined: never asked). */
  getAuthSetting: ScopeApi['getAuthSetting']
  /** Granted → no prompt; never asked → wx.authorize; denied before → rationale modal → wx.openSetting. Call from a tap handler. */
  ensureScope: ScopeApi['ensureScope']
  /** Resolves once the privacy terms are agreed (at once on base libraries without the privacy API); rejects PRIVACY_DENIED. */
  ensurePrivacyAuthorized: ScopeApi['ensurePrivacyAuthorized']
  /** Lets a page show its own privacy popup: `handler({ agree, disagree, referrer })`. */
  onNeedPrivacyAuthorization: ScopeApi['onNeedPrivacyAuthorization']
}

const KNOWN_OPTIONS = [
  'baseURL', 'login', 'refresh', 'platform', 'storageKey', 'encryptStorage', 'legacyTokenKey', 'expiryMargin',
  'allowInsecure', 'timeout', 'maxConcurrent', 'trustedOrigins', 'authHeader', 'isUnauthorized', 'hooks', 'debug',
]
const KNOWN_LOGIN = ['url', 'codeIn', 'method', 'data', 'parse', 'timeout']
const KNOWN_REFRESH = ['url', 'parse']
const KNOWN_HOOKS = ['beforeRequest', 'afterResponse', 'beforeError']

function configError(message: string): AuthError {
  return new AuthError('CONFIG', 'createAuth: ' + message)
}

function checkKeys(obj: object, known: string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (known.indexOf(k) < 0) {
      const hint = known.filter((n) => n.toLowerCase() === k.toLowerCase())[0]
      throw configError(`unknown option ${where}${k}${hint ? ` (did you mean ${where}${hint}?)` : ''}.`)
    }
  }
}

function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value > 0) || !isFinite(value)) throw configError(`${name} must be a positive number of milliseconds, got ${String(value)}.`)
  return value
}

function secureOrigin(url: string, name: string, allowInsecure: boolean): Origin {
  const origin = parseOrigin(url)
  if (!origin || (origin.protocol !== 'https:' && origin.protocol !== 'http:')) {
    throw configError(`${name} must be an absolute http(s) URL such as "https://api.example.com", got "${url}".`)
  }
  if (origin.protocol === 'http:' && !allowInsecure && !isLoopback(origin)) {
    throw configError(
      `${name} "${stripQuery(url)}" is plain http. WeChat requires HTTPS for every request outside development; use https://, a loopback host for local testing, or allowInsecure: true (never in a release).`,
    )
  }
  return origin
}

function isFn(v: unknown): boolean {
  return typeof v === 'function'
}

/** Creates the auth instance. Throws AuthError('CONFIG') for options it cannot work with. */
export function createAuth<U = unknown>(options: AuthOptions<U>): Auth<U> {
  if (!options || typeof options !== 'object') throw configError('pass an options object: createAuth({ baseURL, login: { url } }).')
  checkKeys(options, KNOWN_OPTIONS, '')
  const allowInsecure = options.allowInsecure === true
  if (typeof options.baseURL !== 'string') throw configError('baseURL is required, e.g. "https://api.example.com".')
  const baseOrigin = secureOrigin(options.baseURL, 'baseURL', allowInsecure)
  const baseURL = options.baseURL.replace(/\/+$/, '')
  const login = options.login
  if (!login || typeof login !== 'object' || typeof login.url !== 'string' || !login.url) {
    throw configError('login.url is required: your server endpoint that exchanges the wx.login code, e.g. { url: "/api/auth/login" }.')
  }
  checkKeys(login, KNOWN_LOGIN, 'login.')
  if (login.codeIn !== undefined && login.codeIn !== 'body' && login.codeIn !== 'query') throw configError(`login.codeIn must be 'body' or 'query', got ${String(login.codeIn)}.`)
  if (login.method !== undefined && login.method !== 'POST' && login.method !== 'GET') throw configError(`login.method must be 'POST' or 'GET'.`)
  if (login.method === 'GET' && login.codeIn !== 'query') throw configError(`login.method 'GET' has no body: use codeIn: 'query'.`)
  if (login.parse !== undefined && !isFn(login.parse)) throw configError('login.parse must be a function.')
  const loginUrl = resolveUrl(baseURL, login.url)
  secureOrigin(loginUrl, 'login.url', allowInsecure)
  const loginTimeout = positive(login.timeout, 'login.timeout', 10000)
  const refreshOpt = options.refresh
  let refreshUrl: string | undefined
  if (refreshOpt !== undefined) {
    if (!refreshOpt || typeof refreshOpt.url !== 'string' || !refreshOpt.url) throw configError('refresh.url is required when refresh is set.')
    checkKeys(refreshOpt, KNOWN_REFRESH, 'refresh.')
    if (refreshOpt.parse !== undefined && !isFn(refreshOpt.parse)) throw configError('refresh.parse must be a function.')
    refreshUrl = resolveUrl(baseURL, refreshOpt.url)
    secureOrigin(refreshUrl, 'refresh.url', allowInsecure)
  }
  const trusted: Origin[] = [baseOrigin]
  if (options.trustedOrigins !== undefined) {
    if (!Array.isArray(options.trustedOrigins)) throw configError('trustedOrigins must be an array of origins.')
    for (const o of options.trustedOrigins) {
      if (typeof o !== 'string') throw configError('trustedOrigins must contain strings.')
      trusted.push(secureOrigin(o, 'trustedOrigins entry', allowInsecure))
    }
  }
  const hooks = options.hooks || {}
  checkKeys(hooks, KNOWN_HOOKS, 'hooks.')
  for (const k of ['authHeader', 'isUnauthorized', 'debug'] as const) {
    if (options[k] !== undefined && !isFn(options[k])) throw configError(`${k} must be a function.`)
  }
  const storageKey = options.storageKey === undefined ? 'weapp-auth' : options.storageKey
  if (typeof storageKey !== 'string' || !storageKey) throw configError('storageKey must be a non-empty string.')
  if (options.legacyTokenKey !== undefined && (typeof options.legacyTokenKey !== 'string' || !options.legacyTokenKey)) {
    throw configError('legacyTokenKey must be a non-empty string.')
  }
  const marginMs = options.expiryMargin === undefined ? 60000 : options.expiryMargin
  if (typeof marginMs !== 'number' || marginMs < 0 || !isFinite(marginMs)) throw configError('expiryMargin must be a number of milliseconds ≥ 0.')
  const timeout = positive(options.timeout, 'timeout', 60000)
  const maxConcurrent = options.maxConcurrent === undefined ? 10 : options.maxConcurrent
  if (typeof maxConcurrent !== 'number' || maxConcurrent < 1 || Math.floor(maxConcurrent) !== maxConcurrent) {
    throw configError('maxConcurrent must be a whole number ≥ 1.')
  }
  const platform = options.platform || defaultPlatform()
  for (const fn of ['login', 'request', 'getStorageSync', 'setStorageSync', 'removeStorageSync'] as const) {
    if (!isFn(platform[fn])) throw configError(`platform.${fn} is missing: pass the mini program's wx (or createFakeWx().wx in tests).`)
  }

  const debugSink = options.debug
  const debug = (line: string): void => {
    if (debugSink) {
      try {
        debugSink(line)
      } catch (_) {
        /* a debug sink must not break the flow */
      }
    }
  }
  const events = createEmitter<AuthEvents<U>>((err) => debug('an event listener threw: ' + String(err)))
  const anyEvents = events as unknown as ReturnType<typeof createEmitter<AuthEvents>>
  const store = createTokenStore({
    platform,
    key: storageKey,
    encrypt: options.encryptStorage === true,
    legacyTokenKey: options.legacyTokenKey,
    onError: (err) => events.emit('error', err),
    warn: (m) => console.warn('[weapp-auth] ' + m),
  })
  const limiter = createLimiter(maxConcurrent)
  let warnedSessionKey = false

  function callWxLogin(): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let done = false
      const timer = setTimeout(() => {
        if (done) return
        done = true
        reject(new TimeoutError(`wx.login did not answer within ${loginTimeout} ms. Try again; if it persists, check the base library and network.`, loginTimeout))
      }, loginTimeout)
      const finish = (fn: () => void): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        fn()
      }
      try {
        platform.login({
          timeout: loginTimeout,
          success: (res) =>
            finish(() =>
              res && typeof res.code === 'string' && res.code
                ? resolve(res.code)
                : reject(new AuthError('WX_LOGIN_FAILED', 'wx.login succeeded without a code. Try again.', { errMsg: res && res.errMsg })),
            ),
          fail: (err) =>
            finish(() =>
              reject(
                new AuthError('WX_LOGIN_FAILED', `wx.login failed: ${(err && err.errMsg) || 'unknown error'}. Check the network and the AppID, then try again.`, {
                  errMsg: err && err.errMsg,
                  errno: err && err.errno,
                }),
              ),
            ),
        })
      } catch (err) {
        finish(() => reject(new AuthError('WX_LOGIN_FAILED', `wx.login threw: ${(err as Error) && (err as Error).message}.`, { cause: err })))
      }
    })
  }

  /** One call to the login or refresh endpoint, holding an urgent network slot. */
  function callEndpoint(url: string, method: string, data: unknown, signal: AbortSignalLike): Promise<RawResponse> {
    const slot = limiter.acquire(true)
    return raceAbort(slot.ready, signal).then(
      (release) =>
      transmit(platform, { kind: 'request', url, method, header: { 'content-type': 'application/json' }, data, timeout: loginTimeout, signal }).then(
        (res) => {
          release()
          return res
        },
        (err: unknown) => {
          release()
          throw err
        },
      ),
      (err: unknown) => {
        slot.cancel()
        throw err
      },
    )
  }

  function toSession(what: 'login' | 'refresh', url: string, res: RawResponse, parse: ((data: unknown) => unknown) | undefined): Session<U> {
    const where = `The ${what} endpoint ${stripQuery(url)}`
    // The session being replaced (its token was just sent to a refresh endpoint) must not come back in an error.
    const held = store.get()
    const secrets = held ? [held.token, held.refreshToken] : []
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const body = res.data as { errcode?: unknown; errmsg?: unknown; message?: unknown } | undefined
      const wxErr = body && typeof body === 'object' && body.errcode !== undefined ? ` (errcode ${String(body.errcode)}${body.errmsg ? ': ' + scrub(String(body.errmsg), secrets) : ''})` : ''
      throw new AuthError(
        'LOGIN_REJECTED',
        `${where} answered HTTP ${res.statusCode}${wxErr}. ${res.statusCode >= 500 ? 'The server failed; try again later.' : 'The server refused the ' + (what === 'login' ? 'code' : 'refresh token') + '; see `data` for its reason.'}`,
        { status: res.statusCode, data: redact(res.data, 0, secrets), errno: body && typeof body === 'object' && typeof body.errcode === 'number' ? body.errcode : undefined },
      )
    }
    if (res.notJson) {
      throw new AuthError('BAD_LOGIN_RESPONSE', `${where} answered ${res.statusCode} with a body that is not JSON: ${scrub(snippet(res.data), secrets)}`, {
        status: res.statusCode,
      })
    }
    let input: unknown
    try {
      input = (parse || defaultParse)(res.data)
    } catch (err) {
      throw new AuthError('BAD_LOGIN_RESPONSE', `${what}.parse threw: ${(err as Error) && (err as Error).message}`, { cause: err, status: res.statusCode })
    }
    const { session, sawSessionKey } = normalizeSession<U>(input, Date.now())
    if (sawSessionKey && !warnedSessionKey) {
      warnedSessionKey = true
      if (envVersion(platform) === 'develop') {
        console.warn('[weapp-auth] The server sent session_key to the client. It was dropped; session_key must never leave the server.')
      }
    }
    if (!session) {
      throw new AuthError(
        'BAD_LOGIN_RESPONSE',
        `${where} answered ${res.statusCode} without a token (looked for token, access_token or data.token). Return { token } or pass ${what}.parse.`,
        { status: res.statusCode, data: redact(res.data, 0, secrets) },
      )
    }
    return session
  }

  function obtain(signal: AbortSignalLike): Promise<Session> {
    return raceAbort(callWxLogin(), signal).then((code) => {
      const codeIn = login.codeIn || 'body'
      const extra = login.data || {}
      let url = loginUrl
      let data: unknown
      if (codeIn === 'query') {
        const q: Record<string, string> = {}
        for (const k of Object.keys(extra)) q[k] = String(extra[k])
        q.code = code
        url = appendQuery(loginUrl, q)
      } else {
        data = Object.assign({}, extra, { code })
      }
      return callEndpoint(url, login.method || 'POST', data, signal).then((res) => toSession('login', loginUrl, res, login.parse))
    })
  }

  const refresh =
    refreshOpt && refreshUrl
      ? (refreshToken: string, signal: AbortSignalLike): Promise<Session> =>
          callEndpoint(refreshUrl as string, 'POST', { refreshToken }, signal).then((res) => {
            const s = toSession('refresh', refreshUrl as string, res, refreshOpt.parse || login.parse)
            if (!s.refreshToken) s.refreshToken = refreshToken
            return s
          })
      : undefined

  const machine = createSessionMachine({ store, events: anyEvents, marginMs, obtain, refresh, debug })

  const requester = createRequester({
    platform,
    machine,
    limiter,
    baseURL,
    trusted,
    authHeader: options.authHeader || ((token) => ({ Authorization: 'Bearer ' + token })),
    isUnauthorized: options.isUnauthorized || ((res) => res.statusCode === 401),
    timeout,
    hooks,
    debugging: !!debugSink,
    debug,
  })

  function checkSession(): Promise<boolean> {
    if (!platform.checkSession) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), loginTimeout)
      try {
        platform.checkSession!({
          success: () => {
            clearTimeout(timer)
            resolve(true)
          },
          fail: () => {
            clearTimeout(timer)
            resolve(false)
          },
        })
      } catch (_) {
        clearTimeout(timer)
        resolve(false)
      }
    })
  }

  const profile = createProfileApi(requester)
  const scopes = createScopeApi(platform)

  const auth: Auth<U> = {
    checkAndLogin() {
      return store.load().then(() => {
        const cur = store.get()
        if (machine.busy() || !cur) return machine.login()
        if (isExpiring(cur, Date.now(), marginMs)) {
          debug('stored token expired: renewing')
          return machine.renew(cur.token)
        }
        return checkSession().then((ok) => {
          if (!ok) debug('wx.checkSession failed (session_key expired): logging in again')
          const now = machine.current()
          return ok && now ? now : machine.login()
        })
      }) as Promise<Session<U>>
    },
    // Starts synchronously when the record is loaded, so a request made right after login() waits for it.
    login: () => (store.loaded ? machine.login() : store.load().then(() => machine.login())) as Promise<Session<U>>,
    logout: () => machine.logout(),
    getToken() {
      const s = store.get()
      return s ? s.token : null
    },
    getSession: () => store.get() as Session<U> | null,
    isLoggedIn() {
      const s = store.get()
      return !!s && (s.expiresAt === undefined || Date.now() < s.expiresAt)
    },
    on: (event, fn) => events.on(event, fn),
    off: (event, fn) => events.off(event, fn),
    request: (o) => requester.request(o),
    get: (url, o) => requester.request(Object.assign({}, o, { url, method: 'GET' as const })),
    delete: (url, o) => requester.request(Object.assign({}, o, { url, method: 'DELETE' as const })),
    post: (url, data, o) => requester.request(Object.assign({}, o, { url, method: 'POST' as const, data })),
    put: (url, data, o) => requester.request(Object.assign({}, o, { url, method: 'PUT' as const, data })),
    upload: (o) => requester.upload(o),
    debugState: () => ({
      phase: machine.phase,
      loggedIn: auth.isLoggedIn(),
      activeRequests: limiter.active,
      queuedRequests: limiter.queued,
      listeners: events.count(),
    }),
    bindPhoneNumber: profile.bindPhoneNumber,
    uploadAvatar: profile.uploadAvatar,
    updateProfile: profile.updateProfile,
    getAuthSetting: scopes.getAuthSetting,
    ensureScope: scopes.ensureScope,
    ensurePrivacyAuthorized: scopes.ensurePrivacyAuthorized,
    onNeedPrivacyAuthorization: scopes.onNeedPrivacyAuthorization,
  }
  return auth
}
