/**
 * What the test helpers that start real servers (redis.ts, sql-servers.ts) share: a free loopback
 * port, a child process tracked so it is killed if the test process ends (exit or a signal), and a
 * graceful stop that turns into SIGKILL after a grace period.
 */
import type { ChildProcess } from 'node:child_process'
import * as net from 'node:net'

const HOST = '127.0.0.1'

/** Every server child started through `track` and not seen to exit. */
const live = new Set<ChildProcess>()
let exitHookInstalled = false

function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', killAll)
  // A signal's default action skips 'exit' handlers: kill the servers, then, if nobody else
  // handles the signal, let it end this process as it would have.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll()
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal)
        process.kill(process.pid, signal)
      }
    }
    process.on(signal, onSignal)
  }
}

/** A port the kernel just handed out (then released): free, barring a race the callers retry on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))))
    })
  })
}

/** Tracks a server child: killed if this process ends; `exited` resolves when it is gone; the last 4000 characters of its output. */
export function track(child: ChildProcess): { exited: Promise<void>; output: () => string } {
  live.add(child)
  installExitHook()
  let out = ''
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-4000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>((resolve) => {
    const gone = () => {
      live.delete(child)
      resolve()
    }
    child.once('exit', gone)
    child.once('error', gone)
  })
  return { exited, output: () => out }
}

/** SIGTERM (after SIGCONT, in case a test stopped it), then SIGKILL after `graceMs`. */
export async function terminate(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGCONT')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
