/**
 * A whole multi-instance deployment on loopback, for the multi-instance test and benchmark:
 * one store (a real Redis from `startRedis()` by default; a real Redis Cluster or Sentinel setup
 * from redis-topologies.ts; or one SQLite file in a temporary
 * folder, as several processes on one machine share it; or each process's own memory), the fake
 * WeChat API as its own process, and N processes of the runnable server (`dist/bin.js`, or
 * `src/bin.ts` through tsx when dist is missing or older than src), all sharing that store. `cluster.client` spreads calls round-robin over the live
 * instances; `instance.kill()` / `instance.restart()` take one down and bring it back on the same
 * port; `cluster.stop()` ends every process it started. Children are also SIGKILLed when this
 * process exits (a failed test, a jest timeout, Ctrl-C in the bench), so nothing is left running.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as os from 'node:os'
import * as path from 'node:path'
import type { FakeWechatCalls } from '../../src/testing/fake-wechat'
import { startRedis, type RedisHandle } from './redis'
import { startRedisCluster, startRedisSentinel, type RedisClusterHandle, type RedisClusterOptions, type RedisSentinelHandle } from './redis-topologies'

const SERVER_ROOT = path.resolve(__dirname, '..', '..')
const REPO_ROOT = path.resolve(SERVER_ROOT, '..')

// ---------------------------------------------------------------------------------------------
// child processes
// ---------------------------------------------------------------------------------------------

/** Every child this module started and has not seen exit; SIGKILLed when this process exits. */
const live = new Set<ChildProcess>()
let exitHookInstalled = false
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL')
      } catch {
        // already gone
      }
    }
  })
}

export type Runtime = 'dist' | 'tsx'

/** `dist` when dist/bin.js exists and is newer than every file under src/, else `tsx`. */
export function pickRuntime(): Runtime {
  const bin = path.join(SERVER_ROOT, 'dist', 'bin.js')
  if (!fs.existsSync(bin)) return 'tsx'
  const built = fs.statSync(bin).mtimeMs
  const newest = newestMtime(path.join(SERVER_ROOT, 'src'))
  return newest <= built ? 'dist' : 'tsx'
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs)
  }
  return newest
}

/** The node argv that runs `src/<entry>.ts` (tsx) or `dist/<entry>.js`. */
export function entryArgs(runtime: Runtime, entry: string): string[] {
  if (runtime === 'dist') {
    const file = path.join(SERVER_ROOT, 'dist', `${entry}.js`)
    if (!fs.existsSync(file)) throw new Error(`cluster: ${file} is missing; run \`npm run build -w weapp-auth-server\``)
    return [file]
  }
  const tsx = require.resolve('tsx', { paths: [SERVER_ROOT, REPO_ROOT] })
  return ['--import', pathToImportSpecifier(tsx), path.join(SERVER_ROOT, 'src', `${entry}.ts`)]
}

function pathToImportSpecifier(file: string): string {
  return 'file://' + file.split(path.sep).join('/')
}

export interface ManagedProcess {
  readonly name: string
  readonly pid: number
  /** The last lines it wrote (stdout and stderr), for failure messages. */
  output(): string
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal?: NodeJS.Signals): Promise<void>
}

/**
 * Spawns `node <args>` and resolves once a stdout line matches `ready` (giving its first capture
 * group), or rejects with its output if it exits first or takes longer than `timeoutMs`.
 */
