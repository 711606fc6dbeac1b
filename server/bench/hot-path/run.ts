/**
 * `npm run bench:server`: the ready-made server's throughput against a hand-written route, in one
 * run, on loopback. For 1, 2 and 4 processes × each store (memory, SQLite, Redis, and Redis
 * Cluster when the build supports it), side by side in the same deployment:
 *
 * - logins/s: `POST /api/auth/login`, each with a new code (a new user) against the fake WeChat,
 *   which runs as its own process;
 * - `GET /api/user/me`/s with a valid token, and its p99: every revocation check on (the session
 *   ended, log out everywhere, the user deleted, the store's generation), and one JSON log line
 *   per request;
 * - the same for the hand-written route (reference-server.ts: fastify + jose, the user from a
 *   Map), on as many processes, and the ratio bin / reference.
 *
 * Every server process listens on its own port; the load generator (autocannon, in this process)
 * spreads its connections evenly over them. Measurements are interleaved (reference and bin take
 * turns, the order alternating each round) and the median of the rounds is printed, with the
 * spread of the ratio: the machine is shared and noisy.
 *
 * Environment: BENCH_SECONDS (per measurement, default 3), BENCH_ROUNDS (default 5),
 * BENCH_CONNECTIONS (default 50), BENCH_PROCESSES (default 1,2,4), BENCH_STORES (default
 * memory,sqlite,redis,redis-cluster), BENCH_USERS (users logged in per process, default 1000; the
 * load cycles through their tokens), BENCH_JSON (a file to write the figures to), BENCH_BIN
 * (another build's dist/bin.js, to compare versions). The servers' own settings pass through
 * (JWT_VERIFY_CACHE_SIZE=0: every signature checked again).
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import { binSupportsCluster, deploy, stopAll, type StoreKind } from './deployment'
import { loadLogin, loadMe, type LoadResult } from './load'

const SECONDS = positive('BENCH_SECONDS', 3)
const ROUNDS = positive('BENCH_ROUNDS', 5)
const CONNECTIONS = positive('BENCH_CONNECTIONS', 50)
const PROCESSES = list('BENCH_PROCESSES', '1,2,4').map(Number)
const STORES = list('BENCH_STORES', 'memory,sqlite,redis,redis-cluster') as StoreKind[]
const WARM_UP_SECONDS = 2

function positive(name: string, fallback: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(text)}`)
  return n
}

function list(name: string, fallback: string): string[] {
  return (process.env[name] || fallback).split(',').map((s) => s.trim()).filter(Boolean)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export interface Row {
  processes: number
  store: StoreKind
  /** Why there are no figures (a store this build does not support). */
  skipped?: string
  loginsPerSecond?: number
  loginP99?: number
  mePerSecond?: number
  meP99?: number
  referencePerSecond?: number
  referenceP99?: number
  /** Median of the rounds' bin / reference ratios, and their spread. */
  ratio?: number
  ratioMin?: number
  ratioMax?: number
  /** CPU µs per answer (median of the rounds): the bin's `GET /api/user/me`, the hand-written route's, a login. */
  meCpuMicros?: number
  referenceCpuMicros?: number
  loginCpuMicros?: number
  /** referenceCpuMicros / meCpuMicros: the throughput ratio the CPU cost alone predicts. */
  cpuRatio?: number
  failures?: number
}

async function measure(store: StoreKind, processes: number): Promise<Row> {
  const deployment = await deploy({ store, processes })
  try {
    const { bins, references } = deployment
    // Warm-up: JIT, connection pools, the store's caches.
    await loadMe(references, CONNECTIONS, WARM_UP_SECONDS)
    await loadMe(bins, CONNECTIONS, WARM_UP_SECONDS)
    await loadLogin(bins, CONNECTIONS, WARM_UP_SECONDS)
    const me: LoadResult[] = []
    const ref: LoadResult[] = []
    const login: LoadResult[] = []
    const ratios: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      let b: LoadResult
      let r: LoadResult
      if (round % 2 === 0) {
        r = await loadMe(references, CONNECTIONS, SECONDS)
        b = await loadMe(bins, CONNECTIONS, SECONDS)
      } else {
        b = await loadMe(bins, CONNECTIONS, SECONDS)
        r = await loadMe(references, CONNECTIONS, SECONDS)
      }
      me.push(b)
      ref.push(r)
      ratios.push(b.perSecond / r.perSecond)
      login.push(await loadLogin(bins, CONNECTIONS, SECONDS))
      process.stderr.write(
        `  ${store} × ${processes}, round ${round + 1}/${ROUNDS}: /me ${b.perSecond.toFixed(0)}/s vs ${r.perSecond.toFixed(0)}/s (${(b.perSecond / r.perSecond).toFixed(2)}×), ` +
          `CPU ${b.cpuMicrosPerAnswer.toFixed(0)} vs ${r.cpuMicrosPerAnswer.toFixed(0)} µs/req, logins ${login[round].perSecond.toFixed(0)}/s\n`,
      )
    }
    return {
      processes,
      store,
      loginsPerSecond: median(login.map((x) => x.perSecond)),
      loginP99: median(login.map((x) => x.p99)),
      mePerSecond: median(me.map((x) => x.perSecond)),
      meP99: median(me.map((x) => x.p99)),
      referencePerSecond: median(ref.map((x) => x.perSecond)),
      referenceP99: median(ref.map((x) => x.p99)),
      ratio: median(ratios),
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
      meCpuMicros: median(me.map((x) => x.cpuMicrosPerAnswer)),
      referenceCpuMicros: median(ref.map((x) => x.cpuMicrosPerAnswer)),
      loginCpuMicros: median(login.map((x) => x.cpuMicrosPerAnswer)),
      cpuRatio: median(ref.map((x, i) => x.cpuMicrosPerAnswer / me[i].cpuMicrosPerAnswer)),
      failures: [...me, ...ref, ...login].reduce((sum, x) => sum + x.failures, 0),
    }
  } finally {
    await deployment.stop()
  }
}

