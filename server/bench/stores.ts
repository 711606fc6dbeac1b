/**
 * `tsx bench/stores.ts [--rounds N]` (or `npm run bench:stores -w weapp-auth-server`): the stores side
 * by side, on loopback only. Five deployments of the runnable server (dist/bin.js), each with its
 * own fake WeChat API process, are started once and kept for the whole run:
 *
 *   memory (1 process) · SQLite (1 process) · SQLite (4 processes on one file) ·
 *   Redis (1 instance) · Redis (4 instances on one Redis)
 *
 * Per deployment and round, three closed-loop measurements (CONCURRENCY calls in flight, REQUESTS
 * calls, each measurement also capped at CELL_CAP_MS), spread round-robin over its instances:
 *
 * 1. `POST /api/auth/login`: REQUESTS first logins (new openids); the codes are minted at the fake
 *    before the timer starts. Each login comes from its own X-Forwarded-For address, so the
 *    per-client login rate limit never trips.
 * 2. `POST /api/auth/refresh`: one call per refresh token those logins issued (each used once).
 * 3. `GET /api/user/me`: REQUESTS calls with the access tokens the refreshes issued.
 *
 * The machine is small and shared, so one figure is noise: every round measures every deployment
 * in turn (the starting deployment rotates each round) and the report gives the median over the
 * rounds per cell, its ratio to the memory store, and the min–max spread. The client, the fakes,
 * the stores and the servers all share the same cores: the figures compare the stores, they are
 * not the capacity of a real deployment.
 *
 * Every call must answer 200; anything else (or a broken connection, or a measurement cut by its
 * time cap, or a server process that died) is counted, reported, and fails the run: exit 1.
 */
import * as os from 'node:os'
import { performance } from 'node:perf_hooks'
import { runPool, startCluster, type CallResult, type Cluster, type SessionAnswer } from '../test/helpers/cluster'

const DEFAULT_ROUNDS = 5
/** Calls per measurement (per cell and round). */
const REQUESTS = 600
const CONCURRENCY = 32
/**
 * Untimed calls per route and deployment before round 1. A short warm-up is not enough: with 100,
 * round 1 still ran at a third to a half of round 5's rate (V8 optimising the servers, the fakes
 * and this client; sockets; SQLite pages), which the rotation alone does not even out.
 */
const WARMUP = REQUESTS
/** A measurement stops sending after this long; the run then fails (its figure is marked). */
const CELL_CAP_MS = 15_000
/** Everything stops, and the run fails, after this long (grows with --rounds). */
const hardDeadlineMs = (rounds: number) => 90_000 + rounds * 60_000

interface Deployment {
  name: string
  store: 'memory' | 'sqlite' | 'redis'
  instances: number
}
const DEPLOYMENTS: Deployment[] = [
  { name: 'memory (1 process)', store: 'memory', instances: 1 },
  { name: 'SQLite (1 process)', store: 'sqlite', instances: 1 },
  { name: 'SQLite (4 processes, one file)', store: 'sqlite', instances: 4 },
  { name: 'Redis (1 instance)', store: 'redis', instances: 1 },
  { name: 'Redis (4 instances, one Redis)', store: 'redis', instances: 4 },
]
const MEASURES = ['logins/s', 'refreshes/s', 'GET /api/user/me/s'] as const
type Measure = (typeof MEASURES)[number]

// ---------------------------------------------------------------------------------------------
// measurement
// ---------------------------------------------------------------------------------------------

/** Per deployment and measure: the rate of each round, and every answer that was not 200. */
const rates = new Map<string, number[]>()
const nonOk = new Map<string, Map<string, number>>()
const capped: string[] = []
const failures: string[] = []
const cellKey = (d: Deployment, m: Measure) => `${d.name}\u0000${m}`

function countNonOk(key: string, what: string): void {
  let byStatus = nonOk.get(key)
  if (!byStatus) nonOk.set(key, (byStatus = new Map()))
  byStatus.set(what, (byStatus.get(what) ?? 0) + 1)
}

/** The median of `values` (the mean of the middle two for an even count); NaN for none. */
function median(values: number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-')
function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))]
  const widths = head.map((_, c) => Math.max(...cells.map((r) => r[c].length)))
  const line = (r: string[]) => '| ' + r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join(' | ') + ' |'
  return [line(cells[0]), '|' + widths.map((w, c) => (c === 0 ? ':' : '') + '-'.repeat(w + 1) + (c === 0 ? '' : ':')).join('|') + '|', ...cells.slice(1).map(line)].join('\n')
}