function spawnNode(
  name: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs: number,
): Promise<{ proc: ManagedProcess; match: string }> {
  installExitHook()
  const child = spawn(process.execPath, args, {
    cwd: SERVER_ROOT,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(child)
  const lines: string[] = []
  const keep = (line: string) => {
    lines.push(line)
    if (lines.length > 60) lines.shift()
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child)
      keep(`[${name} exited: ${signal ?? `code ${code}`}]`)
      resolve({ code, signal })
    })
  })
  const proc: ManagedProcess = {
    name,
    pid: child.pid ?? -1,
    output: () => lines.join('\n'),
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
  return new Promise((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => {
      fail(new Error(`cluster: ${name} did not print ${ready} within ${timeoutMs} ms; its output:\n${proc.output()}`))
    }, timeoutMs)
    const fail = (err: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(err)
    }
    const onLine = (stream: 'out' | 'err') => {
      let buffered = ''
      return (chunk: Buffer) => {
        buffered += chunk.toString('utf8')
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl)
          buffered = buffered.slice(nl + 1)
          keep(stream === 'err' ? `[stderr] ${line}` : line)
          if (!settled && stream === 'out') {
            const m = ready.exec(line)
            if (m) {
              settled = true
              clearTimeout(timer)
              resolve({ proc, match: m[1] })
            }
          }
        }
      }
    }
    child.stdout!.on('data', onLine('out'))
    child.stderr!.on('data', onLine('err'))
    child.once('error', (err) => fail(new Error(`cluster: could not start ${name}: ${err.message}`)))
    void exited.then(({ code, signal }) =>
      fail(new Error(`cluster: ${name} exited (${signal ?? code}) before it was ready; its output:\n${proc.output()}`)),
    )
  })
}

// ---------------------------------------------------------------------------------------------
// JSON over HTTP (node:http, one keep-alive agent per target)
// ---------------------------------------------------------------------------------------------

export interface HttpAnswer<T = any> {
  status: number
  body: T
  /** Milliseconds from send to the full answer. */
  ms: number
}

/** A call that never got an HTTP answer. `refused`: it never reached a server, so any retry is safe. */
export class ConnectionError extends Error {
  readonly errno: string
  readonly refused: boolean
  constructor(target: string, errno: string, message: string) {
    super(`${target}: ${errno} ${message}`)
    this.name = 'ConnectionError'
    this.errno = errno
    this.refused = errno === 'ECONNREFUSED'
  }
}

function httpJson<T>(
  agent: http.Agent,
  baseUrl: string,
  method: string,
  urlPath: string,
  options: { body?: unknown; token?: string; forwardedFor?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer<T>> {
  const url = new URL(urlPath, baseUrl)
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
  const headers: Record<string, string> = { accept: 'application/json' }
  if (payload) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(payload.length)
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.forwardedFor) headers['x-forwarded-for'] = options.forwardedFor
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, method, path: url.pathname + url.search, headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', (err) => reject(new ConnectionError(baseUrl, (err as NodeJS.ErrnoException).code ?? 'ERR', err.message)))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let body: unknown = text
          if (text && /json/.test(String(res.headers['content-type']))) {
            try {
              body = JSON.parse(text)
            } catch {
              body = text
            }
          }
          resolve({ status: res.statusCode ?? 0, body: body as T, ms: performance.now() - started })
        })
      },
    )
    req.setTimeout(options.timeoutMs ?? 15000, () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })))
    req.on('error', (err: NodeJS.ErrnoException) => reject(new ConnectionError(baseUrl, err.code ?? 'ERR', err.message)))
    req.end(payload)
  })
}

// ---------------------------------------------------------------------------------------------
// the fake WeChat process
// ---------------------------------------------------------------------------------------------

/** The fake's call counts (`GET /__fake/stats`). */
export type FakeStats = FakeWechatCalls & { [api: string]: number }

export interface FakeWechatProcess {
  readonly url: string
  readonly process: ManagedProcess
  /** A fresh single-use login code for `openid`. */
  mintCode(openid: string): Promise<string>
  /** A fresh single-use phone code for `phoneNumber`. */
  mintPhoneCode(phoneNumber: string): Promise<string>
  /** Makes the current access_token invalid: WeChat answers 40001 to it from now on. */
  expireAccessToken(): Promise<void>
  stats(): Promise<FakeStats>
  fault(spec: Record<string, unknown>): Promise<void>
}

