/**
 * Request overhead against bare wx.request, run by bench/run.ts in a child process with plain
 * `node`: the built package is measured as shipped (tsx, which runs the rest of the bench,
 * would wrap every function of dist/ with its keep-names helper and bill that to weapp-auth).
 *
 * Same fake wx and in-memory server for both sides, zero latency, so the difference is the
 * SDK's own work. Runs of N sequential requests alternate bare/SDK and SDK/bare (interleaved, so
 * drift and other processes on the machine hit both sides alike); each run's CPU time of this
 * process (process.cpuUsage, less disturbed by a busy machine than wall time) gives a ratio;
 * the result is the median ratio. Prints one JSON line.
 *
 *   node --expose-gc bench/overhead.mjs [--dist dist] [--runs 21] [--n 4000]
 */
import * as path from 'path'
import { fileURLToPath, pathToFileURL } from 'url'

const here = path.dirname(fileURLToPath(import.meta.url))
const arg = (name, fallback) => {
  const i = process.argv.indexOf('--' + name)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const dist = path.resolve(here, '..', arg('dist', 'dist'))
const RUNS = Number(arg('runs', 21))
const N = Number(arg('n', 4000))
const BASE = 'https://api.example.com'

const { createAuth } = await import(pathToFileURL(path.join(dist, 'index.mjs')).href)
const { createFakeAuthServer, createFakeWx } = await import(pathToFileURL(path.join(here, '..', 'dist', 'testing.mjs')).href)

const fake = createFakeWx({ latency: 0 })
const server = createFakeAuthServer(fake)
server.route('GET', '/api/items', (req, ctx) => ({ data: { user: ctx.userId, i: req.query.i } }))
fake.setHandler(server.handler)
const auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx })
const token = (await auth.login()).token

const bare = (i) =>
  new Promise((resolve, reject) =>
    fake.wx.request({
      url: BASE + '/api/items',
      data: { i },
      header: { Authorization: 'Bearer ' + token },
      success: (r) => (r.statusCode === 200 ? resolve(r.data) : reject(r)),
      fail: reject,
    }),
  )
const sdk = (i) => auth.get('/api/items', { data: { i } })

async function run(fn) {
  fake.resetCounters() // the fake's request log would otherwise grow through the run
  // Each run starts from a collected heap (node --expose-gc), so one side does not pay for the
  // other's garbage.
  if (typeof globalThis.gc === 'function') globalThis.gc()
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) await fn(i)
  const wall = Number(process.hrtime.bigint() - t0) / 1e6
  const cpu = process.cpuUsage(cpu0)
  return { cpu: (cpu.user + cpu.system) / 1e3, wall }
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const quantile = (xs, q) => xs.slice().sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]

for (let w = 0; w < 5; w++) {
  await run(bare)
  await run(sdk)
}
const cpuRatios = []
const wallRatios = []
const bareCpu = []
const sdkCpu = []
for (let r = 0; r < RUNS; r++) {
  const first = r % 2 === 0
  const a = await run(first ? bare : sdk)
  const b = await run(first ? sdk : bare)
  const tb = first ? a : b
  const tl = first ? b : a
  bareCpu.push(tb.cpu)
  sdkCpu.push(tl.cpu)
  cpuRatios.push(tl.cpu / tb.cpu)
  wallRatios.push(tl.wall / tb.wall)
}
process.stdout.write(
  JSON.stringify({
    n: N,
    runs: RUNS,
    ratio: median(cpuRatios),
    p25: quantile(cpuRatios, 0.25),
    p75: quantile(cpuRatios, 0.75),
    wallRatio: median(wallRatios),
    bareMs: median(bareCpu),
    sdkMs: median(sdkCpu),
    usPerRequest: ((median(sdkCpu) - median(bareCpu)) * 1000) / N,
  }) + '\n',
)
process.exit(0)
