/**
 * `createAuthServer` options, checked once at setup: every mistake is a ConfigError that says what
 * to change (a missing AppID, a JWT secret shorter than 32 bytes, a TTL that is not a positive
 * integer, a WeChat base that is not http(s), a misspelt option with "did you mean …"). Nothing
 * is silently defaulted over a wrong value.
 */
import { ConfigError } from './errors'
import type { Store } from './stores/store'
import type { AuthServerEvent, AuthServerOptions, HostPlatform, PublicUser, SessionProvider, UserRepository } from './types'
import { DEFAULT_VERIFY_CACHE_SIZE, type SigningKey } from './tokens'

export const DEFAULT_WX_API_BASE = 'https://api.weixin.qq.com'
export const HOST_PLATFORMS: readonly HostPlatform[] = ['weixin', 'qq', 'douyin', 'alipay']
/** HS256 wants a key at least as long as its hash: 32 bytes (RFC 7518 §3.2). */
export const MIN_JWT_SECRET_BYTES = 32

export interface ResolvedOptions<U extends PublicUser> {
  appid: string
  secret: string
  keys: SigningKey[]
  issuer?: string
  audience?: string
  verifyCacheSize: number
  tokenTtlSeconds: number
  refreshTtlSeconds: number
  sessionKeyTtlSeconds: number
  store?: Store
  users?: UserRepository<U>
  wxApiBase: string
  accessTokenMode: 'stable' | 'classic'
  accessTokenMarginSeconds: number
  revocation: boolean
  upstreamTimeoutMs: number
  providers: Partial<Record<HostPlatform, SessionProvider>>
  /** Every WeChat app served: `appid`/`secret` first, then `apps`. */
  wechatApps: Array<{ appid: string; secret: string }>
  loginRateLimit: { max: number; windowSeconds: number } | false
  sessionMaxSeconds: number
  legacyPhone: boolean
  phoneRateLimit: { max: number; windowSeconds: number } | false
  decryptFailureLimit: { max: number; windowSeconds: number }
  onEvent?: (event: AuthServerEvent) => void
  onUserDeleted?: (userId: string) => void | Promise<void>
  onIdentityConflict?: (conflict: { platform: HostPlatform; kept: string; other: string }) => void | Promise<void>
  now: () => number
  fetch: typeof fetch
}

const OPTION_KEYS: readonly (keyof AuthServerOptions)[] = [
  'appid',
  'secret',
  'jwt',
  'tokenTtlSeconds',
  'refreshTtlSeconds',
  'sessionKeyTtlSeconds',
  'store',
  'users',
  'wxApiBase',
  'accessTokenMode',
  'accessTokenMarginSeconds',
  'revocation',
  'upstreamTimeoutMs',
  'providers',
  'apps',
  'loginRateLimit',
  'sessionMaxSeconds',
  'legacyPhone',
  'phoneRateLimit',
  'decryptFailureLimit',
  'onEvent',
  'onUserDeleted',
  'onIdentityConflict',
  'now',
  'fetch',
]
const JWT_KEYS = ['secret', 'keys', 'issuer', 'audience', 'verifyCacheSize']

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]
}

function checkKeys(given: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue
    const best = known.map((k) => ({ k, d: distance(key, k) })).sort((x, y) => x.d - y.d)[0]
    const hint = best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? ` Did you mean "${best.k}"?` : ` Known options: ${known.join(', ')}.`
    throw new ConfigError(`${where}: unknown option "${key}".${hint}`)
  }
}

function nonEmptyString(value: unknown, name: string, hint: string): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw new ConfigError(`createAuthServer: ${name} is required (${hint})`)
  return value
}

function positiveInt(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`createAuthServer: ${name} must be a positive integer, got ${JSON.stringify(value)}`)
  }
  return value
}

function keyBytes(secret: unknown, name: string): Uint8Array {
  let bytes: Uint8Array
  if (typeof secret === 'string') bytes = new TextEncoder().encode(secret)
  else if (secret instanceof Uint8Array) bytes = secret
  else throw new ConfigError(`createAuthServer: ${name} must be a string or Uint8Array`)
  if (bytes.length < MIN_JWT_SECRET_BYTES) {
    throw new ConfigError(
      `createAuthServer: ${name} is ${bytes.length} bytes; HS256 needs at least ${MIN_JWT_SECRET_BYTES} (generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")`,
    )
  }
  return bytes
}

