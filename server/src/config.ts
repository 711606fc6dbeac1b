/**
 * The env-configured server's settings: `loadConfig(process.env)` reads every variable, checks it,
 * and throws one `ConfigError` naming every variable that is missing or wrong (one sentence each,
 * in `problems`), so a deployment is fixed in one round instead of one run per variable. Nothing
 * here starts anything.
 */
import { randomBytes } from 'node:crypto'
import * as path from 'node:path'
import { ConfigError } from './errors'
import type { StoreChoice } from './stores/open'
import type { RedisAddress } from './stores/redis'
import { sqlDialectOfUrl, type SqlDialectName } from './users-sql'

export interface ServerConfig {
  /** PORT, default 3000 (0: a free port). */
  port: number
  /** HOST, default 127.0.0.1. Set 0.0.0.0 in a container or behind a proxy on another host. */
  host: string
  /** WX_APPID / WX_SECRET (required). */
  appid: string
  secret: string
  /** JWT_SECRET (at least 32 characters); generated at random with NODE_ENV=development when absent. */
  jwtSecret: string
  /** True when jwtSecret was generated (every restart then logs everyone out). */
  jwtSecretGenerated: boolean
  /** REDIS_URL; when set, the store is Redis (see `store`). */
  redisUrl?: string
  /**
   * Where users and sessions are kept: REDIS_URL set → one Redis (REDIS_CLUSTER_PROXY=1: a managed
   * cluster's proxy, keys with hash tags); REDIS_CLUSTER_NODES → a Redis
   * Cluster; REDIS_SENTINELS + REDIS_SENTINEL_NAME → the master Sentinel names (REDIS_PASSWORD for
   * those two); STORE=memory → memory (tests, throwaway runs); otherwise SQLite at SQLITE_PATH
   * (default ./weapp-auth.db).
   */
  store: StoreChoice
  /**
   * DATABASE_URL (mysql://, mariadb:// or postgres://): users are kept in that database (tables
   * created at start); sessions and tokens stay in `store`. Absent: users are kept in the store.
   */
  database?: { url: string; dialect: SqlDialectName }
  /** WX_API_BASE; absent: https://api.weixin.qq.com. */
  wxApiBase?: string
  /** TOKEN_TTL_SECONDS / REFRESH_TTL_SECONDS; absent: the core's defaults (7 days / 30 days). */
  tokenTtlSeconds?: number
  refreshTtlSeconds?: number
  /** SESSION_MAX_SECONDS: a session's absolute lifetime from its login; absent: the core's default (90 days). */
  sessionMaxSeconds?: number
  /** WX_LEGACY_PHONE=1: read WeChat's older encryptedData/iv phone format (off by default). */
  legacyPhone: boolean
  /** WX_ACCESS_TOKEN_MODE: 'stable' (default) or 'classic'. */
  accessTokenMode: 'stable' | 'classic'
  /** TRUST_PROXY: 'true' / 'false', or the proxies' comma-separated addresses/CIDRs; default false. */
  trustProxy: boolean | string
  /** NODE_ENV === 'development'. */
  development: boolean
  /** WEAPP_AUTH_DEV_ENDPOINTS=1 (needs NODE_ENV=development): POST /api/dev/expire-tokens, GET /api/dev/stats. */
  devEndpoints: boolean
  /** WX_APPS: the WeChat mini programs served besides `appid` (each `appid:secret`). */
  moreApps?: Array<{ appid: string; secret: string }>
  /** UPLOAD_DIR: where avatars are kept; default an `uploads` folder beside the SQLite file (else ./uploads). */
  uploadDir: string
  /** PUBLIC_URL: the https address clients reach this server at; avatar URLs start with it. Unset: uploads answer 503. */
  publicUrl?: string
  /** AVATAR_MAX_BYTES, default 2 MiB. */
  avatarMaxBytes: number
  /** JWT_VERIFY_CACHE_SIZE; absent: the core's default (10000 tokens). */
  verifyCacheSize?: number
  /** UPSTREAM_TIMEOUT_MS: the time limit of each call to a host's API (WeChat, QQ, Douyin, Alipay); default 5000. */
  upstreamTimeoutMs?: number
  /**
   * METRICS_PORT (0: a free port) and METRICS_HOST (default 127.0.0.1): Prometheus metrics at
   * GET /metrics on a listener of their own. Absent (METRICS_PORT unset): no metrics listener.
   */
  metrics?: { port: number; host: string }
}