function table(rows: Row[]): string {
  const head = ['procs', 'store', 'logins/s', 'login p99', '/me req/s', '/me p99', 'hand-written req/s', 'hand-written p99', 'ratio (min–max)', 'CPU µs/req bin : hand-written', 'CPU ratio', 'non-2xx']
  const measured = rows.filter((r) => !r.skipped)
  const body = measured.map((r) => [
    String(r.processes),
    r.store,
    (r.loginsPerSecond ?? 0).toFixed(0),
    `${r.loginP99} ms`,
    (r.mePerSecond ?? 0).toFixed(0),
    `${r.meP99} ms`,
    (r.referencePerSecond ?? 0).toFixed(0),
    `${r.referenceP99} ms`,
    `${(r.ratio ?? 0).toFixed(2)}× (${(r.ratioMin ?? 0).toFixed(2)}–${(r.ratioMax ?? 0).toFixed(2)})`,
    `${(r.meCpuMicros ?? NaN).toFixed(0)} : ${(r.referenceCpuMicros ?? NaN).toFixed(0)}`,
    `${(r.cpuRatio ?? NaN).toFixed(2)}×`,
    String(r.failures ?? 0),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |'
  const skipped = rows.filter((r) => r.skipped).map((r) => `${r.store} × ${r.processes}: skipped (${r.skipped})`)
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line), ...(skipped.length ? ['', ...skipped] : [])].join('\n')
}

async function main(): Promise<void> {
  const started = Date.now()
  const clusterSupported = binSupportsCluster()
  const rows: Row[] = []
  process.stderr.write(
    `hot path: ${PROCESSES.join('/')} processes × ${STORES.join(', ')}; ${ROUNDS} interleaved rounds of ${SECONDS} s, ${CONNECTIONS} connections; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), load ${os.loadavg()[0].toFixed(1)}\n`,
  )
  for (const processes of PROCESSES) {
    for (const store of STORES) {
      if (store === 'redis-cluster' && !clusterSupported) {
        // The hook: once the bin reads REDIS_CLUSTER_NODES, deployment.ts starts a 6-node cluster for this row.
        rows.push({ processes, store, skipped: 'this build does not read REDIS_CLUSTER_NODES' })
        continue
      }
      rows.push(await measure(store, processes))
    }
  }
  const seconds = (Date.now() - started) / 1000
  process.stdout.write(`\n${table(rows)}\n\n`)
  process.stdout.write(
    `ratio: the server's GET /api/user/me throughput over the hand-written route's (fastify + jose, user from a Map), measured alternately on the same machine; median of ${ROUNDS} rounds.\n` +
      `CPU ratio: the hand-written route's CPU time per answer over the server's (its Node processes only; Redis's own CPU is not counted): steadier than throughput when other jobs share the cores, though both grow when the cores are oversubscribed.\n` +
      `Each process has its own port; the load generator spreads ${CONNECTIONS} connections evenly over them. memory × N: each process its own memory (tokens stay on the process that issued them).\n` +
      `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, Node ${process.version}, wall time ${seconds.toFixed(0)} s.\n`,
  )
  if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify({ date: new Date().toISOString(), cores: os.cpus().length, node: process.version, seconds, rows }, null, 2))
}

main().catch(async (err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
  await stopAll().catch(() => undefined)
  process.exit(1)
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll().finally(() => process.exit(130)))
