/**
 * The options every host provider shares (a base URL, a time limit, fetch), checked once at
 * construction: a wrong one is a ConfigError naming the provider and the option, never a
 * failure on the first login.
 */
import { ConfigError } from '../errors'

export interface ProviderHttpOptions {
  /** Time limit for each call to the host's API (connect, headers and body). Default 5000 ms. */
  timeoutMs?: number
  /** fetch, for tests. Default the global fetch. */
  fetch?: typeof fetch
}

export const DEFAULT_PROVIDER_TIMEOUT_MS = 5000

/** A non-empty string option, trimmed of nothing: secrets are taken as given. */
export function requiredString(provider: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`${provider}: ${name} must be a non-empty string`)
  return value
}

/** An http(s) URL without its trailing slashes; a query or fragment is refused (paths are appended). */
export function baseUrl(provider: string, name: string, value: unknown, fallback: string): string {
  const raw = value === undefined ? fallback : value
  if (typeof raw !== 'string' || raw === '') throw new ConfigError(`${provider}: ${name} must be an http(s) URL`)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`${provider}: ${name} must be an http(s) URL (got "${raw}")`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${provider}: ${name} must be an http(s) URL (got "${raw}")`)
  if (url.search || url.hash) throw new ConfigError(`${provider}: ${name} must not carry a query or a fragment`)
  return raw.replace(/\/+$/, '')
}

export function httpOptions(provider: string, options: ProviderHttpOptions): { timeoutMs: number; fetch: typeof fetch } {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ConfigError(`${provider}: timeoutMs must be a positive number of milliseconds`)
  const doFetch = options.fetch ?? (globalThis.fetch as typeof fetch | undefined)
  if (typeof doFetch !== 'function') throw new ConfigError(`${provider}: no fetch (Node 18+ has one; or pass options.fetch)`)
  return { timeoutMs, fetch: doFetch }
}

export function checkOptionsObject(provider: string, options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ConfigError(`${provider} expects an options object`)
}

/** The options of a host that logs in with an AppID and an AppSecret (QQ, Douyin), each checked. */
export interface AppSecretOptions extends ProviderHttpOptions {
  appid: string
  secret: string
  apiBase?: string
}

/** Checks an AppID/AppSecret provider's options once: the credentials, its API base (default `fallbackBase`), time limit and fetch. */
export function appSecretOptions(provider: string, options: AppSecretOptions, fallbackBase: string): { appid: string; secret: string; base: string; timeoutMs: number; fetch: typeof fetch } {
  checkOptionsObject(provider, options)
  const appid = requiredString(provider, 'appid', options.appid)
  const secret = requiredString(provider, 'secret', options.secret)
  const base = baseUrl(provider, 'apiBase', options.apiBase, fallbackBase)
  return Object.assign({ appid, secret, base }, httpOptions(provider, options))
}
