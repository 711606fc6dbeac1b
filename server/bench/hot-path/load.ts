/**
 * The load generator: autocannon 8 as a library, in this process. A run spreads its connections
 * evenly over the targets (one autocannon per target, all at once) and answers the summed
 * throughput, the worst p99 among the targets, and how many answers were not 2xx.
 */
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import type { Target } from './deployment'
// eslint-disable-next-line @typescript-eslint/no-var-requires
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>

interface AutocannonResult {
  requests: { average: number; total: number }
  latency: { p99: number; p50: number }
  non2xx: number
  errors: number
  timeouts: number
  duration: number
}

export interface LoadResult {
  /** Answers per second, 2xx only, summed over the targets. */
  perSecond: number
  /** ms: the worst of the targets' p99. */
  p99: number
  /** Answers that were not 2xx, plus connection errors and timeouts. */
  failures: number
  /**
   * CPU time the target processes spent per 2xx answer, in µs (user + system, from /proc): steadier
   * than throughput when other jobs take the cores. NaN where /proc is missing.
   */
  cpuMicrosPerAnswer: number
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100

/** utime + stime of the processes, in µs; NaN when /proc cannot tell. */
function cpuMicros(pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      return NaN
    }
  }
  return (ticks * 1e6) / TICKS_PER_SECOND
}

async function spread(targets: Target[], connections: number, seconds: number, options: (target: Target) => Record<string, unknown>): Promise<LoadResult> {
  const each = Math.max(1, Math.floor(connections / targets.length))
  const pids = targets.map((t) => t.pid)
  const cpuBefore = cpuMicros(pids)
  const results = await Promise.all(
    targets.map((target) => autocannon({ url: target.url, connections: each, duration: seconds, ...options(target) })),
  )
  const cpu = cpuMicros(pids) - cpuBefore
  let ok = 0
  let answers = 0
  let p99 = 0
  let failures = 0
  for (const r of results) {
    const bad = r.non2xx + r.errors + r.timeouts
    ok += (r.requests.total - r.non2xx) / r.duration
    answers += r.requests.total - r.non2xx
    p99 = Math.max(p99, r.latency.p99)
    failures += bad
  }
  return { perSecond: ok, p99, failures, cpuMicrosPerAnswer: answers > 0 ? cpu / answers : NaN }
}

/** `GET /api/user/me`, each request with the next of the target's users' tokens in turn. */
export function loadMe(targets: Target[], connections: number, seconds: number): Promise<LoadResult> {
  return spread(targets, connections, seconds, (target) => {
    const headers = target.tokens.map((token) => ({ authorization: `Bearer ${token}` }))
    let n = 0
    return {
      url: `${target.url}/api/user/me`,
      requests: [{ method: 'GET', path: '/api/user/me', setupRequest: (req: Record<string, unknown>) => ({ ...req, headers: headers[n++ % headers.length] }) }],
    }
  })
}

/**
 * `POST /api/auth/login`, every call with a new code (a new user: the fake WeChat adopts any
 * well-formed code) from a client address of its own (X-Forwarded-For: the per-client login limit
 * is not what is measured).
 */
export function loadLogin(targets: Target[], connections: number, seconds: number): Promise<LoadResult> {
  const run = randomBytes(4).toString('hex')
  let n = 0
  return spread(targets, connections, seconds, () => ({
    requests: [
      {
        method: 'POST',
        path: '/api/auth/login',
        setupRequest: (req: Record<string, unknown>) => {
          n++
          return {
            ...req,
            body: `{"code":"u${run}x${n}-c"}`,
            headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` },
          }
        },
      },
    ],
  }))
}
