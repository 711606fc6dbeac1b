/**
 * `npm run bench`: weapp-auth against (a) bare wx.request with a hand-set token and (b) the
 * the naive wrapper many apps start from (bench/seed-wrapper.ts), all on the same fake wx and in-memory server, in one
 * run. Prints counts and ratios, not wall times alone.
 */
import { execFileSync } from 'child_process'
import * as path from 'path'
import { createAuth } from '../dist/index.mjs'
import { createFakeAuthServer, createFakeWx, type FakeWx } from '../dist/testing.mjs'
import { createSeedWrapper } from './seed-wrapper'
import { describeSoak, runSoak } from './soak'

const BASE = 'https://api.example.com'
const WINDOW_MS = 1500 // how long a call may take before the bench calls it "hung"
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function world(latency: number | (() => number) = 1) {
  const fake = createFakeWx({ latency })
  const server = createFakeAuthServer(fake)
  server.route('GET', '/api/items', (req, ctx) => ({ data: { user: ctx.userId, i: req.query.i } }))
  fake.setHandler(server.handler)
  return { fake, server }
}

/** A world with a weapp-auth instance already logged in. */
async function loggedIn(latency: number | (() => number)) {
  const w = world(latency)
  const auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: w.fake.wx as never })
  const token = (await auth.login()).token
  return { ...w, auth, token }
}

/** Settled / rejected / still pending after WINDOW_MS. */
async function outcome(ps: Array<Promise<unknown>>) {
  const state = ps.map(() => 'pending' as 'pending' | 'ok' | 'rejected')
  ps.forEach((p, i) => p.then(() => (state[i] = 'ok'), () => (state[i] = 'rejected')))
  await sleep(WINDOW_MS)
  return { ok: state.filter((s) => s === 'ok').length, rejected: state.filter((s) => s === 'rejected').length, pending: state.filter((s) => s === 'pending').length }
}

function loginReqs(fake: FakeWx) {
  return fake.requests.filter((r) => r.path === '/api/auth/login').length
}
function itemSends(fake: FakeWx) {
  return fake.requests.filter((r) => r.path === '/api/items').length
}

type Row = { check: string; goal: string; bare: string; seed: string; weappAuth: string }
const rows: Row[] = []

async function burstOfExpired() {
  const N = 50
  const lat = () => 1 + Math.floor(Math.random() * 5)
  // weapp-auth
  const a = await loggedIn(lat)
  const { auth } = a
  a.server.expireTokens()
  a.fake.resetCounters()
  const ra = await outcome(Array.from({ length: N }, (_, i) => auth.get('/api/items', { data: { i } })))
  // seed
  const s = world(lat)
  const seed = createSeedWrapper(s.fake.wx, BASE)
  await seed.login()
  s.server.expireTokens()
  s.fake.resetCounters()
  const rs = await outcome(Array.from({ length: N }, (_, i) => seed.request({ url: '/api/items?i=' + i })))
  rows.push({
    check: `${N} concurrent requests, token expired on the server: wx.login calls / login requests`,
    goal: '1 / 1',
    bare: 'n/a (no re-login)',
    seed: `${s.fake.calls.login} / ${loginReqs(s.fake)} (${rs.ok} ok, ${s.server.stats.rejectedCodes} codes refused)`,
    weappAuth: `${a.fake.calls.login} / ${loginReqs(a.fake)} (${ra.ok} ok)`,
  })
  rows.push({
    check: `  same burst: peak network tasks in flight (platform limit 10)`,
    goal: '≤ 10',
    bare: '-',
    seed: String(s.fake.network.peak),
    weappAuth: String(a.fake.network.peak),
  })
}

async function alwaysUnauthorized() {
  const N = 20
  const a = await loggedIn(1)
  const { auth } = a
  a.server.alwaysUnauthorized = true
  a.fake.resetCounters()
  const ra = await outcome(Array.from({ length: N }, (_, i) => auth.get('/api/items', { data: { i } })))
  const s = world(1)
  const seed = createSeedWrapper(s.fake.wx, BASE)
  await seed.login()
  s.server.alwaysUnauthorized = true
  s.fake.resetCounters()
  const seedCalls = Array.from({ length: N }, (_, i) => seed.request({ url: '/api/items?i=' + i }))
  const rs = await outcome(seedCalls)
  const seedSends = itemSends(s.fake)
  // stop the seed's endless loop so the process can go on
  s.server.alwaysUnauthorized = false
  rows.push({
    check: `server always answers 401, ${N} calls: settled · sends per call`,
    goal: `${N} rejected · 2`,
    bare: '-',
    seed: `${rs.rejected + rs.ok} settled, ${rs.pending} pending · ${(seedSends / N).toFixed(0)} sends/call in ${WINDOW_MS} ms and counting`,
    weappAuth: `${ra.rejected} rejected, ${ra.pending} pending · ${(itemSends(a.fake) / N).toFixed(2)}`,
  })
}

