/**
 * Real Redis Cluster and Sentinel setups for tests, each node a `redis-server` child on a free
 * 127.0.0.1 port in its own temporary folder (its cwd, where nodes.conf / sentinel.conf live):
 *
 * - `startRedisCluster({ masters, replicas })`: `--cluster-enabled yes` nodes joined by
 *   `redis-cli --cluster create … --cluster-replicas N --cluster-yes`, ready once every node says
 *   `cluster_state:ok`. Node timeout 1000 ms, so a killed master's replica is promoted in a few
 *   seconds. `fullCoverage: false` keeps the other slots served while a master with no replica is
 *   down (`cluster-require-full-coverage no`); `persistent: true` keeps each node's data in an
 *   append-only file (fsync always), so a node killed and started again comes back with its keys.
 * - `startRedisSentinel()`: one master, one replica and three sentinels (quorum 2, down after
 *   1000 ms, failover timeout 3000 ms), ready once the sentinels know the replica and each other.
 *
 * Every child is SIGKILLed when this process exits (processes.ts); `stop()` ends them and removes
 * the folders. Like redis.ts, nothing here imports jest.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import Redis from 'ioredis'
import { freePort, terminate, track } from './processes'
import { redisCommand } from './redis'

const HOST = '127.0.0.1'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function redisBinary(): string {
  return process.env.REDIS_SERVER_BIN || 'redis-server'
}

function redisCli(): string {
  return process.env.REDIS_CLI_BIN || 'redis-cli'
}

/** One redis-server child; `start()` again reuses its port and folder. */
export interface RedisNode {
  readonly port: number
  /** `127.0.0.1:<port>` */
  readonly address: string
  readonly alive: boolean
  /** SIGKILL by default (a crash); 'SIGTERM' for a clean stop. */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>
  /** Starts it again on the same port, in the same folder (cluster: it rejoins with its nodes.conf). */
  start(): Promise<void>
  /** SIGSTOP: alive but answering nothing (and replicating nothing). */
  pause(): void
  /** SIGCONT: undoes `pause()`. */
  resume(): void
  output(): string
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      if (await check()) return
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`)
    await sleep(50)
  }
}

function makeNode(port: number, dir: string, args: string[]): RedisNode {
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let output = () => ''
  const node: RedisNode = {
    port,
    address: `${HOST}:${port}`,
    get alive() {
      return child !== undefined && child.exitCode === null && child.signalCode === null
    },
    async start() {
      if (node.alive) return
      const spawned = spawn(redisBinary(), args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
      child = spawned
      const tracked = track(spawned)
      exited = tracked.exited
      output = tracked.output
      let failed: Error | undefined
      spawned.once('error', (err) => (failed = err))
      await until(`redis-server on port ${port}`, 10000, async () => {
        if (failed) throw new Error(`could not start ${redisBinary()}: ${failed.message}`)
        if (spawned.exitCode !== null) throw new Error(`redis-server on port ${port} exited: ${output()}`)
        return (await redisCommand(port, ['PING'], 500)) === '+PONG'
      })
    },
    async stop(signal = 'SIGKILL') {
      const c = child
      if (!c || !node.alive) return
      if (signal === 'SIGKILL') {
        c.kill('SIGKILL')
        await exited
      } else {
        await terminate(c, exited, 2000)
      }
    },
    pause() {
      child?.kill('SIGSTOP')
    },
    resume() {
      child?.kill('SIGCONT')
    },
    output: () => output(),
  }
  return node
}

/** Runs one command on a node through a short-lived ioredis connection; answers its reply. */
export async function ask(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    return await client.call(args[0], ...args.slice(1))
  } finally {
    client.disconnect()
  }
}

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < n) ports.add(await freePort())
  return [...ports]
}

// ---------------------------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------------------------

export interface RedisClusterOptions {
  /** Default 3. */
  masters?: number
  /** Replicas per master. Default 1. */
  replicas?: number
  /** cluster-require-full-coverage. Default true (Redis' default). */
  fullCoverage?: boolean
  /** Keep each node's data across its restart (AOF, fsync always). Default false. */
  persistent?: boolean
}

export interface RedisClusterHandle {
  readonly nodes: readonly RedisNode[]
  /** `host:port,host:port,…` of every node, as REDIS_CLUSTER_NODES takes it. */
  readonly addresses: string
  readonly seeds: Array<{ host: string; port: number }>
  /** The node that serves `key`'s slot now (asked of a live node). */
  masterFor(key: string): Promise<RedisNode>
  /** The live node replicating `master`, if any. */
  replicaOf(master: RedisNode): Promise<RedisNode | undefined>
  /** Until the live replica of `master` has every write the master acknowledged so far. */
  waitReplicated(master: RedisNode, timeoutMs?: number): Promise<void>
  /** Until every live node says cluster_state:ok and every slot is served by a live master. */
  waitHealthy(timeoutMs?: number): Promise<void>
  /** FLUSHALL on every live master. */
  flushAll(): Promise<void>
  stop(): Promise<void>
}

interface SlotRange {
  from: number
  to: number
  master: number
  replicas: number[]
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3
  const replicas = options.replicas ?? 1
  const count = masters * (1 + replicas)
  const ports = await freePorts(count)
  const dirs: string[] = []
  const nodes: RedisNode[] = []
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')))
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `weapp-auth-redis-cluster-${port}-`))
      dirs.push(dir)
      const args = [
        '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
        '--cluster-node-timeout', '1000', '--cluster-require-full-coverage', options.fullCoverage === false ? 'no' : 'yes',
        '--save', '', '--dir', dir, '--loglevel', 'warning', '--daemonize', 'no',
        ...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      ]
      nodes.push(makeNode(port, dir, args))
    }
    await Promise.all(nodes.map((n) => n.start()))
    await new Promise<void>((resolve, reject) => {
      execFile(
        redisCli(),
        ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(replicas), '--cluster-yes'],
        { timeout: 30000 },
        (err, stdout, stderr) => (err ? reject(new Error(`redis-cli --cluster create failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve()),
      )
    })
  } catch (err) {
    await stop()
    throw err
  }

  const live = () => nodes.filter((n) => n.alive)
  async function slots(): Promise<SlotRange[]> {
    let last: unknown
    for (const node of live()) {
      try {
        const reply = (await ask(node.port, 'CLUSTER', 'SLOTS')) as Array<[number, number, [string, number], ...Array<[string, number]>]>
        return reply.map(([from, to, master, ...rest]) => ({ from, to, master: Number(master[1]), replicas: rest.map((r) => Number(r[1])) }))
      } catch (err) {
        last = err
      }
    }
    throw new Error(`no live node answered CLUSTER SLOTS: ${(last as Error)?.message}`)
  }
  const byPort = (port: number) => nodes.find((n) => n.port === port)

  const handle: RedisClusterHandle = {
    nodes,
    addresses: nodes.map((n) => n.address).join(','),
    seeds: nodes.map((n) => ({ host: HOST, port: n.port })),
    async masterFor(key) {
      const slot = Number(await ask(live()[0].port, 'CLUSTER', 'KEYSLOT', key))
      const range = (await slots()).find((r) => r.from <= slot && slot <= r.to)
      const node = range && byPort(range.master)
      if (!node) throw new Error(`no master serves slot ${slot}`)
      return node
    },
    async replicaOf(master) {
      const range = (await slots()).find((r) => r.master === master.port)
      return range?.replicas.map(byPort).find((n) => n?.alive)
    },
    async waitReplicated(master, timeoutMs = 10000) {
      const replica = await handle.replicaOf(master)
      if (!replica) throw new Error(`no live replica of ${master.address}`)
      const offset = (info: string, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1] ?? -1)
      const target = offset(String(await ask(master.port, 'INFO', 'replication')), 'master_repl_offset')
      await until(`replica ${replica.address} in sync`, timeoutMs, async () => offset(String(await ask(replica.port, 'INFO', 'replication')), 'slave_repl_offset') >= target)
    },
    async waitHealthy(timeoutMs = 20000) {
      await until('cluster healthy', timeoutMs, async () => {
        for (const node of live()) {
          const info = String(await ask(node.port, 'CLUSTER', 'INFO'))
          if (!/cluster_state:ok/.test(info)) return false
        }
        const ranges = await slots()
        const covered = ranges.reduce((n, r) => n + (r.to - r.from + 1), 0)
        return covered === 16384 && ranges.every((r) => byPort(r.master)?.alive)
      })
    },
    async flushAll() {
      const ranges = await slots()
      await Promise.all([...new Set(ranges.map((r) => r.master))].map((port) => ask(port, 'FLUSHALL')))
    },
    stop,
  }
  try {
    await handle.waitHealthy()
    // Every replica has synced once, so a failover has something to promote.
    if (replicas > 0) {
      await until('replicas in sync', 20000, async () => {
        for (const node of live()) {
          const info = String(await ask(node.port, 'INFO', 'replication'))
          if (/role:slave/.test(info) && !/master_link_status:up/.test(info)) return false
        }
        return true
      })
    }
  } catch (err) {
    await stop()
    throw err
  }
  return handle
}