async function startFakeWechat(runtime: Runtime, appid: string, secret: string, timeoutMs: number): Promise<FakeWechatProcess> {
  const { proc, match } = await spawnNode(
    'fake-wechat',
    entryArgs(runtime, 'testing/fake-wechat-main'),
    { PORT: '0', WX_APPID: appid, WX_SECRET: secret },
    /fake wechat: (http:\/\/\S+)/,
    timeoutMs,
  )
  const url = match.replace(/\/$/, '')
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  const control = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const answer = await httpJson<T>(agent, url, method, p, { body })
    if (answer.status !== 200) throw new Error(`fake wechat ${method} ${p} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
    return answer.body
  }
  return {
    url,
    process: proc,
    mintCode: async (openid) => (await control<{ code: string }>('POST', '/__fake/codes', { openid })).code,
    mintPhoneCode: async (phoneNumber) => (await control<{ code: string }>('POST', '/__fake/phone-codes', { phoneNumber })).code,
    expireAccessToken: async () => {
      await control('POST', '/__fake/expire-access-token', {})
    },
    stats: () => control<FakeStats>('GET', '/__fake/stats'),
    fault: async (spec) => {
      await control('POST', '/__fake/fault', spec)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// server instances
// ---------------------------------------------------------------------------------------------

export interface ServerInstance {
  readonly index: number
  /** `http://127.0.0.1:<port>`; the same after `restart()`. */
  readonly url: string
  readonly port: number
  readonly pid: number
  /** False from the moment `kill()` is called (or the process died) until `restart()` has it serving again. */
  readonly alive: boolean
  /**
   * SIGKILL by default: no drain, in-flight requests are cut. The client is NOT told: like a load
   * balancer, it finds out from the refused connection and moves that call to the next instance.
   */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Starts it again on the same port (same env); the client sends it calls again. */
  restart(): Promise<void>
  output(): string
}

/** The line the bin prints when it listens; the first URL on it is taken. */
const SERVER_READY = /(http:\/\/(?:127\.0\.0\.1|localhost|\[::1\]|0\.0\.0\.0):\d+)/

class Instance implements ServerInstance {
  alive = false
  url = ''
  port = 0
  private proc: ManagedProcess | undefined
  constructor(
    readonly index: number,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    private readonly timeoutMs: number,
    /** Told when the process dies without `kill()`: a crash the run must not miss. */
    private readonly onCrash: (what: string) => void,
  ) {}
  get pid(): number {
    return this.proc?.pid ?? -1
  }
  async start(port: number): Promise<void> {
    const { proc, match } = await spawnNode(`server #${this.index}`, this.args, { ...this.env, PORT: String(port) }, SERVER_READY, this.timeoutMs)
    this.proc = proc
    const printed = new URL(match)
    this.port = Number(printed.port)
    this.url = `http://127.0.0.1:${this.port}`
    this.alive = true
    void proc.exited.then(({ code, signal }) => {
      if (this.proc !== proc || !this.alive) return
      this.alive = false
      this.onCrash(`server #${this.index} (pid ${proc.pid}) died on its own (${signal ?? `code ${code}`}); its output:\n${proc.output()}`)
    })
  }
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.alive = false
    await this.proc?.kill(signal)
  }
  async restart(): Promise<void> {
    if (this.alive) throw new Error(`cluster: server #${this.index} is still running; kill() it first`)
    await this.start(this.port)
  }
  output(): string {
    return this.proc?.output() ?? ''
  }
}

// ---------------------------------------------------------------------------------------------
// the round-robin client
// ---------------------------------------------------------------------------------------------

export interface CallOptions {
  body?: unknown
  token?: string
  /**
   * The device's address, as the load balancer in front of the instances reports it
   * (`X-Forwarded-For`; the instances run with TRUST_PROXY=127.0.0.1). The login rate limit is per
   * client address, so a crowd of devices needs a crowd of addresses.
   */
  forwardedFor?: string
  /** Send to this instance only (no round robin, no retry elsewhere). */
  instance?: number
  /**
   * Also retry on the next instance when the connection broke after the request was sent (reset,
   * hang-up, timeout). Only for idempotent calls: a login or refresh cut mid-way may have spent
   * its code or token on the dead instance. Refused connections are always retried elsewhere.
   */
  idempotent?: boolean
}

