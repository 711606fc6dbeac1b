/**
 * `npm run bench:multi-instance -w weapp-auth-server`: the full multi-instance run, on loopback
 * only. Four processes of the runnable server (dist/bin.js) share one real Redis and call the
 * fake WeChat API (its own process); a client spreads calls round-robin over them. One run,
 * bounded in count and time (a hard deadline stops everything), printing counts, ratios,
 * throughput and p99 per route:
 *
 * 1. load: 2,000 logins with distinct codes plus 500 phone calls, while WeChat expires the
 *    access_token twice (≥ 30 s apart: the kit respects WeChat's gap between forced refreshes).
 *    Expected: exactly one stable_token call per expiry in total plus the first fetch, 0 failures.
 * 2. between the expiries: verify() in-process, GET /api/user/me over HTTP, a token crossing all
 *    four instances, and 200 concurrent refreshes of one refresh token (exactly one succeeds, the
 *    family is revoked afterwards).
 * 3. one instance SIGKILLed under load: the others serve everything (the client sends a refused
 *    connection to the next instance; a login cut in flight is redone with a fresh code, as the SDK
 *    does), and every token and refresh token issued before the kill works on the survivors.
 * 4. Redis stopped, then started on the same port: 503 store_unavailable while down (p99 given),
 *    served again after, by the same processes.
 *
 * Exits 1 when an invariant does not hold.
 */
import { performance } from 'node:perf_hooks'
import {
  deviceAddress,
  loginFlow,
  phoneFlow,
  runPool,
  startCluster,
  type CallResult,
  type Cluster,
  type FakeStats,
  type SessionAnswer,
} from '../test/helpers/cluster'
import { createAuthServer, memoryStore } from '../src'

const INSTANCES = 4
const LOGINS = 2000
const PHONE_CALLS = 500
const CONCURRENCY = 32
const RACE_REFRESHES = 200
const ME_CALLS = 4000
const VERIFY_CALLS = 20000
const LOGIN_BURST = 1000
const KILL_LOAD_LOGINS = 400
const REDIS_DOWN_CALLS = 200
const AFTER_REDIS_LOGINS = 100
/** WeChat's minimum gap between forced refreshes, plus a margin. */
const FORCE_GAP_MS = 31_000
/** Everything stops, and the run fails, after this long. */
const HARD_DEADLINE_MS = 240_000

// ---------------------------------------------------------------------------------------------
// measurement
// ---------------------------------------------------------------------------------------------

interface RouteStats {
  ok: number
  failed: number
  ms: number[]
}
const routes = new Map<string, RouteStats>()
const failures: string[] = []

function record(route: string, result: { status: number; ms: number }, expected = 200): void {
  let stats = routes.get(route)
  if (!stats) routes.set(route, (stats = { ok: 0, failed: 0, ms: [] }))
  stats.ms.push(result.ms)
  if (result.status === expected) stats.ok++
  else stats.failed++
}

const invariants: { name: string; expected: string; actual: string; pass: boolean }[] = []
function check(name: string, expected: unknown, actual: unknown): void {
  invariants.push({ name, expected: String(expected), actual: String(actual), pass: expected === actual })
}

