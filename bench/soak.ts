/**
 * Soak: many requests with random latencies, random 401s and network faults, across several
 * token expiries, on the fake wx and the in-memory server. One implementation for both the
 * jest test (test/soak.test.ts, reduced size) and the bench (`npx tsx bench/soak.ts`, 10 000
 * requests; `bench/run.ts` imports `runSoak`).
 *
 * The fault model:
 *  - scheduled expiries: at evenly spaced points the server expires every token it issued;
 *  - random 401s (`unauthorizedRate`): the server refuses the request and revokes the token it
 *    carried, as a server does when it decides a token is no longer valid. When that token was
 *    still valid this is one more expiry;
 *  - random network faults (`networkFaultRate`) on the API route (the login route is left alone,
 *    so every expiry is followed by exactly one successful login);
 *  - a few requests aborted by their signal (`abortRate`).
 * Expected: every request settles; logins = 1 (the first) + expiries, minus at most one (an
 * expiry near the end that no later request presents is never renewed); at the end nothing is
 * queued or in flight, no listener is left (on the instance or on any request's signal).
 */
import * as v8 from 'v8'
import * as vm from 'vm'
import { createAbortController, createAuth, isWeappAuthError } from '../src/index'
import { createFakeAuthServer, createFakeWx } from '../src/testing/index'

export interface SoakOptions {
  requests?: number
  /** Scheduled server-side expiries of every token. Default 5. */
  expiries?: number
  unauthorizedRate?: number
  networkFaultRate?: number
  abortRate?: number
  /** Latency of each answer is uniform in [0, maxLatency] ms. Default 4. */
  maxLatency?: number
  /** Requests the app keeps outstanding at once (the SDK still sends at most 10). Default 40. */
  concurrency?: number
  seed?: number
  /** Measure heap growth (forces GC; slower). Default true when GC can be reached. */
  measureHeap?: boolean
}

export interface SoakFigures {
  requests: number
  settled: number
  outcomes: Record<string, number>
  injected: { unauthorized: number; networkFaults: number; aborts: number }
  expiries: { scheduled: number; byRandom401: number; total: number }
  logins: number
  /** 1 + expiries.total: what logins should be (it may be one less, see above). */
  expectedLogins: number
  rejectedLoginCodes: number
  maxQueued: number
  networkPeak: number
  networkOverLimit: number
  final: { phase: string; activeRequests: number; queuedRequests: number; listeners: number; signalListeners: number; networkActive: number }
  /** Heap used after GC at the end minus after GC at the start (bytes); null when GC is unavailable. */
  heapGrowthBytes: number | null
  durationMs: number
}

const BASE = 'https://api.example.com'

