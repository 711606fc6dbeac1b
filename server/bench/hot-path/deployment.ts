/**
 * One deployment for the hot-path benchmark, all on loopback: a store (each process's own memory,
 * one SQLite file shared by every process, one real Redis, or a real Redis Cluster of 3 masters
 * and 3 replicas), the fake WeChat API as its own process, N processes of the ready-made server
 * (dist/bin.js), and N processes of the hand-written reference route (reference-server.ts).
 *
 * Every server process has its own port; the load generator spreads its connections evenly over
 * them (no node:cluster, no proxy in between). The bins' JSON log lines go to a file each, as they
 * would to a log collector: the load generator never reads them.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as os from 'node:os'
import * as path from 'node:path'
import { freePort, terminate, track } from '../../test/helpers/processes'
import { startRedis, type RedisHandle } from '../../test/helpers/redis'
import { startRedisCluster, type RedisClusterHandle } from './redis-cluster'

export type StoreKind = 'memory' | 'sqlite' | 'redis' | 'redis-cluster'

const SERVER_ROOT = path.resolve(__dirname, '..', '..')
const REPO_ROOT = path.resolve(SERVER_ROOT, '..')
const APPID = 'wx_bench_app'
const SECRET = 'bench-app-secret'
export const JWT_SECRET = 'bench-jwt-secret-of-at-least-32-bytes-long!!'

/** Users logged in per process (BENCH_USERS): the load cycles through their tokens, as many clients would. */
export const USERS_PER_PROCESS = ((text) => {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new Error(`BENCH_USERS must be a whole number from 1 to 100000, got ${JSON.stringify(text)}`)
  return n
})(process.env.BENCH_USERS || '1000')

export interface Target {
  /** `http://127.0.0.1:<port>` */
  url: string
  /** The access tokens of this process's users (memory: each process knows only its own users). */
  tokens: string[]
  /** The server process's pid (its CPU time is read from /proc). */
  pid: number
}

export interface Deployment {
  store: StoreKind
  processes: number
  /** The bins, one per process. */
  bins: Target[]
  /** The hand-written reference route, one per process, verifying the same tokens. */
  references: Target[]
  stop(): Promise<void>
}

interface Child {
  child: ChildProcess
  exited: Promise<void>
  output(): string
}

const children = new Set<Child>()

function tsxArgs(file: string): string[] {
  const tsx = require.resolve('tsx', { paths: [SERVER_ROOT, REPO_ROOT] })
  return ['--import', 'file://' + tsx.split(path.sep).join('/'), file]
}

function startChild(args: string[], env: Record<string, string>, stdout: 'pipe' | number): Child {
  const child = spawn(process.execPath, args, { cwd: SERVER_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'pipe'] })
  const tracked = track(child)
  const handle = { child, exited: tracked.exited, output: tracked.output }
  children.add(handle)
  void tracked.exited.then(() => children.delete(handle))
  return handle
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, child: Child, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (child.child.exitCode !== null || child.child.signalCode !== null) throw new Error(`${what} exited during start-up:\n${child.output()}`)
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${timeoutMs} ms:\n${child.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function request(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(url, { method, headers: { ...(data ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }))
    })
    req.on('error', reject)
    req.end(data)
  })
}

/** Whether the built server reads REDIS_CLUSTER_NODES (Redis Cluster support). */
export function binSupportsCluster(): boolean {
  const config = path.join(process.env.BENCH_BIN ? path.dirname(path.resolve(process.env.BENCH_BIN)) : path.join(SERVER_ROOT, 'dist'), 'config.js')
  return fs.existsSync(config) && fs.readFileSync(config, 'utf8').includes('REDIS_CLUSTER_NODES')
}

export interface DeployOptions {
  store: StoreKind
  processes: number
  /** Extra node flags for the bins (e.g. --cpu-prof). */
  nodeArgs?: string[]
  /** Without the reference processes (profiling). */
  withoutReference?: boolean
  /** Where the bins' log files go. Default: a temporary folder removed by stop(). */
  logDir?: string
}

