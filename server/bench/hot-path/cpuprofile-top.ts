/**
 * Prints the functions with the most self time in a V8 CPU profile (`node --cpu-prof`):
 *
 *   tsx bench/hot-path/cpuprofile-top.ts <file.cpuprofile> [count=15] [last-ms]
 *
 * Self time is summed per function (name, file, line) over every node of the call tree, from the
 * samples' time deltas. `(idle)` is time the event loop waited for I/O; `(program)` native work
 * outside JavaScript (the HTTP parser, syscalls); `(garbage collector)` GC.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface SelfTime {
  name: string
  where: string
  ms: number
  /** Share of the profile's busy time (everything but idle). */
  share: number
}

/**
 * `lastMs`: only the samples of the profile's last `lastMs` milliseconds (the load, not the
 * process's start-up, which loads and compiles every module).
 */
export function topSelfTime(file: string, count = 15, lastMs = Infinity): { busyMs: number; idleMs: number; top: SelfTime[] } {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile
  const times: number[] = []
  let t = 0
  for (const delta of profile.timeDeltas) times.push((t += delta))
  const from = t - lastMs * 1000
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<string, { name: string; where: string; us: number }>()
  let idleUs = 0
  let totalUs = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i])
    const delta = profile.timeDeltas[i] ?? 0
    if (!node || delta < 0 || times[i] < from) continue
    totalUs += delta
    const { functionName, url, lineNumber } = node.callFrame
    const name = functionName || '(anonymous)'
    if (name === '(idle)') idleUs += delta
    const where = url ? `${shorten(url)}:${lineNumber + 1}` : ''
    const key = `${name}\u0000${where}`
    const entry = selfUs.get(key) ?? { name, where, us: 0 }
    entry.us += delta
    selfUs.set(key, entry)
  }
  const busyUs = totalUs - idleUs
  const top = [...selfUs.values()]
    .filter((e) => e.name !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, count)
    .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, share: busyUs > 0 ? e.us / busyUs : 0 }))
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, top }
}

/** node_modules/<package>/… or the path under server/. */
function shorten(url: string): string {
  const file = url.replace(/^file:\/\//, '')
  const nm = file.lastIndexOf('node_modules/')
  if (nm >= 0) return file.slice(nm + 'node_modules/'.length)
  const server = file.indexOf('/server/')
  return server >= 0 ? file.slice(server + 1) : path.basename(file)
}

export function formatTop(result: ReturnType<typeof topSelfTime>): string {
  const lines = [`busy ${result.busyMs.toFixed(0)} ms, idle ${result.idleMs.toFixed(0)} ms`, '  self ms   share  function (where)']
  for (const e of result.top) lines.push(`${e.ms.toFixed(0).padStart(8)}  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.name}${e.where ? ` (${e.where})` : ''}`)
  return lines.join('\n')
}

if (require.main === module) {
  const file = process.argv[2]
  if (!file) {
    process.stderr.write('usage: tsx bench/hot-path/cpuprofile-top.ts <file.cpuprofile> [count]\n')
    process.exit(1)
  }
  process.stdout.write(formatTop(topSelfTime(file, Number(process.argv[3] ?? 15), Number(process.argv[4] ?? Infinity))) + '\n')
}