// ---------------------------------------------------------------------------------------------
// Sentinel
// ---------------------------------------------------------------------------------------------

export interface RedisSentinelHandle {
  /** The name the sentinels monitor. */
  readonly name: string
  readonly master: RedisNode
  readonly replica: RedisNode
  readonly sentinels: readonly RedisNode[]
  /** `host:port,…` of the sentinels, as REDIS_SENTINELS takes it. */
  readonly addresses: string
  readonly seeds: Array<{ host: string; port: number }>
  /** The port the sentinels name as the master now. */
  currentMaster(): Promise<number>
  stop(): Promise<void>
}

export async function startRedisSentinel(name = 'weapp-auth-test'): Promise<RedisSentinelHandle> {
  const [masterPort, replicaPort, ...sentinelPorts] = await freePorts(5)
  const dirs: string[] = []
  const all: RedisNode[] = []
  const folder = (label: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `weapp-auth-sentinel-${label}-`))
    dirs.push(dir)
    return dir
  }
  const data = (port: number, extra: string[]) => {
    const dir = folder(String(port))
    return makeNode(port, dir, ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning', '--daemonize', 'no', ...extra])
  }
  const master = data(masterPort, [])
  const replica = data(replicaPort, ['--replicaof', HOST, String(masterPort)])
  const sentinels = sentinelPorts.map((port) => {
    const dir = folder(`s${port}`)
    const conf = path.join(dir, 'sentinel.conf')
    fs.writeFileSync(
      conf,
      [
        `port ${port}`,
        `bind ${HOST}`,
        'daemonize no',
        `dir ${dir}`,
        'loglevel warning',
        `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 3000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    )
    return makeNode(port, dir, [conf, '--sentinel'])
  })
  all.push(master, replica, ...sentinels)
  const stop = async () => {
    await Promise.all(all.map((n) => n.stop('SIGKILL')))
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    await master.start()
    await replica.start()
    await Promise.all(sentinels.map((s) => s.start()))
    // Ready when the replica is in sync and every sentinel knows it and the two other sentinels.
    await until('sentinel setup ready', 30000, async () => {
      if (!/master_link_status:up/.test(String(await ask(replicaPort, 'INFO', 'replication')))) return false
      for (const s of sentinels) {
        const known = (await ask(s.port, 'SENTINEL', 'REPLICAS', name)) as unknown[]
        const peers = (await ask(s.port, 'SENTINEL', 'SENTINELS', name)) as unknown[]
        if (known.length < 1 || peers.length < 2) return false
      }
      return true
    })
  } catch (err) {
    await stop()
    throw err
  }
  return {
    name,
    master,
    replica,
    sentinels,
    addresses: sentinels.map((s) => s.address).join(','),
    seeds: sentinels.map((s) => ({ host: HOST, port: s.port })),
    async currentMaster() {
      for (const s of sentinels.filter((n) => n.alive)) {
        try {
          const reply = (await ask(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string] | null
          if (reply) return Number(reply[1])
        } catch {
          // try the next sentinel
        }
      }
      throw new Error('no sentinel names a master')
    },
    stop,
  }
}
