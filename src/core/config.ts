/**
 * `createAuth`'s options, validated once into a `ResolvedConfig` that the rest of the core reads.
 * Everything that can be wrong with an option is reported here, synchronously, as
 * AuthError('CONFIG') with a message that says what to pass instead; nothing downstream
 * re-checks or re-defaults an option.
 */
import { AuthError } from '../base/errors'
import type { SessionInput } from './login-response'
import type { Platform } from '../base/platform'
import type { HostName, HostPlatform } from '../platforms/host'
import type { AuthResponse, Hooks } from '../net/request-types'
import type { Migration, SessionStorage } from './storage-io'
import { isLoopback, parseOrigin, resolveUrl, stripQuery, type Origin } from '../base/url'

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
  /** Milliseconds for `wx.login`, for the login request, and for each async storage read or write of the session record. Default 10 000. */
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
  /**
   * The host. From `weapp-auth`: a host name (`'weixin' | 'qq' | 'douyin' | 'alipay'`: that host's
   * global, adapted), an adapter from `weapp-auth/platforms`, uni-app's `uni`, `Taro`, or any
   * wx-compatible object (treated as WeChat); default: detected from the globals qq, tt, my, wx.
   * From `weapp-auth/core`: an object only; default: the global `wx`.
   */
  platform?: Platform | HostName
  /** Storage key of the session record. Default `'weapp-auth'`. Use different keys for separate instances. */
  storageKey?: string
  /**
   * Where the record is kept. Default: plain sync storage. `encryptedStorage()` from
   * `weapp-auth/storage` keeps it in WeChat's encrypted storage (base library 2.21.3+).
   */
  storage?: SessionStorage
  /** Runs once when no record is stored, e.g. `legacyToken('token')` from `weapp-auth/storage` moves a token stored by older code. */
  migrate?: Migration
  /**
   * Reads an expiry from the token when the server's answer states none: `jwtExpiry` from
   * `weapp-auth/jwt` reads a JWT's `exp`. Default: none (a token without a stated expiry is used
   * until the server refuses it).
   */
  expiryFromToken?: (token: string) => number | undefined
  /** Treat a token as expired this many milliseconds before its expiry. Default 60 000. */
  expiryMargin?: number
  /** Allow `http://` to non-loopback hosts. Never do this in a release build. */
  allowInsecure?: boolean
  /** Milliseconds for each request attempt. Default 60 000 (WeChat's own default). */
  timeout?: number
  /** At most this many of the SDK's network calls at once. Default: the host's limit (10 on all four hosts). */
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
  /** The host adapter (wx-shaped calls plus the host's name and limits): the only way the core reaches the host. */
  platform: HostPlatform
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
  storage?: SessionStorage
  migrate?: Migration
  expiryFromToken?: (token: string) => number | undefined
  expiryMargin: number
  timeout: number
  maxConcurrent: number
  authHeader(token: string): Record<string, string>
  isUnauthorized(response: AuthResponse): boolean
  hooks: Hooks
  /** The app's debug sink, if any. */
  debug?: (line: string) => void
}

/** The options that are functions, checked in one loop. */
const FUNCTIONS = 'authHeader isUnauthorized debug storage migrate expiryFromToken'

/** Each object's option names, space-separated (`''`: the top level). */
const KNOWN: Record<string, string> = {
  // (a literal, not FUNCTIONS + …: a computed module-level value would not be tree-shaken from open-only apps)
  '': 'authHeader isUnauthorized debug storage migrate expiryFromToken baseURL login refresh platform storageKey expiryMargin allowInsecure timeout maxConcurrent trustedOrigins hooks',
  'login.': 'url codeIn method data parse timeout',
  'refresh.': 'url parse',
  'hooks.': 'beforeRequest afterResponse beforeError',
}

/** Options of earlier versions, and what replaced them. */
const MOVED: Record<string, string> = {
  encryptStorage: 'storage: encryptedStorage()',
  legacyTokenKey: "migrate: legacyToken('token')",
}

function configError(message: string): AuthError {
  return new AuthError('CONFIG', 'createAuth: ' + message)
}

/** Throws for a key that is not an option, naming the spelling that differs only in case, or what replaced it. */
function checkKeys(obj: object, where: string): void {
  const known = KNOWN[where].split(' ')
  for (const k of Object.keys(obj)) {
    if (known.indexOf(k) >= 0) continue
    const hint = MOVED[k] && !where ? `; it is now ${MOVED[k]}, imported from 'weapp-auth/storage'` : known.filter((n) => n.toLowerCase() === k.toLowerCase()).map((n) => ` (did you mean ${where}${n}?)`)[0]
    throw configError(`unknown option ${where}${k}${hint || ''}.`)
  }
}

/** `value`, or `fallback` when undefined; throws `must …` unless `ok(value)`. */
function check<T>(value: T | undefined, name: string, must: string, ok: (v: T) => boolean, fallback?: T): T {
  if (value === undefined) return fallback as T
  if (!ok(value)) throw configError(`${name} must be ${must}, got ${typeof value === 'string' ? `"${value}"` : String(value)}.`)
  return value
}

const positive = (value: unknown, name: string, fallback: number): number =>
  check(value as number, name, 'a positive number of milliseconds', (v) => typeof v === 'number' && v > 0 && isFinite(v), fallback)
const fn = <F>(value: F | undefined, name: string): F | undefined => check(value, name, 'a function', (v) => typeof v === 'function')

