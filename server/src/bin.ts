#!/usr/bin/env node
/**
 * `npx weapp-auth-server`: the kit as a ready-made server, configured from the environment only
 * (see config.ts and the README's table): PORT, HOST, WX_APPID, WX_SECRET, JWT_SECRET, REDIS_URL,
 * REDIS_CLUSTER_PROXY, REDIS_CLUSTER_NODES, REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_PASSWORD, STORE, SQLITE_PATH, DATABASE_URL (users in MySQL/MariaDB or PostgreSQL), SESSION_MAX_SECONDS, WX_LEGACY_PHONE,
 * WX_API_BASE, TOKEN_TTL_SECONDS, REFRESH_TTL_SECONDS, WX_ACCESS_TOKEN_MODE, TRUST_PROXY, NODE_ENV,
 * WEAPP_AUTH_DEV_ENDPOINTS, UPLOAD_DIR, PUBLIC_URL, AVATAR_MAX_BYTES (avatar upload), METRICS_PORT,
 * METRICS_HOST (Prometheus metrics on a listener of their own, metrics.ts), and the other hosts'
 * QQ_*, DOUYIN_*, ALIPAY_* (providers/from-env.ts).
 *
 * - Wrong settings: one line on stderr naming every missing or wrong variable, exit code 1. The
 *   Redis addresses are also checked against the servers at start (at most REDIS_CHECK_MS each):
 *   a REDIS_URL that is a Cluster node, a cluster node or sentinel list that nothing answers or
 *   that names servers of the wrong kind is one line and exit 1 too.
 * - stdout: JSON lines — one when it listens (`"msg":"listening"`, with `url`, and `metricsUrl`
 *   with METRICS_PORT), one per request. They are written asynchronously (sonic-boom, `sync: false`:
 *   lines that arrive while a write is under way go out together in the next one), so a slow
 *   stdout never blocks requests; what is still buffered is flushed before the process exits.
 * - SIGTERM / SIGINT: stop accepting, let in-flight requests finish (at most 10 s), close the store,
 *   exit 0. A second signal exits 1 at once.
 * - `weapp-auth-server migrate-redis --from … --to-cluster …`: copies a single Redis's data into a
 *   Redis Cluster (migrate-redis-command.ts) instead of serving. Any other argument: exit 1.
 * - JWT_VERIFY_CACHE_SIZE: how many verified access tokens each process remembers (tokens.ts).
 */
import { loadConfig, type ServerConfig } from './config'
import { buildApp } from './app'
import { ConfigError } from './errors'
import { createAuthServer, storeUsers } from './index'
import { migrateSqlUsers, sqlUsers, type SqlUserRepository } from './users-sql'
import { createAvatars } from './avatars'
import { openStore } from './stores/open'
import type { RedisStore } from './stores/redis'
import { checkClusterNodes, checkSentinels } from './stores/redis-probe'
import { providersFromEnv } from './providers/from-env'
import { createMetrics, startMetricsServer, type Metrics, type MetricsServer } from './metrics'
import SonicBoom from 'sonic-boom'
import { migrateRedisCommand } from './migrate-redis-command'

const DRAIN_TIMEOUT_MS = 10_000
/** How long the start-up checks of the Redis addresses wait for each answer. */
const REDIS_CHECK_MS = 3_000

function fatal(message: string): never {
  process.stderr.write(`weapp-auth-server: ${message.replace(/\s*\n\s*/g, ' ')}\n`)
  process.exit(1)
}