/** A small seeded PRNG (mulberry32), so a run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function findGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc
  if (typeof g === 'function') return g
  try {
    v8.setFlagsFromString('--expose-gc')
    return vm.runInNewContext('gc') as () => void
  } catch (_) {
    return null
  }
}

function heapAfterGc(gc: () => void): number {
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

export async function runSoak(options: SoakOptions = {}): Promise<SoakFigures> {
  const total = options.requests ?? 10000
  const scheduled = options.expiries ?? 5
  const p401 = options.unauthorizedRate ?? 0.05
  const pNet = options.networkFaultRate ?? 0.02
  const pAbort = options.abortRate ?? 0.01
  const maxLatency = options.maxLatency ?? 4
  const concurrency = options.concurrency ?? 40
  const rand = prng(options.seed ?? 1)
  const gc = options.measureHeap === false ? null : findGc()
  const started = Date.now()

  const fake = createFakeWx({ latency: () => Math.floor(rand() * (maxLatency + 1)) })
  const server = createFakeAuthServer(fake, { refreshTokens: false })
  server.route('GET', '/api/items', (req, ctx) => ({ data: { user: ctx.userId, i: req.query.i } }))
  const injected = { unauthorized: 0, networkFaults: 0, aborts: 0 }
  const expiries = { scheduled: 0, byRandom401: 0, total: 0 }
  fake.setHandler((req) => {
    if (req.path === '/api/items') {
      const r = rand()
      if (r < pNet) {
        injected.networkFaults++
        return { networkError: 'net::ERR_CONNECTION_RESET' }
      }
      if (r < pNet + p401) {
        injected.unauthorized++
        const bearer = /^Bearer (.+)$/.exec(req.header.Authorization || '')
        // Revoke the token this request carried. Without refresh tokens at most one token is valid at a time.
        if (bearer && server.validTokens().indexOf(bearer[1]) >= 0) {
          server.expireTokens()
          expiries.byRandom401++
        }
        return { statusCode: 401, data: { error: 'token revoked' } }
      }
    }
    return server.handler(req)
  })

  const auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx as never })
  let loginEvents = 0
  const offLogin = auth.on('login', () => loginEvents++)
  // Warm up (first login, JIT), then take the heap baseline.
  await auth.get('/api/items', { data: { i: -1 } }).catch(() => undefined)
  fake.resetCounters()
  const heapBefore = gc ? heapAfterGc(gc) : 0

  const outcomes: Record<string, number> = {}
  const count = (k: string) => (outcomes[k] = (outcomes[k] || 0) + 1)
  const expiryAt = new Set<number>()
  for (let k = 1; k <= scheduled; k++) expiryAt.add(Math.floor((total * k) / (scheduled + 1)))
  let signalListeners = 0
  let settled = 0
  let maxQueued = 0
  let networkPeak = 0
  let networkOverLimit = 0
  let next = 0
  let dueExpiries = 0

  await new Promise<void>((done) => {
    const launch = (): void => {
      while (next < total && next - settled < concurrency) {
        const i = next++
        // A scheduled expiry waits until there is a valid token to expire (a login may be in flight).
        if (expiryAt.has(i)) dueExpiries++
        if (dueExpiries && server.validTokens().length) {
          server.expireTokens()
          expiries.scheduled++
          dueExpiries--
        }
        let ctrl: ReturnType<typeof createAbortController> | null = null
        if (rand() < pAbort) {
          injected.aborts++
          ctrl = createAbortController()
          const c = ctrl
          setTimeout(() => c.abort('soak'), Math.floor(rand() * (maxLatency + 2)))
        }
        const c = ctrl
        auth
          .get('/api/items', { data: { i }, signal: c ? c.signal : undefined })
          .then(
            () => count('ok'),
            (e: unknown) => count(isWeappAuthError(e) ? e.code : 'untyped: ' + String(e)),
          )
          .then(() => {
            if (c) signalListeners += (c.signal as unknown as { listenerCount: number }).listenerCount
            settled++
            if (settled % 100 === 0) {
              maxQueued = Math.max(maxQueued, auth.debugState().queuedRequests)
              networkPeak = Math.max(networkPeak, fake.network.peak)
              networkOverLimit += fake.network.overLimit
              fake.resetCounters() // the fake's request log is test bookkeeping, not SDK memory
            }
            if (settled === total) done()
            else launch()
          })
      }
      maxQueued = Math.max(maxQueued, auth.debugState().queuedRequests)
    }
    launch()
  })
  await fake.idle()
  offLogin()
  networkPeak = Math.max(networkPeak, fake.network.peak)
  networkOverLimit += fake.network.overLimit
  fake.resetCounters()
  const heapAfter = gc ? heapAfterGc(gc) : 0
  expiries.total = expiries.scheduled + expiries.byRandom401
  const state = auth.debugState()
  // Every login the server counted reached the app as one `login` event.
  if (loginEvents !== server.stats.logins) outcomes['login events ≠ logins'] = loginEvents
  return {
    requests: total,
    settled,
    outcomes,
    injected,
    expiries,
    logins: server.stats.logins,
    expectedLogins: 1 + expiries.total,
    rejectedLoginCodes: server.stats.rejectedCodes,
    maxQueued,
    networkPeak,
    networkOverLimit,
    final: {
      phase: state.phase,
      activeRequests: state.activeRequests,
      queuedRequests: state.queuedRequests,
      listeners: state.listeners,
      signalListeners,
      networkActive: fake.network.active,
    },
    heapGrowthBytes: gc ? heapAfter - heapBefore : null,
    durationMs: Date.now() - started,
  }
}

/** One paragraph for humans. */
export function describeSoak(f: SoakFigures): string {
  const mb = (b: number) => (b / 1024 / 1024).toFixed(2) + ' MB'
  return [
    `soak: ${f.requests} requests, ${f.settled} settled in ${f.durationMs} ms`,
    `  outcomes: ${Object.keys(f.outcomes).sort().map((k) => `${k} ${f.outcomes[k]}`).join(', ')}`,
    `  injected: ${f.injected.unauthorized} random 401s, ${f.injected.networkFaults} network faults, ${f.injected.aborts} aborts`,
    `  expiries: ${f.expiries.total} (${f.expiries.scheduled} scheduled + ${f.expiries.byRandom401} by a random 401 on a valid token)`,
    `  logins: ${f.logins} (expected ${f.expectedLogins}, or one less; ratio ${(f.logins / f.expectedLogins).toFixed(3)}), codes rejected: ${f.rejectedLoginCodes}`,
    `  max queued: ${f.maxQueued}, network peak: ${f.networkPeak} (over limit: ${f.networkOverLimit})`,
    `  at the end: phase ${f.final.phase}, active ${f.final.activeRequests}, queued ${f.final.queuedRequests}, listeners ${f.final.listeners}, signal listeners ${f.final.signalListeners}, network tasks ${f.final.networkActive}`,
    `  heap growth after GC: ${f.heapGrowthBytes === null ? 'not measured (no GC access)' : mb(f.heapGrowthBytes) + ` (${(f.heapGrowthBytes / f.requests).toFixed(1)} bytes/request)`}`,
  ].join('\n')
}

// Run directly (`npx tsx bench/soak.ts [requests]`), not when imported by bench/run.ts or the jest test.
if (/[\\/]soak\.ts$/.test(process.argv[1] || '')) {
  const n = Number(process.argv[2]) || 10000
  runSoak({ requests: n }).then(
    (f) => {
      console.log(describeSoak(f))
      const ok = f.settled === f.requests && f.logins <= f.expectedLogins && f.logins >= f.expectedLogins - 1 && f.final.queuedRequests === 0 && f.final.activeRequests === 0 && f.final.listeners === 0 && f.final.signalListeners === 0
      if (!ok) {
        console.error('soak: FAILED')
        process.exitCode = 1
      }
    },
    (e) => {
      console.error(e)
      process.exitCode = 1
    },
  )
}