/** The p-th percentile (0–100) of `values`, nearest-rank; NaN for none. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1]
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-')
function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))]
  const widths = head.map((_, c) => Math.max(...cells.map((r) => r[c].length)))
  const line = (r: string[]) => '| ' + r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join(' | ') + ' |'
  return [line(cells[0]), '|' + widths.map((w, c) => (c === 0 ? ':' : '') + '-'.repeat(w + 1) + (c === 0 ? '' : ':')).join('|') + '|', ...cells.slice(1).map(line)].join('\n')
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const log = (message: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`)

// ---------------------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------------------

async function loadPhase(cluster: Cluster, sessions: SessionAnswer[]) {
  // 2,500 operations: every 5th is a phone call by a user logged in earlier in the stream.
  const total = LOGINS + PHONE_CALLS
  const isPhone = (i: number) => i % 5 === 4
  let phoneIndex = 0
  let loginIndex = 0
  const ops = Array.from({ length: total }, (_, i) => (isPhone(i) ? { kind: 'phone' as const, n: phoneIndex++ } : { kind: 'login' as const, n: loginIndex++ }))
  const firstExpiryAt = Math.floor(PHONE_CALLS / 3)
  const secondExpiryAt = Math.floor((2 * PHONE_CALLS) / 3)
  let redone = 0
  let firstRenewedAt = 0
  let expired = false
  let phoneDone = 0

  const runOp = async (i: number) => {
    const op = ops[i]
    if (op.kind === 'login') {
      try {
        const flow = await loginFlow(cluster, `openid-${op.n}`)
        redone += flow.redone
        record('POST /api/auth/login', flow.answer)
        sessions[op.n] = flow.answer.body
      } catch (err) {
        record('POST /api/auth/login', { status: -1, ms: 0 })
        failures.push(`login ${op.n}: ${(err as Error).message}`)
      }
      return
    }
    // a phone call by someone logged in earlier in the stream (that login may still be in flight)
    const startedAfterExpiry = expired
    try {
      const waitUntil = performance.now() + 30000
      let owner = sessions[op.n * 4]
      while (!owner) {
        if (performance.now() > waitUntil) throw new Error(`login ${op.n * 4} never answered`)
        await sleep(5)
        owner = sessions[op.n * 4]
      }
      const flow = await phoneFlow(cluster, owner.token, `139${String(op.n).padStart(8, '0')}`)
      redone += flow.redone
      record('POST /api/auth/phone', flow.answer)
      // this call met the expired token, so the forced refresh (and its 30 s gap) began before now
      if (startedAfterExpiry && firstRenewedAt === 0) firstRenewedAt = performance.now()
    } catch (err) {
      record('POST /api/auth/phone', { status: -1, ms: 0 })
      failures.push(`phone ${op.n}: ${(err as Error).message}`)
    }
    phoneDone++
    if (phoneDone === firstExpiryAt) {
      log(`access_token expiry 1 (after ${phoneDone} phone calls)`)
      await cluster.fake.expireAccessToken()
      expired = true
    }
  }

  // part 1: the stream up to the 2/3 point of the phone calls, with expiry 1 at the 1/3 point
  const splitAt = ops.findIndex((op) => op.kind === 'phone' && op.n === secondExpiryAt)
  const t0 = performance.now()
  await runPool(splitAt, CONCURRENCY, (i) => runOp(i))
  const part1Ms = performance.now() - t0
  return {
    part1Ms,
    firstRenewedAt: () => firstRenewedAt,
    redone: () => redone,
    /** Part 2: expiry 2, then the rest of the stream. */
    async finish(): Promise<number> {
      log(`access_token expiry 2 (after ${phoneDone} phone calls)`)
      await cluster.fake.expireAccessToken()
      const t1 = performance.now()
      await runPool(total - splitAt, CONCURRENCY, (i) => runOp(splitAt + i))
      return performance.now() - t1
    },
  }
}

async function verifyInProcess(cluster: Cluster): Promise<{ perSecond: number }> {
  const auth = createAuthServer({
    appid: cluster.appid,
    secret: cluster.secret,
    jwt: { secret: 'bench-in-process-jwt-secret-32-bytes-long!!' },
    store: memoryStore(),
    wxApiBase: cluster.fake.url,
    loginRateLimit: false,
  })
  try {
    const { token } = await auth.login({ code: await cluster.fake.mintCode('openid-verify-bench') })
    const claims = await auth.verify(token)
    if (!claims.sub) throw new Error('verify returned no sub')
    const t = performance.now()
    for (let i = 0; i < VERIFY_CALLS; i++) await auth.verify(token)
    return { perSecond: VERIFY_CALLS / ((performance.now() - t) / 1000) }
  } finally {
    await auth.close()
  }
}

async function meOverHttp(cluster: Cluster, sessions: SessionAnswer[]): Promise<{ perSecond: number }> {
  const t = performance.now()
  await runPool(ME_CALLS, CONCURRENCY, async (i) => {
    const answer = await cluster.client.call('GET', '/api/user/me', { token: sessions[i % sessions.length].token })
    record('GET /api/user/me', answer)
    if (answer.status !== 200) failures.push(`me ${i}: ${answer.status} ${JSON.stringify(answer.body)}`)
  })
  return { perSecond: ME_CALLS / ((performance.now() - t) / 1000) }
}

/** Logins alone: codes minted at the fake first, then only `POST /api/auth/login` is timed. */
async function loginBurst(cluster: Cluster): Promise<{ perSecond: number }> {
  const codes: string[] = new Array(LOGIN_BURST)
  await runPool(LOGIN_BURST, CONCURRENCY, async (i) => {
    codes[i] = await cluster.fake.mintCode(`openid-burst-${i}`)
  })
  const t = performance.now()
  await runPool(LOGIN_BURST, CONCURRENCY, async (i) => {
    const answer = await cluster.client.call('POST', '/api/auth/login', { body: { code: codes[i] }, forwardedFor: deviceAddress(`openid-burst-${i}`) })
    record('POST /api/auth/login (burst, codes minted beforehand)', answer)
    if (answer.status !== 200) failures.push(`burst login ${i}: ${answer.status} ${JSON.stringify(answer.body)}`)
  })
  return { perSecond: LOGIN_BURST / ((performance.now() - t) / 1000) }
}