function resolveKeys(jwt: unknown): { keys: SigningKey[]; issuer?: string; audience?: string; verifyCacheSize: number } {
  if (jwt === null || typeof jwt !== 'object') throw new ConfigError('createAuthServer: jwt is required: { secret } (at least 32 bytes) or { keys: [{ kid, secret }] }')
  checkKeys(jwt, JWT_KEYS, 'createAuthServer jwt')
  const { secret, keys, issuer, audience, verifyCacheSize } = jwt as AuthServerOptions['jwt']
  if (secret !== undefined && keys !== undefined) throw new ConfigError('createAuthServer: give jwt.secret or jwt.keys, not both (put the secret in keys to rotate)')
  let resolved: SigningKey[]
  if (keys !== undefined) {
    if (!Array.isArray(keys) || keys.length === 0) throw new ConfigError('createAuthServer: jwt.keys must be a non-empty array of { kid, secret }; the first signs')
    const seen = new Set<string>()
    resolved = keys.map((k, i) => {
      if (k === null || typeof k !== 'object' || typeof k.kid !== 'string' || k.kid.length === 0) throw new ConfigError(`createAuthServer: jwt.keys[${i}].kid must be a non-empty string`)
      if (seen.has(k.kid)) throw new ConfigError(`createAuthServer: jwt.keys has kid "${k.kid}" twice`)
      seen.add(k.kid)
      return { kid: k.kid, key: keyBytes(k.secret, `jwt.keys[${i}].secret`) }
    })
  } else if (secret !== undefined) {
    resolved = [{ kid: 'default', key: keyBytes(secret, 'jwt.secret') }]
  } else {
    throw new ConfigError('createAuthServer: jwt.secret (at least 32 bytes) or jwt.keys is required')
  }
  if (issuer !== undefined && (typeof issuer !== 'string' || issuer.length === 0)) throw new ConfigError('createAuthServer: jwt.issuer must be a non-empty string')
  if (audience !== undefined && (typeof audience !== 'string' || audience.length === 0)) throw new ConfigError('createAuthServer: jwt.audience must be a non-empty string')
  if (verifyCacheSize !== undefined && (typeof verifyCacheSize !== 'number' || !Number.isInteger(verifyCacheSize) || verifyCacheSize < 0)) {
    throw new ConfigError(`createAuthServer: jwt.verifyCacheSize must be an integer of at least 0 (0 remembers no token), got ${JSON.stringify(verifyCacheSize)}`)
  }
  return { keys: resolved, issuer, audience, verifyCacheSize: verifyCacheSize ?? DEFAULT_VERIFY_CACHE_SIZE }
}

function resolveBase(value: unknown): string {
  const raw = value === undefined ? process.env.WX_API_BASE || DEFAULT_WX_API_BASE : value
  if (typeof raw !== 'string') throw new ConfigError('createAuthServer: wxApiBase must be a URL string')
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`createAuthServer: wxApiBase "${raw}" is not a URL (e.g. ${DEFAULT_WX_API_BASE})`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`createAuthServer: wxApiBase must be http(s), got ${url.protocol}`)
  if (url.search || url.hash) throw new ConfigError('createAuthServer: wxApiBase must not have a query or fragment')
  return raw.replace(/\/+$/, '')
}

/** `{ max, windowSeconds }`, `false` (off, where allowed) or the default. */
function rateLimit(
  value: unknown,
  name: string,
  fallback: { max: number; windowSeconds: number },
  canBeOff: boolean,
): { max: number; windowSeconds: number } | false {
  if (value === undefined) return fallback
  if (value === false && canBeOff) return false
  if (value === null || typeof value !== 'object') throw new ConfigError(`createAuthServer: ${name} must be { max, windowSeconds }${canBeOff ? ' or false' : ''}`)
  checkKeys(value, ['max', 'windowSeconds'], `createAuthServer ${name}`)
  const rl = value as { max?: unknown; windowSeconds?: unknown }
  return { max: positiveInt(rl.max, `${name}.max`, fallback.max), windowSeconds: positiveInt(rl.windowSeconds, `${name}.windowSeconds`, fallback.windowSeconds) }
}