export async function deploy(options: DeployOptions): Promise<Deployment> {
  const { store, processes } = options
  // BENCH_BIN: another build of the bin (an older version's dist/bin.js, to compare).
  const bin = process.env.BENCH_BIN ? path.resolve(process.env.BENCH_BIN) : path.join(SERVER_ROOT, 'dist', 'bin.js')
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build -w weapp-auth-server\` first`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-hotpath-'))
  const logDir = options.logDir ?? dir
  const started: Child[] = []
  let redis: RedisHandle | undefined
  let cluster: RedisClusterHandle | undefined
  const stop = async () => {
    await Promise.all(started.map((c) => terminate(c.child, c.exited, 5000)))
    await redis?.stop().catch(() => undefined)
    await cluster?.stop().catch(() => undefined)
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    // The fake WeChat, its own process: any well-formed code logs in (a user per code prefix).
    const fake = startChild(tsxArgs(path.join(SERVER_ROOT, 'src', 'testing', 'fake-wechat-main.ts')), { PORT: '0', WX_APPID: APPID, WX_SECRET: SECRET, FAKE_WECHAT_ACCEPT_ANY_CODE: '1' }, 'pipe')
    started.push(fake)
    const fakeUrl = await waitFor('the fake WeChat', () => /fake wechat: (http:\/\/\S+)/.exec(fake.output())?.[1], fake)

    let storeEnv: Record<string, string>
    if (store === 'memory') storeEnv = { STORE: 'memory' }
    else if (store === 'sqlite') storeEnv = { STORE: 'sqlite', SQLITE_PATH: path.join(dir, 'weapp-auth.db') }
    else if (store === 'redis') {
      redis = await startRedis()
      storeEnv = { REDIS_URL: redis.url }
    } else {
      cluster = await startRedisCluster()
      storeEnv = { REDIS_CLUSTER_NODES: cluster.nodes.join(',') }
    }

    const bins: Target[] = []
    for (let i = 0; i < processes; i++) {
      const port = await freePort()
      const logFile = path.join(logDir, `bin-${store}-${processes}-${i}.log`)
      const fd = fs.openSync(logFile, 'w')
      const child = startChild(
        [...(options.nodeArgs ?? []), bin],
        {
          NODE_ENV: 'production',
          HOST: '127.0.0.1',
          PORT: String(port),
          WX_APPID: APPID,
          WX_SECRET: SECRET,
          JWT_SECRET,
          WX_API_BASE: fakeUrl,
          // The load generator plays the load balancer: each login comes from its own client address.
          TRUST_PROXY: '127.0.0.1',
          ...storeEnv,
        },
        fd,
      )
      fs.closeSync(fd)
      started.push(child)
      const listening = await waitFor(`server #${i}`, () => {
        const line = fs.readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('"msg":"listening"'))
        return line ? (JSON.parse(line) as { store: string }) : undefined
      }, child)
      if (store === 'redis-cluster' && !String(listening.store).startsWith('redis')) throw new Error(`server #${i} does not run on the Redis Cluster (store: ${listening.store})`)
      bins.push({ url: `http://127.0.0.1:${port}`, tokens: [], pid: child.child.pid ?? -1 })
    }

    // USERS_PER_PROCESS users per process, logged in there (memory: each process knows only its
    // own users), 20 logins at a time. Each user's record, as the bin answers it, is what the
    // reference route answers for that user.
    const usersOf: Array<Array<Record<string, unknown>>> = []
    for (const [i, target] of bins.entries()) {
      const users: Array<Record<string, unknown>> = []
      const stamp = Date.now()
      for (let first = 0; first < USERS_PER_PROCESS; first += 20) {
        const batch = Array.from({ length: Math.min(20, USERS_PER_PROCESS - first) }, (_, k) => first + k)
        await Promise.all(
          batch.map(async (n) => {
            const answer = await request(`${target.url}/api/auth/login`, 'POST', { code: `benchuser${i}x${n}-${stamp}` }, { 'x-forwarded-for': `10.9.${n >> 8}.${n & 255}` })
            if (answer.status !== 200) throw new Error(`login on server #${i} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
            target.tokens[n] = answer.body.token
          }),
        )
      }
      for (const token of target.tokens) {
        const me = await request(`${target.url}/api/user/me`, 'GET', undefined, { authorization: `Bearer ${token}` })
        if (me.status !== 200) throw new Error(`GET /api/user/me on server #${i} answered ${me.status}: ${JSON.stringify(me.body)}`)
        users.push(me.body)
      }
      usersOf.push(users)
    }

    const references: Target[] = []
    if (!options.withoutReference) {
      for (let i = 0; i < processes; i++) {
        const usersFile = path.join(dir, `reference-users-${i}.json`)
        fs.writeFileSync(usersFile, JSON.stringify(usersOf[i]))
        const ref = startChild(tsxArgs(path.join(__dirname, 'reference-server.ts')), { PORT: '0', JWT_SECRET, REFERENCE_USERS_FILE: usersFile }, 'pipe')
        started.push(ref)
        const url = await waitFor(`reference #${i}`, () => /reference: (http:\/\/\S+)/.exec(ref.output())?.[1], ref)
        references.push({ url: url.replace(/\/$/, ''), tokens: bins[i].tokens, pid: ref.child.pid ?? -1 })
        for (const [n, token] of bins[i].tokens.entries()) {
          const me = await request(`${url}/api/user/me`, 'GET', undefined, { authorization: `Bearer ${token}` })
          if (me.status !== 200 || JSON.stringify(me.body) !== JSON.stringify(usersOf[i][n])) throw new Error(`the reference route answered ${me.status} ${JSON.stringify(me.body)} for user ${n}`)
        }
      }
    }
    return { store, processes, bins, references, stop }
  } catch (err) {
    await stop().catch(() => undefined)
    throw err
  }
}

/** Ends every child this module started (a failed or interrupted run). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => terminate(c.child, c.exited, 2000)))
}