async function loginDown() {
  const N = 20
  const a = await loggedIn(1)
  const { auth } = a
  a.server.expireTokens()
  a.server.loginStatus = 503
  const ra = await outcome(Array.from({ length: N }, (_, i) => auth.get('/api/items', { data: { i } })))
  const s = world(1)
  const seed = createSeedWrapper(s.fake.wx, BASE)
  await seed.login()
  s.server.expireTokens()
  s.server.loginStatus = 503
  const before = unhandled
  const rs = await outcome(Array.from({ length: N }, (_, i) => seed.request({ url: '/api/items?i=' + i })))
  rows.push({
    check: `login endpoint down, ${N} calls with an expired token: settled / pending`,
    goal: `${N} / 0`,
    bare: '-',
    seed: `${rs.ok + rs.rejected} / ${rs.pending} (${unhandled - before} unhandled rejections)`,
    weappAuth: `${ra.ok + ra.rejected} / ${ra.pending} (logins tried: ${a.fake.calls.login - 1})`,
  })
}

async function concurrency() {
  const N = 30
  const lat = () => 2 + Math.floor(Math.random() * 6)
  const a = await loggedIn(lat)
  const { auth } = a
  a.fake.resetCounters()
  await Promise.all(Array.from({ length: N }, (_, i) => auth.get('/api/items', { data: { i } })))
  const b = await loggedIn(lat)
  const token = b.token
  b.fake.resetCounters()
  await Promise.all(
    Array.from({ length: N }, (_, i) => new Promise((res, rej) => b.fake.wx.request({ url: BASE + '/api/items?i=' + i, header: { Authorization: 'Bearer ' + token }, success: res, fail: rej }))),
  )
  rows.push({
    check: `${N} concurrent calls: peak network tasks in flight`,
    goal: '≤ 10',
    bare: String(b.fake.network.peak),
    seed: String(N) + ' (no queue)',
    weappAuth: String(a.fake.network.peak),
  })
}

/**
 * Request overhead, measured by bench/overhead.mjs under plain node (see there why). `dist`
 * selects the build to measure: `npm run bench` measures ./dist; BENCH_BEFORE_DIST=<dir> adds a
 * row for another build (how the README's before/after figures were taken).
 */
function overhead(dist = 'dist', label = '') {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'overhead.mjs'), '--dist', dist], { encoding: 'utf8' })
  const r = JSON.parse(out.trim().split('\n').pop() as string) as { n: number; runs: number; ratio: number; p25: number; p75: number; bareMs: number; sdkMs: number; usPerRequest: number }
  rows.push({
    check: `${r.n} sequential requests, zero latency: CPU time ratio to bare wx.request (median of ${r.runs} interleaved runs; p25–p75)${label}`,
    goal: '≤ 1.5×',
    bare: `1.00× (${r.bareMs.toFixed(0)} ms)`,
    seed: '-',
    weappAuth: `${r.ratio.toFixed(2)}× (${r.p25.toFixed(2)}–${r.p75.toFixed(2)}; ${r.sdkMs.toFixed(0)} ms, +${r.usPerRequest.toFixed(1)} µs/request)`,
  })
}

/** The size check's figures (scripts/check-size.mjs): what an app bundles. */
function sizes() {
  let out: string
  try {
    out = execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'check-size.mjs'), '--json'], { encoding: 'utf8' })
  } catch (err) {
    out = String((err as { stdout?: string }).stdout || '')
  }
  const m = JSON.parse(out.trim().split('\n').pop() as string) as Array<{ name: string; gz: number; budget: number }>
  const kb = (name: string) => {
    const e = m.find((x) => x.name === name)!
    return `${(e.gz / 1000).toFixed(1)} kB`
  }
  rows.push({
    check: "gzip (esbuild -minify, gzip -9): createAuth from weapp-auth/core · all of weapp-auth/open on top · miniprogram_dist/core.js + shared.js",
    goal: '≤ 7.0 · 3.0 · 8.0 kB',
    bare: '-',
    seed: '-',
    weappAuth: `${kb('core')} · ${kb('open')} · ${kb('miniprogram')}`,
  })
  rows.push({
    check: "  other hosts, gzip on top of core: qqPlatform · douyinPlatform · alipayPlatform · host detection (import { createAuth } from 'weapp-auth')",
    goal: '-',
    bare: '-',
    seed: '-',
    weappAuth: ['core+qq', 'core+douyin', 'core+alipay', 'detect'].map((n) => '+' + m.find((x) => x.name === n)!.gz + ' B').join(' · '),
  })
}

function print() {
  const cols: Array<keyof Row> = ['check', 'goal', 'bare', 'seed', 'weappAuth']
  const head: Row = { check: 'check', goal: 'goal', bare: 'bare wx.request', seed: 'naive wrapper', weappAuth: 'weapp-auth' }
  const all = [head, ...rows]
  const width = cols.map((c) => Math.max(...all.map((r) => r[c].length)))
  const line = (r: Row) => '| ' + cols.map((c, i) => r[c].padEnd(width[i])).join(' | ') + ' |'
  console.log(line(head))
  console.log('|' + width.map((w) => '-'.repeat(w + 2)).join('|') + '|')
  for (const r of rows) console.log(line(r))
}

// The seed's `login().then(...)` has no rejection handler: count what it leaks instead of crashing.
let unhandled = 0
process.on('unhandledRejection', () => {
  unhandled++
})

async function main() {
  await burstOfExpired()
  await alwaysUnauthorized()
  await loginDown()
  await concurrency()
  overhead()
  if (process.env.BENCH_BEFORE_DIST) overhead(process.env.BENCH_BEFORE_DIST, ` — ${process.env.BENCH_BEFORE_DIST}`)
  sizes()
  print()
  console.log('\nSoak (full size):')
  console.log(describeSoak(await runSoak({ requests: 10000 })))
  // the seed's endless retries keep timers alive: end explicitly
  process.exit(0)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