/** The default SQLite file, relative to the working directory. */
export const DEFAULT_SQLITE_PATH = './weapp-auth.db'

/** `host:port,host:port,…` (REDIS_CLUSTER_NODES, REDIS_SENTINELS) → addresses; a ConfigError naming the first bad entry. */
export function addressList(name: string, raw: string): RedisAddress[] {
  const entries = raw.split(',').map((e) => e.trim())
  return entries.map((entry, i) => {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(entry)
    const port = m ? Number(m[2]) : 0
    if (!m || port < 1 || port > 65535) {
      const where = entries.length > 1 ? ` (entry ${i + 1} of ${entries.length})` : ''
      throw new ConfigError(`${name} must be host:port entries separated by commas, got ${JSON.stringify(entry.slice(0, 60))}${where}.`)
    }
    return { host: m[1].replace(/^\[|\]$/g, ''), port }
  })
}

/**
 * REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS (+ REDIS_SENTINEL_NAME, REDIS_PASSWORD), STORE
 * and SQLITE_PATH → which store the bin opens.
 */
function storeChoice(env: NodeJS.ProcessEnv, redisUrl: string | undefined): StoreChoice {
  const kind = (env.STORE || '').trim()
  if (!['', 'memory', 'sqlite', 'redis'].includes(kind)) throw new ConfigError(`STORE must be sqlite, redis or memory, got ${JSON.stringify(kind.slice(0, 40))}.`)
  const redisVars = (['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).filter((name) => env[name])
  if (redisVars.length > 1) throw new ConfigError(`${redisVars.join(' and ')} are ${redisVars.length === 2 ? 'both' : 'all'} set: set one (REDIS_URL: one Redis; REDIS_CLUSTER_NODES: a Redis Cluster; REDIS_SENTINELS: Redis with Sentinel).`)
  if (env.REDIS_SENTINEL_NAME && !env.REDIS_SENTINELS) throw new ConfigError('REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not: set REDIS_SENTINELS=host:port,… (the sentinels) too.')
  const password = env.REDIS_PASSWORD || undefined
  if (password && !env.REDIS_CLUSTER_NODES && !env.REDIS_SENTINELS) {
    throw new ConfigError('REDIS_PASSWORD goes with REDIS_CLUSTER_NODES or REDIS_SENTINELS; with REDIS_URL, put the password in the URL (redis://:password@host:port).')
  }
  const redis = redisVars[0]
  if (redis) {
    if (kind !== '' && kind !== 'redis') throw new ConfigError(`STORE=${kind} and ${redis} are both set: unset one (${redis} alone chooses Redis).`)
    if (env.SQLITE_PATH) throw new ConfigError(`${redis} and SQLITE_PATH are both set: unset one (${redis} chooses Redis; SQLITE_PATH is the SQLite file).`)
  }
  const proxy = (env.REDIS_CLUSTER_PROXY || '').trim()
  if (!['', '0', '1'].includes(proxy)) throw new ConfigError(`REDIS_CLUSTER_PROXY must be 1 or 0, got ${JSON.stringify(proxy.slice(0, 20))}.`)
  if (proxy === '1' && redis !== 'REDIS_URL') throw new ConfigError('REDIS_CLUSTER_PROXY=1 goes with REDIS_URL (the address of a managed cluster\'s proxy).')
  if (redis === 'REDIS_URL' && redisUrl) return { kind: 'redis', url: redisUrl, ...(proxy === '1' ? { clusterProxy: true } : {}) }
  if (redis === 'REDIS_CLUSTER_NODES') {
    return { kind: 'redis-cluster', nodes: addressList('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES as string), ...(password ? { password } : {}) }
  }
  if (redis === 'REDIS_SENTINELS') {
    const sentinels = addressList('REDIS_SENTINELS', env.REDIS_SENTINELS as string)
    const name = (env.REDIS_SENTINEL_NAME || '').trim()
    if (!name) throw new ConfigError('REDIS_SENTINELS needs REDIS_SENTINEL_NAME: the master name the sentinels monitor (the NAME of "sentinel monitor NAME host port quorum").')
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new ConfigError(`REDIS_SENTINEL_NAME must be a master name such as mymaster, got ${JSON.stringify(name.slice(0, 60))}.`)
    return { kind: 'redis-sentinel', sentinels, name, ...(password ? { password } : {}) }
  }
  if (kind === 'redis') throw new ConfigError('STORE=redis needs REDIS_URL (redis://host:port), REDIS_CLUSTER_NODES or REDIS_SENTINELS.')
  if (kind === 'memory') {
    if (env.SQLITE_PATH) throw new ConfigError('STORE=memory and SQLITE_PATH are both set: unset one.')
    return { kind: 'memory' }
  }
  const file = env.SQLITE_PATH === undefined || env.SQLITE_PATH === '' ? DEFAULT_SQLITE_PATH : env.SQLITE_PATH
  if (/[\0\n\r]/.test(file)) throw new ConfigError(`SQLITE_PATH must be a file path, got ${JSON.stringify(file.slice(0, 80))}.`)
  if (file === ':memory:') throw new ConfigError('SQLITE_PATH=:memory: keeps nothing: use STORE=memory for a throwaway run.')
  return { kind: 'sqlite', path: file }
}

/** Below this a JWT secret is refused: HS256 wants a key at least as long as its 256-bit hash. */
export const MIN_JWT_SECRET_LENGTH = 32

/** Collects the problems of a configuration: every check runs, and `done()` throws them all at once. */
class Problems {
  readonly list: string[] = []
  add(message: string): undefined {
    this.list.push(message)
    return undefined
  }
  done(): void {
    if (this.list.length) throw new ConfigError(this.list)
  }
}

/** About 600 MB of remembered tokens: beyond that, a typo. */
const MAX_VERIFY_CACHE_SIZE = 1_000_000

function positiveInt(env: NodeJS.ProcessEnv, name: string, max: number, problems: Problems): number | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > max) {
    return problems.add(`${name} must be a whole number of seconds between 1 and ${max}, got ${JSON.stringify(raw)}.`)
  }
  return Number(raw)
}

function httpUrl(name: string, raw: string, protocols: string[], problems: Problems): string | undefined {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return problems.add(`${name} must be a URL, got ${JSON.stringify(raw)}.`)
  }
  if (!protocols.includes(url.protocol)) return problems.add(`${name} must start with ${protocols.map((p) => p + '//').join(' or ')}, got ${JSON.stringify(url.protocol + '//')}.`)
  return raw
}

/**
 * Reads the server's settings from `env`. Throws one `ConfigError` naming every variable that is
 * missing or wrong (`problems`: one sentence each; the message joins them on one line).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const problems = new Problems()
  const development = env.NODE_ENV === 'development'

  const portRaw = env.PORT === undefined || env.PORT === '' ? '3000' : env.PORT
  if (!/^\d{1,5}$/.test(portRaw) || Number(portRaw) > 65535) problems.add(`PORT must be a port number 0–65535, got ${JSON.stringify(portRaw)}.`)
  const host = env.HOST === undefined || env.HOST === '' ? '127.0.0.1' : env.HOST
  if (/\s|\//.test(host)) problems.add(`HOST must be an address or host name such as 127.0.0.1 or 0.0.0.0, got ${JSON.stringify(host)}.`)

  // Metrics on their own listener, never the public port; loopback unless METRICS_HOST says otherwise.
  let metrics: ServerConfig['metrics']
  const metricsPortRaw = env.METRICS_PORT ?? ''
  const metricsHost = env.METRICS_HOST === undefined || env.METRICS_HOST === '' ? '127.0.0.1' : env.METRICS_HOST
  if (metricsPortRaw !== '') {
    if (!/^\d{1,5}$/.test(metricsPortRaw) || Number(metricsPortRaw) > 65535) problems.add(`METRICS_PORT must be a port number 0–65535, got ${JSON.stringify(metricsPortRaw.slice(0, 40))}.`)
    else if (Number(metricsPortRaw) !== 0 && Number(metricsPortRaw) === Number(portRaw)) problems.add(`METRICS_PORT must differ from PORT (${Number(portRaw)}): the metrics are never served on the public port.`)
    else metrics = { port: Number(metricsPortRaw), host: metricsHost }
  } else if (env.METRICS_HOST) {
    problems.add('METRICS_HOST is set but METRICS_PORT is not: set METRICS_PORT to serve the metrics.')
  }
  if (/\s|\//.test(metricsHost)) problems.add(`METRICS_HOST must be an address or host name such as 127.0.0.1, got ${JSON.stringify(metricsHost.slice(0, 60))}.`)

  // WX_APPS=appid:secret,appid:secret serves several mini programs; WX_APPID/WX_SECRET one.
  const apps: Array<{ appid: string; secret: string }> = []
  for (const entry of (env.WX_APPS || '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const colon = entry.indexOf(':')
    const app = { appid: colon < 0 ? entry : entry.slice(0, colon), secret: colon < 0 ? '' : entry.slice(colon + 1) }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(app.appid) || app.secret === '') problems.add(`WX_APPS must be appid:secret pairs separated by commas, got an entry ${JSON.stringify(app.appid.slice(0, 40) + (colon < 0 ? '' : ':…'))}.`)
    else if (apps.some((known) => known.appid === app.appid) || app.appid === env.WX_APPID) problems.add(`WX_APPS names the AppID ${app.appid} twice (or WX_APPID too).`)
    else apps.push(app)
  }
  const appid = env.WX_APPID || apps[0]?.appid || ''
  const secret = env.WX_APPID ? env.WX_SECRET || '' : apps[0]?.secret || ''
  if (env.WX_APPID) {
    if (!secret) problems.add('WX_SECRET is required: the mini program AppSecret, kept on the server only.')
  } else if (!env.WX_APPS) {
    if (!appid) problems.add('WX_APPID is required: the mini program AppID (admin console → Development → Development settings); or WX_APPS=appid:secret,… for several.')
    if (!env.WX_SECRET) problems.add('WX_SECRET is required: the mini program AppSecret, kept on the server only.')
  }
  if (appid && !/^[A-Za-z0-9_-]{1,64}$/.test(appid)) problems.add(`WX_APPID must look like wx0123456789abcdef, got ${JSON.stringify(appid.slice(0, 70))}.`)

  let jwtSecret = env.JWT_SECRET || ''
  let jwtSecretGenerated = false
  if (!jwtSecret) {
    if (!development) problems.add(`JWT_SECRET is required (at least ${MIN_JWT_SECRET_LENGTH} characters; e.g. openssl rand -base64 48). Only NODE_ENV=development generates one.`)
    jwtSecret = randomBytes(48).toString('base64url')
    jwtSecretGenerated = true
  } else if (jwtSecret.length < MIN_JWT_SECRET_LENGTH) {
    problems.add(`JWT_SECRET is too short: ${jwtSecret.length} characters, at least ${MIN_JWT_SECRET_LENGTH} needed (e.g. openssl rand -base64 48).`)
  }

  const redisUrl = env.REDIS_URL ? httpUrl('REDIS_URL', env.REDIS_URL, ['redis:', 'rediss:'], problems) : undefined
  let database: ServerConfig['database']
  if (env.DATABASE_URL) {
    // The URL holds a password: only its scheme is ever repeated.
    const dialect = sqlDialectOfUrl(env.DATABASE_URL)
    if (typeof dialect === 'string') database = { url: env.DATABASE_URL, dialect }
    else problems.add(`DATABASE_URL ${dialect.problem} (users are kept there).`)
  }
  const wxApiBase = env.WX_API_BASE ? httpUrl('WX_API_BASE', env.WX_API_BASE, ['https:', 'http:'], problems)?.replace(/\/+$/, '') : undefined

  const tokenTtlSeconds = positiveInt(env, 'TOKEN_TTL_SECONDS', 366 * 24 * 3600, problems)
  const refreshTtlSeconds = positiveInt(env, 'REFRESH_TTL_SECONDS', 366 * 24 * 3600, problems)
  if (tokenTtlSeconds !== undefined && refreshTtlSeconds !== undefined && refreshTtlSeconds < tokenTtlSeconds) {
    problems.add(`REFRESH_TTL_SECONDS (${refreshTtlSeconds}) must not be shorter than TOKEN_TTL_SECONDS (${tokenTtlSeconds}).`)
  }

  const sessionMaxSeconds = positiveInt(env, 'SESSION_MAX_SECONDS', 10 * 366 * 24 * 3600, problems)
  const shortest = tokenTtlSeconds ?? 7 * 24 * 3600
  if (sessionMaxSeconds !== undefined && sessionMaxSeconds < shortest) {
    problems.add(`SESSION_MAX_SECONDS (${sessionMaxSeconds}) must not be shorter than the access token's lifetime (${shortest}; TOKEN_TTL_SECONDS).`)
  }
  const legacyRaw = env.WX_LEGACY_PHONE || ''
  if (!['', '0', '1'].includes(legacyRaw)) problems.add(`WX_LEGACY_PHONE must be 1 or 0, got ${JSON.stringify(legacyRaw.slice(0, 20))}.`)

  const modeRaw = env.WX_ACCESS_TOKEN_MODE || 'stable'
  if (modeRaw !== 'stable' && modeRaw !== 'classic') problems.add(`WX_ACCESS_TOKEN_MODE must be stable or classic, got ${JSON.stringify(modeRaw)}.`)
  const mode = modeRaw === 'classic' ? 'classic' : 'stable'

  // fastify 5 answers a hop count by trusting no proxy at all (it cannot check the peer), so a
  // number is refused here rather than silently ignored.
  let trustProxy: boolean | string = false
  const tp = (env.TRUST_PROXY || '').trim()
  if (tp === '' || tp === 'false') trustProxy = false
  else if (tp === 'true') trustProxy = true
  else if (/^\d+$/.test(tp)) problems.add(`TRUST_PROXY=${tp}: a hop count is not supported; give the proxy's address or CIDR (e.g. 127.0.0.1 or 10.0.0.0/8), or true.`)
  else if (/^[0-9a-fA-F.:/,\s]+$/.test(tp) || /^(loopback|linklocal|uniquelocal)(\s*,\s*(loopback|linklocal|uniquelocal))*$/.test(tp)) trustProxy = tp
  else problems.add(`TRUST_PROXY must be true, false, or the proxies' comma-separated addresses/CIDRs, got ${JSON.stringify(tp)}.`)

  const devRaw = env.WEAPP_AUTH_DEV_ENDPOINTS || ''
  if (!['', '0', '1'].includes(devRaw)) problems.add(`WEAPP_AUTH_DEV_ENDPOINTS must be 1 or 0, got ${JSON.stringify(devRaw)}.`)
  const devEndpoints = devRaw === '1'
  if (devEndpoints && !development) problems.add('WEAPP_AUTH_DEV_ENDPOINTS=1 needs NODE_ENV=development: those endpoints revoke every token and must never run in production.')

  const publicUrl = env.PUBLIC_URL ? httpUrl('PUBLIC_URL', env.PUBLIC_URL, development ? ['https:', 'http:'] : ['https:'], problems)?.replace(/\/+$/, '') : undefined
  if (publicUrl && /[?#]/.test(publicUrl)) problems.add('PUBLIC_URL must not carry a query or a fragment (avatar paths are appended to it).')
  const avatarMaxBytes = positiveInt(env, 'AVATAR_MAX_BYTES', 20 * 1024 * 1024, problems) ?? 2 * 1024 * 1024
  const verifyCacheRaw = env.JWT_VERIFY_CACHE_SIZE
  let verifyCacheSize: number | undefined
  if (verifyCacheRaw !== undefined && verifyCacheRaw !== '') {
    if (!/^\d+$/.test(verifyCacheRaw.trim()) || Number(verifyCacheRaw) > MAX_VERIFY_CACHE_SIZE) {
      problems.add(`JWT_VERIFY_CACHE_SIZE must be a whole number of tokens between 0 and ${MAX_VERIFY_CACHE_SIZE}, got ${JSON.stringify(verifyCacheRaw)}.`)
    } else verifyCacheSize = Number(verifyCacheRaw)
  }
  const upstreamRaw = env.UPSTREAM_TIMEOUT_MS ?? ''
  const upstreamTimeoutMs = upstreamRaw === '' ? undefined : Number(upstreamRaw)
  if (upstreamTimeoutMs !== undefined && !(/^\d+$/.test(upstreamRaw) && upstreamTimeoutMs >= 100 && upstreamTimeoutMs <= 60000)) {
    problems.add(`UPSTREAM_TIMEOUT_MS must be a whole number of milliseconds between 100 and 60000, got ${JSON.stringify(upstreamRaw.slice(0, 20))}.`)
  }
  const uploadDirRaw = env.UPLOAD_DIR ?? ''
  if (/[\0\n\r]/.test(uploadDirRaw)) problems.add(`UPLOAD_DIR must be a folder path, got ${JSON.stringify(uploadDirRaw.slice(0, 80))}.`)

  // The store's settings are judged only with a usable REDIS_URL (a wrong one is reported above).
  let store: StoreChoice = { kind: 'memory' }
  if (!env.REDIS_URL || redisUrl) {
    try {
      store = storeChoice(env, redisUrl)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      problems.add(err.message)
    }
  }
  problems.done()

  const config: ServerConfig = {
    store,
    port: Number(portRaw),
    host,
    appid,
    secret,
    jwtSecret,
    jwtSecretGenerated,
    accessTokenMode: mode,
    trustProxy,
    development,
    devEndpoints,
    legacyPhone: legacyRaw === '1',
    uploadDir: uploadDirRaw || path.join(path.dirname(store.kind === 'sqlite' ? store.path : DEFAULT_SQLITE_PATH), 'uploads'),
    avatarMaxBytes,
  }
  if (publicUrl) config.publicUrl = publicUrl
  if (upstreamTimeoutMs !== undefined) config.upstreamTimeoutMs = upstreamTimeoutMs
  if (metrics) config.metrics = metrics
  const more = env.WX_APPID ? apps : apps.slice(1)
  if (more.length > 0) config.moreApps = more
  if (redisUrl) config.redisUrl = redisUrl
  if (database) config.database = database
  if (wxApiBase) config.wxApiBase = wxApiBase
  if (tokenTtlSeconds !== undefined) config.tokenTtlSeconds = tokenTtlSeconds
  if (refreshTtlSeconds !== undefined) config.refreshTtlSeconds = refreshTtlSeconds
  if (sessionMaxSeconds !== undefined) config.sessionMaxSeconds = sessionMaxSeconds
  if (verifyCacheSize !== undefined) config.verifyCacheSize = verifyCacheSize
  return config
}