async function crossingCheck(cluster: Cluster): Promise<number> {
  const { answer } = await loginFlow(cluster, 'openid-crossing')
  let worked = 0
  for (const instance of cluster.instances) {
    const me = await cluster.client.call('GET', '/api/user/me', { token: answer.body.token, instance: instance.index })
    if (me.status === 200) worked++
  }
  return worked
}

async function refreshRace(cluster: Cluster) {
  const { answer } = await loginFlow(cluster, 'openid-refresh-race')
  const refreshToken = answer.body.refreshToken
  const results = await Promise.all(
    Array.from({ length: RACE_REFRESHES }, () =>
      cluster.client.call<SessionAnswer & { error?: string }>('POST', '/api/auth/refresh', { body: { refreshToken } }),
    ),
  )
  const winners = results.filter((r) => r.status === 200)
  const byError = new Map<string, number>()
  for (const r of results) if (r.status !== 200) byError.set(`${r.status} ${r.body.error}`, (byError.get(`${r.status} ${r.body.error}`) ?? 0) + 1)
  const instancesHit = new Set(results.map((r) => r.instance)).size
  let successorRefused = 0
  for (const winner of winners) {
    const again = await cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: winner.body.refreshToken } })
    if (again.status === 401) successorRefused++
  }
  return { winners: winners.length, byError, instancesHit, successorRefused }
}

async function killPhase(cluster: Cluster, issued: SessionAnswer[]) {
  const victim = cluster.instances[INSTANCES - 1]
  const retriedBefore = cluster.client.retried
  let redone = 0
  let answered = 0
  let kill: Promise<void> | undefined
  let loginFailures = 0
  await runPool(KILL_LOAD_LOGINS, CONCURRENCY, async (i) => {
    try {
      const flow = await loginFlow(cluster, `openid-kill-load-${i}`)
      redone += flow.redone
      record('POST /api/auth/login (kill phase)', flow.answer)
    } catch (err) {
      loginFailures++
      failures.push(`kill-phase login ${i}: ${(err as Error).message}`)
    }
    if (++answered === KILL_LOAD_LOGINS / 2) {
      log(`SIGKILL server #${victim.index} (pid ${victim.pid}) with ${CONCURRENCY} logins in flight`)
      kill = victim.kill('SIGKILL')
    }
  })
  await kill
  // everything issued before the kill (the load phase's sessions) still works on the survivors
  let tokensOk = 0
  let refreshOk = 0
  await runPool(issued.length, CONCURRENCY, async (i) => {
    const me = await cluster.client.call('GET', '/api/user/me', { token: issued[i].token, idempotent: true })
    record('GET /api/user/me (after kill)', me)
    if (me.status === 200 && me.instance !== victim.index) tokensOk++
    const refreshed = await cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: issued[i].refreshToken } })
    record('POST /api/auth/refresh', refreshed)
    if (refreshed.status === 200 && refreshed.instance !== victim.index) refreshOk++
  })
  return { loginFailures, redone, refusedRetried: cluster.client.retried - retriedBefore, tokensOk, refreshOk, victim: victim.index }
}

async function redisRestartPhase(cluster: Cluster, session: SessionAnswer) {
  const pids = cluster.instances.filter((i) => i.alive).map((i) => i.pid)
  log('Redis stop')
  await cluster.redis!.stop()
  const downMs: number[] = []
  const downStatuses = new Map<string, number>()
  try {
    await runPool(REDIS_DOWN_CALLS, CONCURRENCY, async (i) => {
      let answer: CallResult
      if (i % 2 === 0) {
        const code = await cluster.fake.mintCode(`openid-redis-down-${i}`)
        answer = await cluster.client.call('POST', '/api/auth/login', { body: { code } })
      } else {
        answer = await cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } })
      }
      downMs.push(answer.ms)
      const key = `${answer.status} ${answer.body?.error}`
      downStatuses.set(key, (downStatuses.get(key) ?? 0) + 1)
    })
  } finally {
    log('Redis start (same port)')
    await cluster.redis!.restart() // stopped already: this starts it again on the same port
  }
  const backAt = performance.now()
  for (const instance of cluster.instances.filter((i) => i.alive)) {
    for (;;) {
      const health = await cluster.client.call('GET', '/healthz', { instance: instance.index })
      if (health.status === 200) break
      if (performance.now() - backAt > 15000) throw new Error(`server #${instance.index} still unhealthy 15 s after Redis came back`)
      await sleep(50)
    }
  }
  const recoveredMs = performance.now() - backAt
  let after = 0
  await runPool(AFTER_REDIS_LOGINS, CONCURRENCY, async (i) => {
    try {
      const flow = await loginFlow(cluster, `openid-after-redis-${i}`)
      record('POST /api/auth/login (after Redis restart)', flow.answer)
      after++
    } catch (err) {
      failures.push(`after-Redis login ${i}: ${(err as Error).message}`)
    }
  })
  const samePids = JSON.stringify(cluster.instances.filter((i) => i.alive).map((i) => i.pid)) === JSON.stringify(pids)
  return { downMs, downStatuses, recoveredMs, after, samePids }
}

