/**
 * `weapp-auth-server migrate-redis`: moving from one Redis to a Redis Cluster without losing a
 * user. The cluster keeps its keys under other names (hash tags), so a server pointed at a new
 * cluster starts empty; this command copies the single Redis's data into the cluster layout
 * (stores/redis-migrate.ts), the generation included, so every user keeps their id and every
 * token already issued stays valid.
 *
 *   weapp-auth-server migrate-redis --from redis://old-host:6379 --to-cluster host:port,host:port,…
 *   weapp-auth-server migrate-redis --from redis://old-host:6379 --to redis://proxy-host:6379
 *
 * `--to`: a managed cluster edition reached through its proxy (the servers then run with
 * REDIS_CLUSTER_PROXY=1). REDIS_PASSWORD: the cluster nodes' password (with `--to`, put it in the
 * URL). `--prefix` (default `weapp-auth:`), `--ignore-clients` (other clients on the source are
 * monitoring tools, not servers). Stop every server first. One line on stdout when done (exit 0),
 * one line on stderr naming the problem otherwise (exit 1).
 */
import Redis, { Cluster } from 'ioredis'
import { addressList } from './config'
import { ConfigError } from './errors'
import { migrateRedisToClusterLayout, RedisMigrationError } from './stores/redis-migrate'
import { redacted } from './stores/redis'

const USAGE = 'usage: weapp-auth-server migrate-redis --from redis://host:port (--to-cluster host:port,… | --to redis://proxy:port) [--prefix weapp-auth:] [--ignore-clients]'
const CONNECT_TIMEOUT_MS = 5000

interface Args {
  from: string
  toCluster?: string
  to?: string
  prefix?: string
  ignoreClients: boolean
}

function parseArgs(argv: string[]): Args {
  const values = new Map<string, string>()
  let ignoreClients = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--ignore-clients') {
      ignoreClients = true
      continue
    }
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    if (!['--from', '--to-cluster', '--to', '--prefix'].includes(name)) throw new ConfigError(`unknown argument ${JSON.stringify(arg.slice(0, 40))}; ${USAGE}`)
    const value = inline ?? argv[++i]
    if (value === undefined || value === '' || value.startsWith('--')) throw new ConfigError(`${name} needs a value; ${USAGE}`)
    if (values.has(name)) throw new ConfigError(`${name} is given twice`)
    values.set(name, value)
  }
  const from = values.get('--from')
  if (!from) throw new ConfigError(`--from is required; ${USAGE}`)
  if (values.has('--to-cluster') === values.has('--to')) throw new ConfigError(`give one of --to-cluster and --to; ${USAGE}`)
  return { from, toCluster: values.get('--to-cluster'), to: values.get('--to'), prefix: values.get('--prefix'), ignoreClients }
}

function redisUrl(name: string, raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`${name} must be a redis:// or rediss:// URL, got ${JSON.stringify(redacted(raw).slice(0, 80))}`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ConfigError(`${name} must be a redis:// or rediss:// URL, got ${url.protocol}//`)
  return raw
}

/** Runs the command; answers the exit code. `out`/`err` take one line each. */
export async function migrateRedisCommand(argv: string[], env: NodeJS.ProcessEnv, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  let from: Redis | undefined
  let to: Redis | Cluster | undefined
  try {
    const args = parseArgs(argv)
    const fromUrl = redisUrl('--from', args.from)
    const nodes = args.toCluster !== undefined ? addressList('--to-cluster', args.toCluster) : undefined
    const toUrl = args.to !== undefined ? redisUrl('--to', args.to) : undefined
    if (toUrl !== undefined && new URL(toUrl).host === new URL(fromUrl).host) throw new ConfigError('--from and --to name the same Redis')
    const once = { lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: 0, connectTimeout: CONNECT_TIMEOUT_MS, commandTimeout: 60_000, retryStrategy: () => null }
    from = new Redis(fromUrl, once)
    from.on('error', () => undefined)
    await from.connect().catch((e: Error) => Promise.reject(new RedisMigrationError(`cannot reach the source ${redacted(fromUrl)}: ${e.message}`)))
    let where: string
    if (nodes) {
      where = `the Redis Cluster at ${args.toCluster}`
      const password = env.REDIS_PASSWORD || undefined
      to = new Cluster(nodes, { lazyConnect: true, clusterRetryStrategy: () => null, enableReadyCheck: true, redisOptions: { ...once, ...(password ? { password } : {}) } })
      to.on('error', () => undefined)
      await to.connect().catch((e: Error) => Promise.reject(new RedisMigrationError(`cannot reach ${where}: ${e.message}`)))
    } else {
      where = redacted(toUrl as string)
      to = new Redis(toUrl as string, once)
      to.on('error', () => undefined)
      await to.connect().catch((e: Error) => Promise.reject(new RedisMigrationError(`cannot reach the target ${where}: ${e.message}`)))
    }
    const started = Date.now()
    const result = await migrateRedisToClusterLayout({ from, to, ...(args.prefix !== undefined ? { prefix: args.prefix } : {}), ignoreClients: args.ignoreClients })
    const kinds = Object.entries(result.byKind)
      .sort((a, b) => b[1] - a[1])
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ')
    const next = nodes ? `REDIS_CLUSTER_NODES=${args.toCluster}` : `REDIS_URL=${where} REDIS_CLUSTER_PROXY=1`
    out(
      `weapp-auth-server migrate-redis: ${result.resumed ? 'finished an earlier copy: ' : ''}${result.written} keys written to ${where} in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(${kinds}${result.expired ? `; ${result.expired} expired during the copy` : ''}). The generation ${result.generation} is kept: users keep their ids and issued tokens stay valid. ` +
        `Start the servers with ${next}.`,
    )
    return 0
  } catch (e) {
    if (e instanceof ConfigError || e instanceof RedisMigrationError) err(`weapp-auth-server migrate-redis: ${e.message.replace(/\s*\n\s*/g, ' ')}`)
    else err(`weapp-auth-server migrate-redis: failed: ${e instanceof Error ? e.message : String(e)} (nothing is lost in the source; run again to resume)`)
    return 1
  } finally {
    from?.disconnect()
    to?.disconnect()
  }
}