export function resolveOptions<U extends PublicUser>(options: AuthServerOptions<U>): ResolvedOptions<U> {
  if (options === null || typeof options !== 'object') throw new ConfigError('createAuthServer: options are required: { appid, secret, jwt: { secret } }')
  checkKeys(options, OPTION_KEYS as string[], 'createAuthServer')
  const appid = nonEmptyString(options.appid, 'appid', "the mini program's AppID, from mp.weixin.qq.com → 开发管理 → 开发设置")
  const secret = nonEmptyString(options.secret, 'secret', 'the AppSecret, from the same page')
  const jwt = resolveKeys(options.jwt)

  const accessTokenMode = options.accessTokenMode ?? 'stable'
  if (accessTokenMode !== 'stable' && accessTokenMode !== 'classic') throw new ConfigError(`createAuthServer: accessTokenMode must be 'stable' or 'classic', got ${JSON.stringify(accessTokenMode)}`)
  for (const name of ['revocation', 'legacyPhone'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw new ConfigError(`createAuthServer: ${name} must be true or false`)
  }
  for (const name of ['onEvent', 'onUserDeleted', 'onIdentityConflict', 'now', 'fetch'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new ConfigError(`createAuthServer: ${name} must be a function`)
  }
  const fetchImpl = options.fetch ?? globalThis.fetch
  if (typeof fetchImpl !== 'function') throw new ConfigError('createAuthServer: no global fetch (Node >= 18 has one); pass options.fetch')

  const store = options.store
  if (store !== undefined && (store === null || typeof store !== 'object' || typeof store.rotateRefresh !== 'function')) {
    throw new ConfigError('createAuthServer: store must be a Store (sqliteStore(path), redisStore(url) or memoryStore())')
  }
  if (store) {
    const missing = (['generation', 'checkSubject', 'deleteSession', 'getHits', 'listSessions', 'setUserNotBefore', 'deleteUser'] as const).filter((name) => typeof store[name] !== 'function')
    if (missing.length > 0) {
      throw new ConfigError(`createAuthServer: store has no ${missing.map((m) => m + '()').join(', ')}: a Store written for an older weapp-auth-server; add them (see the Store interface)`)
    }
  }
  const users = options.users
  if (users !== undefined && (users === null || typeof users !== 'object' || typeof users.findOrCreate !== 'function')) {
    throw new ConfigError('createAuthServer: users must be { findOrCreate({ openid, unionid, platform }) → { id, ... } }')
  }
  const wechatApps = [{ appid, secret }]
  if (options.apps !== undefined) {
    if (!Array.isArray(options.apps)) throw new ConfigError('createAuthServer: apps must be an array of { appid, secret } (more WeChat mini programs)')
    options.apps.forEach((app, i) => {
      if (app === null || typeof app !== 'object') throw new ConfigError(`createAuthServer: apps[${i}] must be { appid, secret }`)
      const more = { appid: nonEmptyString(app.appid, `apps[${i}].appid`, 'an AppID'), secret: nonEmptyString(app.secret, `apps[${i}].secret`, 'its AppSecret') }
      if (wechatApps.some((known) => known.appid === more.appid)) throw new ConfigError(`createAuthServer: the AppID ${more.appid} is given twice (appid and apps)`)
      wechatApps.push(more)
    })
  }
  const providers = options.providers ?? {}
  if (providers === null || typeof providers !== 'object') throw new ConfigError('createAuthServer: providers must be an object { platform: SessionProvider }')
  for (const [platform, provider] of Object.entries(providers)) {
    if (!HOST_PLATFORMS.includes(platform as HostPlatform)) throw new ConfigError(`createAuthServer: providers.${platform}: unknown platform (one of ${HOST_PLATFORMS.join(', ')})`)
    if (!provider || typeof provider.code2Session !== 'function') throw new ConfigError(`createAuthServer: providers.${platform} must have code2Session({ code })`)
  }

  const loginRateLimit = rateLimit(options.loginRateLimit, 'loginRateLimit', { max: 30, windowSeconds: 60 }, true)
  const phoneRateLimit = rateLimit(options.phoneRateLimit, 'phoneRateLimit', { max: 10, windowSeconds: 3600 }, true)
  const decryptFailureLimit = rateLimit(options.decryptFailureLimit, 'decryptFailureLimit', { max: 5, windowSeconds: 24 * 3600 }, false) as { max: number; windowSeconds: number }

  const tokenTtlSeconds = positiveInt(options.tokenTtlSeconds, 'tokenTtlSeconds', 7 * 24 * 3600)
  const refreshTtlSeconds = positiveInt(options.refreshTtlSeconds, 'refreshTtlSeconds', 30 * 24 * 3600)
  if (refreshTtlSeconds < tokenTtlSeconds) {
    throw new ConfigError(`createAuthServer: refreshTtlSeconds (${refreshTtlSeconds}) must be at least tokenTtlSeconds (${tokenTtlSeconds}), or a refresh token dies before the token it renews`)
  }
  const sessionMaxSeconds = positiveInt(options.sessionMaxSeconds, 'sessionMaxSeconds', 90 * 24 * 3600)
  if (sessionMaxSeconds < tokenTtlSeconds) {
    throw new ConfigError(`createAuthServer: sessionMaxSeconds (${sessionMaxSeconds}) must be at least tokenTtlSeconds (${tokenTtlSeconds}): a session cannot end before its first token`)
  }

  return {
    appid,
    secret,
    ...jwt,
    tokenTtlSeconds,
    refreshTtlSeconds,
    sessionKeyTtlSeconds: positiveInt(options.sessionKeyTtlSeconds, 'sessionKeyTtlSeconds', 3 * 24 * 3600),
    store,
    users,
    wxApiBase: resolveBase(options.wxApiBase),
    accessTokenMode,
    accessTokenMarginSeconds: positiveInt(options.accessTokenMarginSeconds, 'accessTokenMarginSeconds', 300),
    revocation: options.revocation ?? false,
    upstreamTimeoutMs: positiveInt(options.upstreamTimeoutMs, 'upstreamTimeoutMs', 5000),
    providers,
    wechatApps,
    loginRateLimit,
    sessionMaxSeconds,
    legacyPhone: options.legacyPhone ?? false,
    phoneRateLimit,
    decryptFailureLimit,
    onEvent: options.onEvent,
    onUserDeleted: options.onUserDeleted,
    onIdentityConflict: options.onIdentityConflict,
    now: options.now ?? Date.now,
    fetch: fetchImpl,
  }
}
