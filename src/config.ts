/**
 * `createAuth`'s options, validated once into a `ResolvedConfig` that the rest of the core reads.
 * Everything that can be wrong with an option is reported here, synchronously, as
 * AuthError('CONFIG') with a message that says what to pass instead; nothing downstream
 * re-checks or re-defaults an option.
 */
import { AuthError } from './errors'
import type { SessionInput } from './login-response'
import { defaultPlatform, type Platform } from './platform'
import type { AuthResponse, Hooks } from './request'
import { isLoopback, parseOrigin, resolveUrl, stripQuery, type Origin } from './url'

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

type Parse = (data: unknown) => unknown

/** The options after validation and defaults: every field is final. */
export interface ResolvedConfig {
  /** The host API (wx, or a wx-compatible adapter): the only way the core reaches the host. */
  platform: Platform
  /** `baseURL` without trailing slashes. */
  baseURL: string
  /** Origins that may receive the token; `baseURL`'s first. */
  trusted: Origin[]
  login: {
    /** Absolute, checked for HTTPS. */
    url: string
    method: 'POST' | 'GET'
    codeIn: 'body' | 'query'
    data: Record<string, string | number | boolean>
    parse?: Parse
    timeout: number
  }
  /** Absent when no refresh endpoint is configured. */
  refresh?: { url: string; parse?: Parse }
  storageKey: string
  encryptStorage: boolean
  legacyTokenKey?: string
  expiryMargin: number
  timeout: number
  maxConcurrent: number
  authHeader(token: string): Record<string, string>
  isUnauthorized(response: AuthResponse): boolean
  hooks: Hooks
  /** The app's debug sink, if any. */
  debug?: (line: string) => void
}

const KNOWN: Record<string, string[]> = {
  '': ['baseURL', 'login', 'refresh', 'platform', 'storageKey', 'encryptStorage', 'legacyTokenKey', 'expiryMargin', 'allowInsecure', 'timeout', 'maxConcurrent', 'trustedOrigins', 'authHeader', 'isUnauthorized', 'hooks', 'debug'],
  'login.': ['url', 'codeIn', 'method', 'data', 'parse', 'timeout'],
  'refresh.': ['url', 'parse'],
  'hooks.': ['beforeRequest', 'afterResponse', 'beforeError'],
}

function configError(message: string): AuthError {
  return new AuthError('CONFIG', 'createAuth: ' + message)
}

/** Throws for a key that is not an option, suggesting the spelling that differs only in case. */
function checkKeys(obj: object, where: string): void {
  const known = KNOWN[where]
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

function optionalFn<F>(value: F | undefined, name: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw configError(`${name} must be a function.`)
  return value
}

function nonEmpty(value: unknown, name: string): string | undefined {
  if (value !== undefined && (typeof value !== 'string' || !value)) throw configError(`${name} must be a non-empty string.`)
  return value
}

/** The origin of an http(s) URL; plain http only to loopback hosts unless `allowInsecure`. */
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

function resolveLogin(login: LoginOptions | undefined, baseURL: string, allowInsecure: boolean): ResolvedConfig['login'] {
  if (!login || typeof login !== 'object' || typeof login.url !== 'string' || !login.url) {
    throw configError('login.url is required: your server endpoint that exchanges the wx.login code, e.g. { url: "/api/auth/login" }.')
  }
  checkKeys(login, 'login.')
  const { codeIn = 'body', method = 'POST' } = login
  if (codeIn !== 'body' && codeIn !== 'query') throw configError(`login.codeIn must be 'body' or 'query', got ${String(codeIn)}.`)
  if (method !== 'POST' && method !== 'GET') throw configError(`login.method must be 'POST' or 'GET'.`)
  if (method === 'GET' && codeIn !== 'query') throw configError(`login.method 'GET' has no body: use codeIn: 'query'.`)
  const url = resolveUrl(baseURL, login.url)
  secureOrigin(url, 'login.url', allowInsecure)
  return { url, method, codeIn, data: login.data || {}, parse: optionalFn(login.parse, 'login.parse'), timeout: positive(login.timeout, 'login.timeout', 10000) }
}

function resolveRefresh(refresh: RefreshOptions | undefined, baseURL: string, allowInsecure: boolean): ResolvedConfig['refresh'] {
  if (refresh === undefined) return undefined
  if (!refresh || typeof refresh.url !== 'string' || !refresh.url) throw configError('refresh.url is required when refresh is set.')
  checkKeys(refresh, 'refresh.')
  const url = resolveUrl(baseURL, refresh.url)
  secureOrigin(url, 'refresh.url', allowInsecure)
  return { url, parse: optionalFn(refresh.parse, 'refresh.parse') }
}

function resolvePlatform(given: Platform | undefined): Platform {
  const platform = given || defaultPlatform()
  for (const fn of ['login', 'request', 'getStorageSync', 'setStorageSync', 'removeStorageSync'] as const) {
    if (typeof platform[fn] !== 'function') throw configError(`platform.${fn} is missing: pass the mini program's wx (or createFakeWx().wx in tests).`)
  }
  return platform
}

/** Validates `createAuth`'s options. Throws AuthError('CONFIG') for anything it cannot work with. */
export function resolveConfig(options: AuthOptions<unknown>): ResolvedConfig {
  if (!options || typeof options !== 'object') throw configError('pass an options object: createAuth({ baseURL, login: { url } }).')
  checkKeys(options, '')
  const allowInsecure = options.allowInsecure === true
  if (typeof options.baseURL !== 'string') throw configError('baseURL is required, e.g. "https://api.example.com".')
  const trusted = [secureOrigin(options.baseURL, 'baseURL', allowInsecure)]
  const baseURL = options.baseURL.replace(/\/+$/, '')
  const login = resolveLogin(options.login, baseURL, allowInsecure)
  const refresh = resolveRefresh(options.refresh, baseURL, allowInsecure)
  const origins = options.trustedOrigins || []
  if (!Array.isArray(origins)) throw configError('trustedOrigins must be an array of origins.')
  for (const o of origins) {
    if (typeof o !== 'string') throw configError('trustedOrigins must contain strings.')
    trusted.push(secureOrigin(o, 'trustedOrigins entry', allowInsecure))
  }
  const hooks = options.hooks || {}
  checkKeys(hooks, 'hooks.')
  const { expiryMargin = 60000, maxConcurrent = 10 } = options
  if (typeof expiryMargin !== 'number' || expiryMargin < 0 || !isFinite(expiryMargin)) throw configError('expiryMargin must be a number of milliseconds ≥ 0.')
  if (typeof maxConcurrent !== 'number' || maxConcurrent < 1 || Math.floor(maxConcurrent) !== maxConcurrent) {
    throw configError('maxConcurrent must be a whole number ≥ 1.')
  }
  return {
    baseURL,
    trusted,
    login,
    refresh,
    hooks,
    expiryMargin,
    maxConcurrent,
    authHeader: optionalFn(options.authHeader, 'authHeader') || ((token) => ({ Authorization: 'Bearer ' + token })),
    isUnauthorized: optionalFn(options.isUnauthorized, 'isUnauthorized') || ((res) => res.statusCode === 401),
    debug: optionalFn(options.debug, 'debug'),
    storageKey: nonEmpty(options.storageKey, 'storageKey') || 'weapp-auth',
    legacyTokenKey: nonEmpty(options.legacyTokenKey, 'legacyTokenKey'),
    encryptStorage: options.encryptStorage === true,
    timeout: positive(options.timeout, 'timeout', 60000),
    platform: resolvePlatform(options.platform),
  }
}