async function main(): Promise<void> {
  const started = performance.now()
  log(`starting Redis, the fake WeChat and ${INSTANCES} server processes`)
  const cluster = await startCluster({ instances: INSTANCES })
  let stopping: Promise<void> | undefined
  const stop = () => (stopping ??= cluster.stop())
  const deadline = setTimeout(() => {
    process.stderr.write(`bench: still running after ${HARD_DEADLINE_MS / 1000} s; stopping everything\n`)
    void stop().finally(() => process.exit(1))
  }, HARD_DEADLINE_MS)
  deadline.unref()
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop().finally(() => process.exit(130)))

  try {
    log(`runtime ${cluster.runtime}; servers ${cluster.instances.map((i) => i.url).join(' ')}; Redis ${cluster.redis!.url}`)
    const statsStart = await cluster.fake.stats()
    const sessions: SessionAnswer[] = new Array(LOGINS)

    log(`load part 1: logins and phone calls, ${CONCURRENCY} at a time`)
    const load = await loadPhase(cluster, sessions)
    const statsMid = await cluster.fake.stats()

    log('between the expiries: verify() in-process, GET /api/user/me, crossing, refresh race')
    const verify = await verifyInProcess(cluster)
    const me = await meOverHttp(cluster, sessions.filter(Boolean))
    const crossing = await crossingCheck(cluster)
    const race = await refreshRace(cluster)
    if (load.firstRenewedAt() === 0) throw new Error('no phone call met the first expiry')
    const wait = load.firstRenewedAt() + FORCE_GAP_MS - performance.now()
    if (wait > 0) {
      log(`waiting ${fmt(wait / 1000)} s: WeChat allows a forced refresh at most every 30 s`)
      await sleep(wait)
    }
    const statsBeforePart2 = await cluster.fake.stats()
    const part2Ms = await load.finish()
    const statsEnd = await cluster.fake.stats()
    const loginStats = routes.get('POST /api/auth/login')!
    const loadSeconds = (load.part1Ms + part2Ms) / 1000

    log(`login burst: ${LOGIN_BURST} logins, codes minted beforehand`)
    const burst = await loginBurst(cluster)

    log('kill phase')
    const issued = sessions.filter(Boolean)
    const kill = await killPhase(cluster, issued)

    log('Redis restart phase')
    const redis = await redisRestartPhase(cluster, issued[0])

    // ----- invariants -----
    const stableCalls = (a: FakeStats, b: FakeStats) => b.stable_token - a.stable_token
    check('logins answered 200 (load)', LOGINS, loginStats.ok)
    check('phone calls answered 200 (load)', PHONE_CALLS, routes.get('POST /api/auth/phone')!.ok)
    check('failed calls (load)', 0, loginStats.failed + routes.get('POST /api/auth/phone')!.failed)
    check('stable_token calls: first fetch + expiry 1', 2, stableCalls(statsStart, statsMid))
    check('stable_token calls: between the expiries', 0, stableCalls(statsMid, statsBeforePart2))
    check('stable_token calls: expiry 2', 1, stableCalls(statsBeforePart2, statsEnd))
    check('classic /cgi-bin/token calls', 0, statsEnd.token - statsStart.token)
    check('logins redone (load: no instance died)', 0, load.redone())
    // + the in-process verify login, the crossing login and the race login
    check('jscode2session calls = logins + 3', LOGINS + 3, statsEnd.jscode2session - statsStart.jscode2session)
    check(`token from one instance works on all ${INSTANCES}`, INSTANCES, crossing)
    check(`refresh race: successes of ${RACE_REFRESHES}`, 1, race.winners)
    check('refresh race: instances hit', INSTANCES, race.instancesHit)
    check("refresh race: winner's successor refused (family revoked)", race.winners, race.successorRefused)
    check('GET /api/user/me failures', 0, routes.get('GET /api/user/me')!.failed)
    check('kill phase: failed logins', 0, kill.loginFailures)
    check('kill phase: refused calls moved to the next instance (> 0)', true, kill.refusedRetried > 0)
    check('kill phase: tokens issued before the kill accepted by survivors', issued.length, kill.tokensOk)
    check('kill phase: refresh tokens issued before the kill accepted by survivors', issued.length, kill.refreshOk)
    check(`login burst: answered 200`, LOGIN_BURST, routes.get('POST /api/auth/login (burst, codes minted beforehand)')!.ok)
    check('Redis down: calls answered 503 store_unavailable', REDIS_DOWN_CALLS, redis.downStatuses.get('503 store_unavailable') ?? 0)
    check('Redis back: logins answered 200', AFTER_REDIS_LOGINS, redis.after)
    check('Redis back: same server processes (no restart)', true, redis.samePids)
    check('server processes that died on their own', 0, cluster.crashes().length)

    // ----- report -----
    const apis = Object.keys(statsEnd)
    process.stdout.write('\n### The fake WeChat\'s call counts\n\n')
    process.stdout.write(
      table(
        ['API', 'start', 'after expiry 1', 'before expiry 2', 'end of load'],
        apis.map((api) => [api, statsStart[api], statsMid[api], statsBeforePart2[api], statsEnd[api]]),
      ) + '\n',
    )
    process.stdout.write(`\n### Routes (${INSTANCES} instances, one Redis, ${CONCURRENCY} calls in flight)\n\n`)
    process.stdout.write(
      table(
        ['route', 'calls', 'ok', 'failed', 'p50 ms', 'p99 ms'],
        [...routes].map(([route, s]) => [route, s.ms.length, s.ok, s.failed, fmt(percentile(s.ms, 50)), fmt(percentile(s.ms, 99))]),
      ) + '\n',
    )
    process.stdout.write('\n### Throughput\n\n')
    process.stdout.write(
      table(
        ['measure', 'per second'],
        [
          [`logins + phone calls (load phase, ${LOGINS + PHONE_CALLS} calls)`, fmt((LOGINS + PHONE_CALLS) / loadSeconds, 0)],
          [`logins alone (burst of ${LOGIN_BURST}, codes minted beforehand)`, fmt(burst.perSecond, 0)],
          [`verify() in-process (${VERIFY_CALLS} calls, one token)`, fmt(verify.perSecond, 0)],
          [`GET /api/user/me over HTTP (${ME_CALLS} calls)`, fmt(me.perSecond, 0)],
        ],
      ) + '\n',
    )
    process.stdout.write('\n### Faults\n\n')
    process.stdout.write(
      table(
        ['fault', 'figure'],
        [
          [
            'phone calls retried once after meeting an expired access_token',
            statsEnd.getuserphonenumber - statsStart.getuserphonenumber - PHONE_CALLS,
          ],
          ['refresh race: answers other than 200', [...race.byError].map(([k, v]) => `${v}× ${k}`).join(', ')],
          [`kill: calls refused by the dead instance, sent to the next`, kill.refusedRetried],
          [`kill: logins cut in flight, redone with a fresh code`, kill.redone],
          ['Redis down: answers', [...redis.downStatuses].map(([k, v]) => `${v}× ${k}`).join(', ')],
          ['Redis down: p50 / p99 / max ms of those failures', `${fmt(percentile(redis.downMs, 50))} / ${fmt(percentile(redis.downMs, 99))} / ${fmt(Math.max(...redis.downMs))}`],
          ['Redis back: ms until every instance is healthy', fmt(redis.recoveredMs, 0)],
        ],
      ) + '\n',
    )
    process.stdout.write('\n### Invariants\n\n')
    process.stdout.write(table(['invariant', 'expected', 'actual', ''], invariants.map((i) => [i.name, i.expected, i.actual, i.pass ? 'ok' : 'FAIL'])) + '\n')
    for (const crash of cluster.crashes()) process.stdout.write(`\n${crash}\n`)
    if (failures.length > 0) process.stdout.write(`\nfailed calls (${failures.length}), the first 10:\n${failures.slice(0, 10).join('\n')}\n`)
    process.stdout.write(`\nwhole run: ${fmt((performance.now() - started) / 1000)} s (${process.platform}, node ${process.version}, ${require('node:os').cpus().length} cores)\n`)
    if (invariants.some((i) => !i.pass) || failures.length > 0) {
      process.stdout.write('\nFAILED\n' + cluster.logs() + '\n')
      process.exitCode = 1
    }
  } catch (err) {
    process.stdout.write(`\nFAILED: ${(err as Error).stack ?? err}\n${cluster.logs()}\n`)
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