/** An absolute http(s) URL; plain http only to loopback hosts unless `allowInsecure`. */
function secureOrigin(url: string, name: string, allowInsecure: boolean): Origin {
  const origin = parseOrigin(url)
  if (!origin || !/^https?:$/.test(origin.protocol)) throw configError(`${name} must be an absolute http(s) URL such as "https://api.example.com", got "${url}".`)
  if (origin.protocol === 'http:' && !allowInsecure && !isLoopback(origin)) {
    throw configError(
      `${name} "${stripQuery(url)}" is plain http, which WeChat refuses outside development: use https://, a loopback host, or allowInsecure: true (never in a release).`,
    )
  }
  return origin
}

/** `login` or `refresh`: the keys checked, the URL resolved against baseURL and checked for HTTPS. */
function endpoint<E extends { url: string; parse?: Parse }>(given: E | undefined, name: string, baseURL: string, allowInsecure: boolean, example: string): E {
  if (!given || typeof given.url !== 'string' || !given.url) throw configError(`${name}.url is required: ${example}.`)
  checkKeys(given, name + '.')
  const url = resolveUrl(baseURL, given.url)
  secureOrigin(url, name + '.url', allowInsecure)
  return Object.assign({}, given, { url, parse: fn(given.parse, name + '.parse') })
}

function resolveLogin(given: LoginOptions | undefined, baseURL: string, allowInsecure: boolean): ResolvedConfig['login'] {
  const login = endpoint(given, 'login', baseURL, allowInsecure, 'e.g. "/api/auth/login"')
  const codeIn = check<'body' | 'query'>(login.codeIn, 'login.codeIn', "'body' or 'query'", (v) => v === 'body' || v === 'query', 'body')
  const method = check<'POST' | 'GET'>(login.method, 'login.method', "'POST' or 'GET'", (v) => v === 'POST' || v === 'GET', 'POST')
  if (method === 'GET' && codeIn !== 'query') throw configError(`login.method 'GET' has no body: use codeIn: 'query'.`)
  return { url: login.url, method, codeIn, data: login.data || {}, parse: login.parse, timeout: positive(login.timeout, 'login.timeout', 10000) }
}

/** Turns the `platform` option into the host adapter; the entry (`weapp-auth` or `weapp-auth/core`) decides how. */
export type PlatformChooser = (given: Platform | HostName | undefined) => HostPlatform

const REQUIRED = ['login', 'request', 'getStorageSync', 'setStorageSync', 'removeStorageSync']

function resolvePlatform(given: AuthOptions['platform'], choose: PlatformChooser): HostPlatform {
  const platform = choose(given)
  const missing = REQUIRED.filter((name) => typeof (platform as unknown as Record<string, unknown>)[name] !== 'function')
  if (missing.length) {
    throw configError(`the ${platform.host} platform has no ${missing.join(', ')}: pass the host's global or an adapter from weapp-auth/platforms.`)
  }
  return platform
}

/** Validates `createAuth`'s options. Throws AuthError('CONFIG') for anything it cannot work with. */
export function resolveConfig(options: AuthOptions<unknown>, choose: PlatformChooser): ResolvedConfig {
  if (!options || typeof options !== 'object') throw configError('pass an options object: createAuth({ baseURL, login: { url } }).')
  checkKeys(options, '')
  const allowInsecure = options.allowInsecure === true
  if (typeof options.baseURL !== 'string') throw configError('baseURL is required, e.g. "https://api.example.com".')
  const trusted = [secureOrigin(options.baseURL, 'baseURL', allowInsecure)]
  const baseURL = options.baseURL.replace(/\/+$/, '')
  const login = resolveLogin(options.login, baseURL, allowInsecure)
  const refresh = options.refresh === undefined ? undefined : endpoint(options.refresh, 'refresh', baseURL, allowInsecure, 'e.g. "/api/auth/refresh"')
  const origins = check(options.trustedOrigins, 'trustedOrigins', 'an array of origins', Array.isArray, [])
  for (const o of origins) trusted.push(secureOrigin(check(o, 'a trustedOrigins entry', 'a string', (v) => typeof v === 'string'), 'trustedOrigins entry', allowInsecure))
  const platform = resolvePlatform(options.platform, choose)
  const hooks = options.hooks || {}
  checkKeys(hooks, 'hooks.')
  for (const k of FUNCTIONS.split(' ')) fn((options as unknown as Record<string, unknown>)[k], k)
  return {
    baseURL,
    trusted,
    login,
    refresh: refresh && { url: refresh.url, parse: refresh.parse },
    hooks,
    expiryMargin: check(options.expiryMargin, 'expiryMargin', 'a number of milliseconds ≥ 0', (v) => typeof v === 'number' && v >= 0 && isFinite(v), 60000),
    maxConcurrent: check(options.maxConcurrent, 'maxConcurrent', 'a whole number ≥ 1', (v) => typeof v === 'number' && v >= 1 && Math.floor(v) === v, platform.networkTaskLimit),
    authHeader: options.authHeader || ((token) => ({ Authorization: 'Bearer ' + token })),
    isUnauthorized: options.isUnauthorized || ((res) => res.statusCode === 401),
    debug: options.debug,
    storageKey: check(options.storageKey, 'storageKey', 'a non-empty string', (v) => typeof v === 'string' && !!v, 'weapp-auth'),
    storage: options.storage,
    migrate: options.migrate,
    expiryFromToken: options.expiryFromToken,
    timeout: positive(options.timeout, 'timeout', 60000),
    platform,
  }
}
