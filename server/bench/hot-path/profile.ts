/**
 * A CPU profile of the ready-made server under load: one process (dist/bin.js with
 * `node --cpu-prof`), `GET /api/user/me` with a valid token from 50 connections, then SIGTERM
 * (the profile is written as it exits), and the top functions by self time.
 *
 *   npm run build -w weapp-auth-server && tsx bench/hot-path/profile.ts [memory|sqlite|redis] [seconds=10] [out-dir]
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { deploy, type StoreKind } from './deployment'
import { formatTop, topSelfTime } from './cpuprofile-top'
import { loadMe } from './load'

async function main(): Promise<void> {
  const store = (process.argv[2] ?? 'memory') as StoreKind
  const seconds = Number(process.argv[3] ?? 10)
  const out = process.argv[4] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-profile-'))
  fs.mkdirSync(out, { recursive: true })
  const deployment = await deploy({ store, processes: 1, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', out], withoutReference: true, logDir: out })
  let result
  let window: number
  try {
    // Warm-up first; then only the measured load (and the stop) is summarised, not the start-up.
    await loadMe(deployment.bins, 50, 2)
    const started = Date.now()
    result = await loadMe(deployment.bins, 50, seconds)
    await deployment.stop()
    window = Date.now() - started
  } finally {
    await deployment.stop()
  }
  const profiles = fs.readdirSync(out).filter((f) => f.endsWith('.cpuprofile'))
  // The newest profile is the bin's (the fake WeChat is not profiled: no --cpu-prof there).
  const file = profiles.map((f) => path.join(out, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0]
  if (!file) throw new Error(`no .cpuprofile was written in ${out}`)
  process.stdout.write(`store ${store}: ${result.perSecond.toFixed(0)} req/s, p99 ${result.p99} ms, ${result.failures} failures\nprofile: ${file}\n`)
  process.stdout.write(formatTop(topSelfTime(file, 15, window)) + '\n')
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