export interface CallResult<T = any> extends HttpAnswer<T> {
  /** The instance that answered. */
  instance: number
  /** Instances tried before it (refused or, for idempotent calls, broken connections). */
  retries: number
}

export interface ClusterClient {
  /**
   * Sends the call to the next instance in turn. A refused connection (the instance is gone)
   * takes that instance out of the rotation, as a load balancer's passive health check does, and
   * sends the same call to the next one; the instance comes back when it runs as a new process.
   */
  call<T = any>(method: 'GET' | 'POST', path: string, options?: CallOptions): Promise<CallResult<T>>
  /** Calls moved to the next instance after a refused (or, when idempotent, broken) connection. */
  readonly retried: number
}

function createClient(instances: Instance[]): ClusterClient {
  const agents = instances.map(() => new http.Agent({ keepAlive: true, maxSockets: 32 }))
  /** index → the pid that refused a connection; skipped while that process is the instance's. */
  const down = new Map<number, number>()
  let next = 0
  let retried = 0
  const pick = (): Instance => {
    for (let i = 0; i < instances.length; i++) {
      const candidate = instances[next++ % instances.length]
      if (down.get(candidate.index) !== candidate.pid) return candidate
    }
    throw new Error('cluster: every instance refuses connections')
  }
  return {
    get retried() {
      return retried
    },
    async call<T>(method: 'GET' | 'POST', urlPath: string, options: CallOptions = {}): Promise<CallResult<T>> {
      if (options.instance !== undefined) {
        const target = instances[options.instance]
        if (!target) throw new Error(`cluster: no instance #${options.instance}`)
        const answer = await httpJson<T>(agents[target.index], target.url, method, urlPath, options)
        return { ...answer, instance: target.index, retries: 0 }
      }
      let retries = 0
      for (;;) {
        const target = pick()
        const pid = target.pid
        try {
          const answer = await httpJson<T>(agents[target.index], target.url, method, urlPath, options)
          return { ...answer, instance: target.index, retries }
        } catch (err) {
          if (!(err instanceof ConnectionError)) throw err
          if (err.refused) down.set(target.index, pid)
          if (!(err.refused || options.idempotent === true) || retries >= instances.length) throw err
          retries++
          retried++
        }
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// flows a mini program runs (login, phone), as the SDK does them
// ---------------------------------------------------------------------------------------------

/** What `POST /api/auth/login` and `/api/auth/refresh` answer. */
export interface SessionAnswer {
  token: string
  expiresIn: number
  refreshToken: string
  user?: { id: string | number; [field: string]: unknown }
}

/** A call that got an HTTP answer other than the one the flow needs. */
export class UnexpectedAnswerError extends Error {
  readonly status: number
  readonly body: unknown
  constructor(what: string, answer: HttpAnswer) {
    super(`${what} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
    this.name = 'UnexpectedAnswerError'
    this.status = answer.status
    this.body = answer.body
  }
}

/** A flow's answer and how many times it had to start over. */
export interface FlowResult<T> {
  answer: CallResult<T>
  /**
   * Attempts whose connection broke after the request was sent (the instance died under it).
   * Each was redone from the start with a FRESH code, as the SDK does (wx.login again): the cut
   * attempt may have spent its code on the dead instance.
   */
  redone: number
}

async function withFreshCode<T>(
  client: ClusterClient,
  what: string,
  mint: () => Promise<string>,
  send: (code: string) => Promise<CallResult<T>>,
): Promise<FlowResult<T>> {
  let redone = 0
  for (;;) {
    const code = await mint()
    try {
      const answer = await send(code)
      if (answer.status !== 200) throw new UnexpectedAnswerError(what, answer)
      return { answer, redone }
    } catch (err) {
      if (!(err instanceof ConnectionError) || redone >= 3) throw err
      redone++
    }
  }
}

/** A stable private address per device (10.x.y.z from an FNV-1a hash of its name). */
export function deviceAddress(device: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < device.length; i++) h = Math.imul(h ^ device.charCodeAt(i), 0x01000193) >>> 0
  return `10.${(h >>> 16) & 255}.${(h >>> 8) & 255}.${h & 255}`
}

/**
 * wx.login → a code minted at the fake → `POST /api/auth/login` on the next instance, from the
 * device's own address (`deviceAddress(openid)`). Rejects unless 200.
 */
export function loginFlow(cluster: Pick<Cluster, 'client' | 'fake'>, openid: string): Promise<FlowResult<SessionAnswer>> {
  return withFreshCode(
    cluster.client,
    `login of ${openid}`,
    () => cluster.fake.mintCode(openid),
    (code) => cluster.client.call<SessionAnswer>('POST', '/api/auth/login', { body: { code }, forwardedFor: deviceAddress(openid) }),
  )
}

/** getPhoneNumber's code → `POST /api/auth/phone` with the user's token. Rejects unless 200. */
export function phoneFlow(
  cluster: Pick<Cluster, 'client' | 'fake'>,
  token: string,
  phoneNumber: string,
): Promise<FlowResult<{ phoneNumber?: string; purePhoneNumber?: string; [k: string]: unknown }>> {
  return withFreshCode(
    cluster.client,
    `phone ${phoneNumber}`,
    () => cluster.fake.mintPhoneCode(phoneNumber),
    (code) => cluster.client.call('POST', '/api/auth/phone', { body: { code }, token }),
  )
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once; rejects with the first failure after all settle. */
export async function runPool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const errors: unknown[] = []
  const worker = async () => {
    while (next < count) {
      const i = next++
      try {
        await task(i)
      } catch (err) {
        errors.push(err)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  if (errors.length > 0) {
    const first = errors[0] as Error
    first.message = `${errors.length} of ${count} tasks failed; the first: ${first.message}`
    throw first
  }
}

// ---------------------------------------------------------------------------------------------
// the cluster
// ---------------------------------------------------------------------------------------------

export interface ClusterOptions {
  /** Server processes. Default 2. */
  instances?: number
  appid?: string
  secret?: string
  jwtSecret?: string
  tokenTtlSeconds?: number
  refreshTtlSeconds?: number
  /** Extra environment for every server process. */
  env?: Record<string, string>
  /** Default: `pickRuntime()`. */
  runtime?: Runtime
  /** Per process. Default 20 s. */
  startTimeoutMs?: number
  /**
   * What the processes share: one Redis (default), a Redis Cluster (3 masters, 3 replicas:
   * REDIS_CLUSTER_NODES), Redis with Sentinel (1 master, 1 replica, 3 sentinels: REDIS_SENTINELS),
   * one SQLite file, or nothing (each its own memory).
   */
  store?: StoreKind
  /** With `store: 'redis-cluster'`: its shape. Default 3 masters, 1 replica each. */
  redisCluster?: RedisClusterOptions
}

export type StoreKind = 'redis' | 'redis-cluster' | 'redis-sentinel' | 'sqlite' | 'memory'

export interface Cluster {
  readonly runtime: Runtime
  readonly appid: string
  readonly secret: string
  readonly jwtSecret: string
  readonly store: StoreKind
  /** The Redis, with `store: 'redis'`. */
  readonly redis: RedisHandle | null
  /** The Redis Cluster, with `store: 'redis-cluster'`. */
  readonly redisCluster: RedisClusterHandle | null
  /** The Sentinel setup, with `store: 'redis-sentinel'`. */
  readonly redisSentinel: RedisSentinelHandle | null
  /** The SQLite file, with `store: 'sqlite'` (its folder is removed by `stop()`). */
  readonly sqlitePath: string | null
  readonly fake: FakeWechatProcess
  readonly instances: readonly ServerInstance[]
  readonly client: ClusterClient
  /** Server processes that died without `kill()`, with their output. Empty in a healthy run. */
  crashes(): string[]
  /** Every process's recent output, for a failure message. */
  logs(): string
  /** Ends every server, the fake and Redis. Safe to call twice. */
  stop(): Promise<void>
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.instances ?? 2
  if (!Number.isInteger(count) || count < 1) throw new Error(`cluster: instances must be a positive integer, got ${count}`)
  const runtime = options.runtime ?? pickRuntime()
  const appid = options.appid ?? 'wx_cluster_app'
  const secret = options.secret ?? 'cluster-app-secret'
  const timeoutMs = options.startTimeoutMs ?? 20000
  const jwtSecret = options.jwtSecret ?? 'cluster-jwt-secret-at-least-32-bytes-long!'
  const storeKind = options.store ?? 'redis'
  let redis: RedisHandle | undefined
  let redisCluster: RedisClusterHandle | undefined
  let redisSentinel: RedisSentinelHandle | undefined
  let fake: FakeWechatProcess | undefined
  const dataDir = storeKind === 'sqlite' ? fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-cluster-')) : null
  const sqlitePath = dataDir ? path.join(dataDir, 'weapp-auth.db') : null
  const instances: Instance[] = []
  const crashes: string[] = []
  const stop = async () => {
    await Promise.all(instances.map((i) => i.kill('SIGKILL')))
    await fake?.process.kill('SIGKILL')
    await redis?.stop().catch(() => undefined)
    await redisCluster?.stop().catch(() => undefined)
    await redisSentinel?.stop().catch(() => undefined)
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    if (storeKind === 'redis') redis = await startRedis()
    if (storeKind === 'redis-cluster') redisCluster = await startRedisCluster(options.redisCluster ?? { masters: 3, replicas: 1 })
    if (storeKind === 'redis-sentinel') redisSentinel = await startRedisSentinel()
    fake = await startFakeWechat(runtime, appid, secret, timeoutMs)
    const storeEnv: Record<string, string> = redis
      ? { REDIS_URL: redis.url }
      : redisCluster
        ? { REDIS_CLUSTER_NODES: redisCluster.addresses }
        : redisSentinel
          ? { REDIS_SENTINELS: redisSentinel.addresses, REDIS_SENTINEL_NAME: redisSentinel.name }
          : sqlitePath
            ? { SQLITE_PATH: sqlitePath }
            : { STORE: 'memory' }
    const env: Record<string, string> = {
      HOST: '127.0.0.1',
      WX_APPID: appid,
      WX_SECRET: secret,
      JWT_SECRET: jwtSecret,
      ...storeEnv,
      WX_API_BASE: fake.url,
      // the client plays the load balancer: it reports each device's address in X-Forwarded-For
      TRUST_PROXY: '127.0.0.1',
      ...(options.tokenTtlSeconds !== undefined ? { TOKEN_TTL_SECONDS: String(options.tokenTtlSeconds) } : {}),
      ...(options.refreshTtlSeconds !== undefined ? { REFRESH_TTL_SECONDS: String(options.refreshTtlSeconds) } : {}),
      ...options.env,
    }
    const args = entryArgs(runtime, 'bin')
    for (let i = 0; i < count; i++) instances.push(new Instance(i, args, env, timeoutMs, (what) => crashes.push(what)))
    await Promise.all(instances.map((i) => i.start(0)))
  } catch (err) {
    await stop().catch(() => undefined)
    throw err
  }
  const client = createClient(instances)
  const fakeProc = fake
  return {
    runtime,
    appid,
    secret,
    jwtSecret,
    store: storeKind,
    redis: redis ?? null,
    redisCluster: redisCluster ?? null,
    redisSentinel: redisSentinel ?? null,
    sqlitePath,
    fake,
    instances,
    client,
    crashes: () => [...crashes],
    logs: () =>
      [`--- fake wechat ---\n${fakeProc.process.output()}`, ...instances.map((i) => `--- server #${i.index} ---\n${i.output()}`)].join('\n'),
    stop,
  }
}