async function main(): Promise<void> {
  // Every setting is checked before anything starts, and every problem is reported in one run: the
  // core's (loadConfig) and the other hosts' (QQ_*, DOUYIN_*, ALIPAY_*).
  const problems: string[] = []
  let config: ServerConfig | undefined
  let providers: ReturnType<typeof providersFromEnv> | undefined
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    problems.push(...err.problems)
  }
  try {
    // The same time limit for every host's API calls (UPSTREAM_TIMEOUT_MS, checked with the other settings).
    const upstream = Number(process.env.UPSTREAM_TIMEOUT_MS)
    providers = providersFromEnv(process.env, Number.isInteger(upstream) && upstream >= 100 && upstream <= 60000 ? { timeoutMs: upstream } : {})
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof TypeError)) throw err
    problems.push(err.message)
  }
  if (!config || !providers || problems.length) fatal(new ConfigError(problems).message)
  if (config.trustProxy === true) {
    process.stderr.write(
      'weapp-auth-server: warning: TRUST_PROXY=true believes the leftmost X-Forwarded-For, which any client can write: per-client rate limits can be dodged. Give the proxies\' addresses or CIDRs instead (TRUST_PROXY=127.0.0.1).\n',
    )
  }
  if (config.legacyPhone) {
    process.stderr.write(
      "weapp-auth-server: warning: WX_LEGACY_PHONE=1 reads WeChat's older encrypted phone format, which is only as safe as each user's session_key; the getPhoneNumber code (base library 2.21.2+) cannot be forged.\n",
    )
  }
  if (config.jwtSecretGenerated) {
    process.stderr.write(
      '\n!!! weapp-auth-server: JWT_SECRET is not set; NODE_ENV=development generated a random one.\n' +
        '!!! Every restart logs every user out, and several instances cannot share tokens. Set JWT_SECRET (openssl rand -base64 48).\n\n',
    )
  }

  // The Redis addresses, asked before anything opens: a wrong one stops here, in one line.
  if (config.store.kind === 'redis-cluster' || config.store.kind === 'redis-sentinel') {
    const report =
      config.store.kind === 'redis-cluster'
        ? await checkClusterNodes(config.store.nodes, { timeoutMs: REDIS_CHECK_MS, password: config.store.password })
        : await checkSentinels(config.store.sentinels, config.store.name, { timeoutMs: REDIS_CHECK_MS })
    if (report.problems.length) fatal(new ConfigError(report.problems).message)
    for (const warning of report.warnings) process.stderr.write(`weapp-auth-server: warning: ${warning}\n`)
  }

  let auth
  let store
  let avatars
  let sql: SqlUserRepository | undefined
  // METRICS_PORT: the core's events and WeChat API timings feed the metrics; buildApp the requests.
  const metrics: Metrics | undefined = config.metrics ? createMetrics() : undefined
  try {
    store = openStore(config.store)
    // DATABASE_URL: users in your MySQL/MariaDB or PostgreSQL; tokens and sessions stay in the store.
    if (config.database) sql = sqlUsers({ url: config.database.url })
    const users = sql ?? storeUsers(store)
    avatars = createAvatars({
      dir: config.uploadDir,
      publicUrl: config.publicUrl,
      maxBytes: config.avatarMaxBytes,
      onUploaded: (userId, url) => users.updateUser(userId, { avatarUrl: url }),
    })
    const uploads = avatars
    auth = createAuthServer({
      appid: config.appid,
      secret: config.secret,
      ...(config.moreApps ? { apps: config.moreApps } : {}),
      jwt: { secret: config.jwtSecret, ...(config.verifyCacheSize !== undefined ? { verifyCacheSize: config.verifyCacheSize } : {}) },
      store,
      users,
      wxApiBase: config.wxApiBase,
      ...(config.upstreamTimeoutMs ? { upstreamTimeoutMs: config.upstreamTimeoutMs } : {}),
      accessTokenMode: config.accessTokenMode,
      tokenTtlSeconds: config.tokenTtlSeconds,
      refreshTtlSeconds: config.refreshTtlSeconds,
      sessionMaxSeconds: config.sessionMaxSeconds,
      legacyPhone: config.legacyPhone,
      // The dev endpoints expire access tokens server-side: that needs the revocation check.
      revocation: config.devEndpoints,
      // Other hosts' code exchanges, from QQ_*, DOUYIN_*, ALIPAY_* (absent: WeChat only).
      providers,
      // Deleting an account deletes its avatars too.
      onUserDeleted: async (userId) => void (await uploads.deleteAvatarsOf(userId)),
      ...(metrics ? { onEvent: (event) => metrics.onEvent(event), fetch: metrics.timedFetch() } : {}),
    })
  } catch (err) {
    if (err instanceof ConfigError || err instanceof TypeError) fatal(err.message)
    throw err
  }

  if (sql && config.database) {
    // Creates the users' tables when missing (idempotent; several instances may start at once).
    try {
      await migrateSqlUsers(sql)
    } catch (err) {
      await auth.close().catch(() => undefined)
      await sql.close().catch(() => undefined)
      await store.close().catch(() => undefined)
      fatal(`cannot prepare the users' tables in DATABASE_URL (${describeDatabase(config.database.url)}): ${(err as Error).message || String(err)}`)
    }
  }

  if (store.kind === 'redis') {
    const redis = store as RedisStore
    // A URL that reaches one node of a cluster would serve that node's slots only (a managed
    // cluster's proxy, REDIS_CLUSTER_PROXY=1, serves them all).
    const proxied = config.store.kind === 'redis' && config.store.clusterProxy === true
    if (redis.mode === 'standalone' && !proxied && (await redis.clusterEnabled().catch(() => null)) === true) {
      await auth.close().catch(() => undefined)
      await sql?.close().catch(() => undefined)
      await store.close().catch(() => undefined)
      fatal('REDIS_URL points at a node of a Redis Cluster, which holds only some of the keys: set REDIS_CLUSTER_NODES=host:port,host:port,… (the cluster\'s nodes) instead of REDIS_URL.')
    }
    await warnIfRedisKeepsNothing(redis)
  }

  // The log lines, without blocking the event loop: one write carries every line queued meanwhile.
  const logs = new SonicBoom({ fd: process.stdout.fd, sync: false })
  // Whatever exits the process (a second signal, a failed start) first writes what is buffered.
  process.on('exit', () => {
    try {
      logs.flushSync()
    } catch {
      // stdout is gone: nothing to write to
    }
  })
  const app = buildApp({ auth, avatars, development: config.development, devEndpoints: config.devEndpoints, trustProxy: config.trustProxy, metrics, log: logs })

  let address: string
  try {
    address = await app.listen({ port: config.port, host: config.host })
  } catch (err) {
    await auth.close().catch(() => undefined)
    await sql?.close().catch(() => undefined)
    await store.close().catch(() => undefined)
    fatal(`cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`)
  }
  // The metrics' own listener (never the public port): GET /metrics only.
  let metricsServer: MetricsServer | undefined
  if (metrics && config.metrics) {
    try {
      metricsServer = await startMetricsServer(metrics, config.metrics)
    } catch (err) {
      await app.close().catch(() => undefined)
      await auth.close().catch(() => undefined)
      await sql?.close().catch(() => undefined)
      await store.close().catch(() => undefined)
      fatal(`cannot listen for the metrics on ${config.metrics.host}:${config.metrics.port}: ${(err as Error).message}`)
    }
  }
  const where = config.store.kind === 'sqlite' ? { sqlitePath: config.store.path } : {}
  // Without PUBLIC_URL, POST /api/upload/avatar answers 503 naming it (URLs are never built from the Host header).
  const usersIn = config.database ? { users: `${config.database.dialect} ${describeDatabase(config.database.url)}` } : {}
  const metricsAt = metricsServer ? { metricsUrl: metricsServer.url } : {}
  app.log.info({ url: address, ...metricsAt, store: auth.store.kind, ...where, ...usersIn, devEndpoints: config.devEndpoints, avatarUploads: config.publicUrl ? config.uploadDir : 'off (set PUBLIC_URL)' }, 'listening')

  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) {
      process.stderr.write(`weapp-auth-server: ${signal} again, exiting without waiting\n`)
      process.exit(1)
    }
    stopping = true
    app.log.info({ signal }, 'draining in-flight requests, then closing')
    const timer = setTimeout(() => {
      process.stderr.write(`weapp-auth-server: in-flight requests still running after ${DRAIN_TIMEOUT_MS} ms, exiting\n`)
      process.exit(1)
    }, DRAIN_TIMEOUT_MS)
    timer.unref()
    app
      .close()
      .then(() => metricsServer?.close())
      .then(() => auth.close())
      .then(() => store.close())
      .then(() => sql?.close())
      .then(
        () => {
          app.log.info('closed')
          // Every log line out before exiting: end() waits for the write under way, then writes the rest.
          logs.once('close', () => process.exit(0))
          logs.end()
        },
        (err: Error) => {
          process.stderr.write(`weapp-auth-server: error while closing: ${err.message}\n`)
          process.exit(1)
        },
      )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