const log = (message: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`)

/** A distinct client address per login (10.a.b.c, never .0 or .255), so the rate limit never trips. */
let addresses = 0
function nextAddress(): string {
  const n = addresses++
  return `10.${Math.floor(n / (254 * 254)) % 256}.${1 + (Math.floor(n / 254) % 254)}.${1 + (n % 254)}`
}

/**
 * A closed loop: CONCURRENCY workers each send the next call as soon as theirs answered, until
 * `count` calls were sent or `capMs` has passed. Answers other than 200 and broken connections are
 * counted under `key` (when given). Returns the 200s per second over the whole loop.
 */
async function closedLoop(
  key: string | null,
  label: string,
  count: number,
  call: (i: number) => Promise<CallResult>,
  capMs = CELL_CAP_MS,
): Promise<{ perSecond: number; ok: number; sent: number; capped: boolean }> {
  let next = 0
  let ok = 0
  const started = performance.now()
  const stopAt = started + capMs
  const worker = async () => {
    while (next < count && performance.now() < stopAt) {
      const i = next++
      let what: string
      try {
        const answer = await call(i)
        if (answer.status === 200) {
          ok++
          continue
        }
        what = `${answer.status} ${(answer.body as { error?: string } | undefined)?.error ?? ''}`.trim()
        failures.push(`${label} #${i}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`)
      } catch (err) {
        what = `no answer (${(err as Error).message.split('\n')[0].slice(0, 80)})`
        failures.push(`${label} #${i}: ${(err as Error).message}`)
      }
      countNonOk(key ?? `warm-up\u0000${label}`, what)
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker))
  const seconds = (performance.now() - started) / 1000
  const wasCapped = next < count
  if (wasCapped) capped.push(`${label}: ${next} of ${count} calls sent within ${capMs / 1000} s`)
  return { perSecond: ok / seconds, ok, sent: next, capped: wasCapped }
}
let openids = 0

/**
 * One login → refresh → me pass on `cluster`: `count` codes minted (untimed), then the three
 * closed loops. With `deployment` the rates are recorded; without, it is a warm-up.
 */
async function measure(cluster: Cluster, deployment: Deployment | null, count: number, label: string): Promise<Record<Measure, number>> {
  const tag = (m: Measure) => (deployment ? cellKey(deployment, m) : null)
  // untimed: a fresh code per login, minted at this deployment's fake WeChat
  const codes: string[] = new Array(count)
  await runPool(count, CONCURRENCY, async (i) => {
    codes[i] = await cluster.fake.mintCode(`openid-stores-${openids++}`)
  })
  const fromAddress = codes.map(() => nextAddress())

  const sessions: (SessionAnswer | undefined)[] = new Array(count)
  const logins = await closedLoop(tag('logins/s'), `${label} login`, count, async (i) => {
    const answer = await cluster.client.call<SessionAnswer>('POST', '/api/auth/login', { body: { code: codes[i] }, forwardedFor: fromAddress[i] })
    if (answer.status === 200) sessions[i] = answer.body
    return answer
  })

  // one refresh per refresh token just issued, each used once (a login that failed has none)
  const refreshTokens = sessions.filter((s): s is SessionAnswer => !!s).map((s) => s.refreshToken)
  const refreshed: SessionAnswer[] = []
  const refreshes = await closedLoop(tag('refreshes/s'), `${label} refresh`, refreshTokens.length, async (i) => {
    const answer = await cluster.client.call<SessionAnswer>('POST', '/api/auth/refresh', { body: { refreshToken: refreshTokens[i] } })
    if (answer.status === 200) refreshed.push(answer.body)
    return answer
  })

  // the access tokens the refreshes issued (those of the logins if none came back)
  const tokens = (refreshed.length > 0 ? refreshed : sessions.filter((s): s is SessionAnswer => !!s)).map((s) => s.token)
  if (tokens.length === 0) throw new Error(`${label}: no login answered 200, so there is no token to call GET /api/user/me with`)
  const me = await closedLoop(tag('GET /api/user/me/s'), `${label} me`, count, (i) =>
    cluster.client.call('GET', '/api/user/me', { token: tokens[i % tokens.length] }),
  )
  const result: Record<Measure, number> = { 'logins/s': logins.perSecond, 'refreshes/s': refreshes.perSecond, 'GET /api/user/me/s': me.perSecond }
  if (deployment) {
    for (const m of MEASURES) {
      const key = cellKey(deployment, m)
      rates.set(key, [...(rates.get(key) ?? []), result[m]])
    }
  }
  return result
}

// ---------------------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------------------

function parseRounds(argv: string[]): number {
  let raw: string | undefined
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') raw = argv[++i]
    else if (argv[i].startsWith('--rounds=')) raw = argv[i].slice('--rounds='.length)
    else throw new Error(`unknown argument ${JSON.stringify(argv[i])}; usage: tsx bench/stores.ts [--rounds N]`)
  }
  if (raw === undefined) return DEFAULT_ROUNDS
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < 1 || n > 100) throw new Error(`--rounds must be a whole number 1–100, got ${JSON.stringify(raw)}`)
  return n
}

