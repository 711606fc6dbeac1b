/**
 * Start-up checks of the Redis addresses the ready-made server is given, so a wrong one is one
 * clear line and exit 1 instead of a server that answers 503 forever: each listed cluster node or
 * sentinel is asked once, in parallel, on its own short-lived connection, bounded by `timeoutMs`
 * (an unreachable address never hangs the start).
 *
 * - `checkClusterNodes`: every reachable entry must be a Cluster node (`INFO cluster` →
 *   `cluster_enabled:1`); at least one must answer. Entries that do not answer while others do
 *   are reported as warnings: a node may be down while its replica takes over, and ioredis needs
 *   only one node to learn the others.
 * - `checkSentinels`: every reachable entry must be a sentinel that knows the master `name`; at
 *   least one must answer.
 */
import Redis from 'ioredis'
import type { RedisAddress } from './redis'

export interface ProbeReport {
  /** Wrong settings: one sentence each. Empty when the addresses are usable. */
  problems: string[]
  /** Addresses that did not answer while others did. */
  warnings: string[]
}

type Answer = { ok: true; value: unknown } | { ok: false; reason: string }

async function ask(address: RedisAddress, timeoutMs: number, password: string | undefined, args: string[]): Promise<Answer> {
  const client = new Redis({
    host: address.host,
    port: address.port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    ...(password ? { password } : {}),
  })
  // The connection's own error (ECONNREFUSED, ENOTFOUND…) says more than the rejected call.
  let lastError: Error | undefined
  client.on('error', (err: Error) => (lastError = err))
  let timer: NodeJS.Timeout | undefined
  try {
    const answer = (async (): Promise<Answer> => {
      await client.connect()
      return { ok: true, value: await client.call(args[0], ...args.slice(1)) }
    })()
    const late = new Promise<Answer>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs)
    })
    const failed = (err: Error): Answer => ({ ok: false, reason: (/Connection is closed/.test(err.message) && lastError ? lastError.message : err.message) || String(err) })
    return await Promise.race([answer.catch(failed), late])
  } finally {
    clearTimeout(timer)
    client.disconnect()
  }
}

const at = (a: RedisAddress) => `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`

/** An error that means the server answered (so it is reachable) but refused the command. */
const refused = (reason: string) => /^(ERR|NOAUTH|WRONGPASS|NOPERM)|unknown command/i.test(reason)

export async function checkClusterNodes(nodes: RedisAddress[], options: { timeoutMs: number; password?: string }): Promise<ProbeReport> {
  const answers = await Promise.all(nodes.map((node) => ask(node, options.timeoutMs, options.password, ['INFO', 'cluster'])))
  const problems: string[] = []
  const down: string[] = []
  answers.forEach((answer, i) => {
    const node = at(nodes[i])
    if (answer.ok) {
      if (!/cluster_enabled:1/.test(String(answer.value))) {
        problems.push(`REDIS_CLUSTER_NODES lists ${node}, which is not a Redis Cluster node (cluster_enabled:0): for one Redis, set REDIS_URL=redis://${node} instead.`)
      }
    } else if (refused(answer.reason)) {
      problems.push(`REDIS_CLUSTER_NODES lists ${node}, which refused INFO: ${answer.reason.split('\n')[0]}${/NOAUTH|WRONGPASS/.test(answer.reason) ? ' (REDIS_PASSWORD)' : ''}.`)
    } else {
      down.push(`${node} (${answer.reason})`)
    }
  })
  if (down.length === nodes.length) return { problems: [`REDIS_CLUSTER_NODES: no node answered: ${down.join('; ')}.`, ...problems], warnings: [] }
  return { problems, warnings: down.map((d) => `REDIS_CLUSTER_NODES lists ${d}, which did not answer; starting with the others`) }
}

export async function checkSentinels(sentinels: RedisAddress[], name: string, options: { timeoutMs: number }): Promise<ProbeReport> {
  const answers = await Promise.all(sentinels.map((s) => ask(s, options.timeoutMs, undefined, ['SENTINEL', 'get-master-addr-by-name', name])))
  const problems: string[] = []
  const down: string[] = []
  answers.forEach((answer, i) => {
    const sentinel = at(sentinels[i])
    if (answer.ok) {
      if (answer.value === null) problems.push(`REDIS_SENTINELS: the sentinel at ${sentinel} monitors no master named ${JSON.stringify(name)} (REDIS_SENTINEL_NAME).`)
    } else if (refused(answer.reason)) {
      problems.push(`REDIS_SENTINELS lists ${sentinel}, which is not a sentinel (${answer.reason.split('\n')[0]}).`)
    } else {
      down.push(`${sentinel} (${answer.reason})`)
    }
  })
  if (down.length === sentinels.length) return { problems: [`REDIS_SENTINELS: no sentinel answered: ${down.join('; ')}.`, ...problems], warnings: [] }
  return { problems, warnings: down.map((d) => `REDIS_SENTINELS lists ${d}, which did not answer; starting with the others`) }
}