/** host:port/database of a DATABASE_URL, never its user or password. */
function describeDatabase(url: string): string {
  try {
    const u = new URL(url)
    return `${u.host}${u.pathname}`
  } catch {
    return 'unparsable URL'
  }
}

/** One line on stderr when Redis keeps nothing on disk (CONFIG GET allowed, no AOF and no RDB). */
async function warnIfRedisKeepsNothing(store: RedisStore): Promise<void> {
  const kept = await store.persistence().catch(() => null)
  if (kept && !kept.aof && !kept.rdb) {
    process.stderr.write(
      'weapp-auth-server: warning: Redis persists nothing (appendonly no, save ""): a Redis restart loses every user and session. Set appendonly yes in production.\n',
    )
  }
}

const command = process.argv[2]
if (command === 'migrate-redis') {
  void migrateRedisCommand(process.argv.slice(3), process.env, (line) => process.stdout.write(`${line}\n`), (line) => process.stderr.write(`${line}\n`)).then((code) => process.exit(code))
} else if (command !== undefined) {
  fatal(`unknown command ${JSON.stringify(command.slice(0, 40))}: the server is configured by environment variables and takes no arguments; the one command is migrate-redis`)
} else {
  main().catch((err: Error) => fatal(`could not start: ${err && err.message ? err.message : String(err)}`))
}