async function main(): Promise<void> {
  const rounds = parseRounds(process.argv.slice(2))
  const started = performance.now()
  const clusters: { deployment: Deployment; cluster: Cluster }[] = []
  let stopping: Promise<void> | undefined
  const stop = () => (stopping ??= Promise.all(clusters.map(({ cluster }) => cluster.stop().catch(() => undefined))).then(() => undefined))
  const deadlineMs = hardDeadlineMs(rounds)
  const deadline = setTimeout(() => {
    process.stderr.write(`bench: still running after ${deadlineMs / 1000} s; stopping everything\n`)
    void stop().finally(() => process.exit(1))
  }, deadlineMs)
  deadline.unref()
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop().finally(() => process.exit(130)))

  try {
    // one at a time: eleven servers, five fakes and two Redis starting at once on 2 cores can
    // outrun the start timeout
    for (const deployment of DEPLOYMENTS) {
      log(`starting ${deployment.name}`)
      const cluster = await startCluster({ instances: deployment.instances, store: deployment.store })
      clusters.push({ deployment, cluster })
    }
    const runtime = clusters[0].cluster.runtime
    log(`runtime ${runtime}; ${clusters.reduce((n, c) => n + c.cluster.instances.length, 0)} server processes; ${rounds} rounds of ${REQUESTS} calls per cell, ${CONCURRENCY} in flight`)

    log(`warm-up: ${WARMUP} logins, refreshes and GET /api/user/me per deployment (not timed)`)
    for (const { deployment, cluster } of clusters) await measure(cluster, null, WARMUP, `warm-up ${deployment.name}`)

    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < clusters.length; k++) {
        const { deployment, cluster } = clusters[(round + k) % clusters.length]
        const r = await measure(cluster, deployment, REQUESTS, `round ${round + 1} ${deployment.name}`)
        log(`round ${round + 1}/${rounds} ${deployment.name.padEnd(30)} ${MEASURES.map((m) => `${m} ${fmt(r[m], 0)}`).join(', ')}`)
      }
    }

    // ----- report -----
    const memory = DEPLOYMENTS[0]
    const crashes = clusters.flatMap(({ cluster }) => cluster.crashes())
    const nonOkTotal = [...nonOk.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0)

    process.stdout.write(
      `\n### Stores side by side (median of ${rounds} rounds; ratio to the memory store; ${REQUESTS} calls per cell, ${CONCURRENCY} in flight)\n\n`,
    )
    process.stdout.write(
      table(
        ['deployment', ...MEASURES],
        DEPLOYMENTS.map((d) => [
          d.name,
          ...MEASURES.map((m) => {
            const value = median(rates.get(cellKey(d, m)) ?? [])
            const base = median(rates.get(cellKey(memory, m)) ?? [])
            return `${fmt(value, 0)} (${fmt(value / base, 2)}×)`
          }),
        ]),
      ) + '\n',
    )
    process.stdout.write(`\n### Spread over the rounds (min–max per second)\n\n`)
    process.stdout.write(
      table(
        ['deployment', ...MEASURES],
        DEPLOYMENTS.map((d) => [
          d.name,
          ...MEASURES.map((m) => {
            const values = rates.get(cellKey(d, m)) ?? []
            return `${fmt(Math.min(...values), 0)}–${fmt(Math.max(...values), 0)}`
          }),
        ]),
      ) + '\n',
    )
    process.stdout.write('\n### Answers other than 200\n\n')
    process.stdout.write(
      table(
        ['deployment', ...MEASURES],
        DEPLOYMENTS.map((d) => [
          d.name,
          ...MEASURES.map((m) => {
            const byStatus = nonOk.get(cellKey(d, m))
            return byStatus ? [...byStatus].map(([what, n]) => `${n}× ${what}`).join(', ') : '0'
          }),
        ]),
      ) + '\n',
    )
    const warmupNonOk = [...nonOk].filter(([key]) => key.startsWith('warm-up\u0000'))
    for (const [key, byStatus] of warmupNonOk) process.stdout.write(`${key.split('\u0000')[1]}: ${[...byStatus].map(([w, n]) => `${n}× ${w}`).join(', ')}\n`)
    for (const line of capped) process.stdout.write(`\ncut by the ${CELL_CAP_MS / 1000} s cap: ${line}`)
    for (const crash of crashes) process.stdout.write(`\n${crash}\n`)
    if (failures.length > 0) process.stdout.write(`\nfailed calls (${failures.length}), the first 10:\n${failures.slice(0, 10).join('\n')}\n`)
    process.stdout.write(
      `\nwhole run: ${fmt((performance.now() - started) / 1000)} s (runtime ${runtime}, ${process.platform}, node ${process.version}, ${os.cpus().length} cores)\n`,
    )
    if (nonOkTotal > 0 || capped.length > 0 || crashes.length > 0) {
      process.stdout.write(
        `\nFAILED: ${nonOkTotal} answers other than 200, ${capped.length} measurements cut by the time cap, ${crashes.length} server processes died\n`,
      )
      if (nonOkTotal > 0 || crashes.length > 0) for (const { cluster } of clusters) process.stdout.write(cluster.logs() + '\n')
      process.exitCode = 1
    }
  } catch (err) {
    process.stdout.write(`\nFAILED: ${(err as Error).stack ?? err}\n`)
    for (const { deployment, cluster } of clusters) process.stdout.write(`=== ${deployment.name} ===\n${cluster.logs()}\n`)
    process.exitCode = 1
  } finally {
    clearTimeout(deadline)
    await stop()
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`)
  process.exit(1)
})
