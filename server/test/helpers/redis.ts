/**
 * A real, throwaway Redis for tests and benchmarks: `startRedis()` spawns Debian's `redis-server`
 * on a free 127.0.0.1 port with no persistence and no config file, waits until it answers PING,
 * and hands back its URL plus `stop()`, `restart()` (same port, empty data: a Redis restart as
 * clients see it) and `flushAll()`. Every server it started is SIGKILLed when this process exits
 * (a failed test, a jest timeout, Ctrl-C in a bench), so nothing is left running. It imports
 * nothing from jest, so plain scripts (the multi-instance benchmark) can use it too.
 *
 * The binary is `redis-server` from PATH, or `REDIS_SERVER_BIN` when set.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as net from 'node:net'
import * as os from 'node:os'
import { freePort, terminate, track } from './processes'

export interface RedisHandle {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Stops the server (SIGTERM, then SIGKILL after 2 s). Safe to call twice. */
  stop(): Promise<void>
  /** Stops it, then starts a fresh one on the SAME port (data is gone: there is no persistence). */
  restart(): Promise<void>
  /** FLUSHALL: empties every database. */
  flushAll(): Promise<void>
  /** SIGSTOP: the server keeps its connections but answers nothing (a hung Redis). */
  freeze(): void
  /** SIGCONT: undoes `freeze()`. */
  thaw(): void
}

export interface StartRedisOptions {
  /** How long to wait for the first PONG. Default 10 s. */
  startTimeoutMs?: number
}

const HOST = '127.0.0.1'

function redisBinary(): string {
  return process.env.REDIS_SERVER_BIN || 'redis-server'
}

/** Sends one command in RESP and resolves with the first line of the reply (e.g. "+PONG"). */
export function redisCommand(port: number, args: string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port })
    let data = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`redis ${args[0]} on port ${port}: no answer within ${timeoutMs} ms`))
    }, timeoutMs)
    const finish = (err: Error | null, line?: string) => {
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else resolve(line as string)
    }
    socket.once('error', (err) => finish(err))
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8')
      const end = data.indexOf('\r\n')
      if (end >= 0) finish(null, data.slice(0, end))
    })
    socket.once('connect', () => {
      socket.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''))
    })
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Running {
  child: ChildProcess
  exited: Promise<void>
  output: () => string
}

function spawnRedis(port: number): Running {
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', os.tmpdir(), '--loglevel', 'warning']
  const child = spawn(redisBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const { exited, output } = track(child)
  return { child, exited, output }
}

/** Spawns on `port` and waits for PONG; rejects (with the server's output) if it exits or times out. */
async function launch(port: number, timeoutMs: number): Promise<Running> {
  const running = spawnRedis(port)
  let spawnError: (Error & { code?: string }) | undefined
  running.child.once('error', (err) => {
    spawnError = err
  })
  let exited = false
  void running.exited.then(() => {
    exited = true
  })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (spawnError) {
      if (spawnError.code === 'ENOENT') {
        throw new Error(
          `startRedis: \`${redisBinary()}\` was not found. The server tests need a real Redis: install it with \`apt-get install redis-server\` (Debian/Ubuntu) or set REDIS_SERVER_BIN to its path.`,
        )
      }
      throw new Error(`startRedis: could not start ${redisBinary()}: ${spawnError.message}`)
    }
    if (exited) throw new Error(`startRedis: redis-server on port ${port} exited during start-up:\n${running.output()}`)
    try {
      if ((await redisCommand(port, ['PING'], 500)) === '+PONG') return running
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      running.child.kill('SIGKILL')
      await running.exited
      throw new Error(`startRedis: redis-server on port ${port} did not answer PING within ${timeoutMs} ms:\n${running.output()}`)
    }
    await sleep(20)
  }
}

function stopRunning(running: Running): Promise<void> {
  return terminate(running.child, running.exited, 2000)
}

/** Starts a throwaway redis-server on a free port; see the file comment. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHandle> {
  const timeoutMs = options.startTimeoutMs ?? 10000
  let port = 0
  let running: Running | undefined
  let lastError: unknown
  // A free port can be taken between our probe and redis-server's bind: try a few.
  for (let attempt = 0; attempt < 5 && !running; attempt++) {
    port = await freePort()
    try {
      running = await launch(port, timeoutMs)
    } catch (err) {
      lastError = err
      if (err instanceof Error && /not found|could not start/.test(err.message)) throw err
    }
  }
  if (!running) throw lastError
  let current: Running | undefined = running
  const handle: RedisHandle = {
    url: `redis://${HOST}:${port}`,
    port,
    async stop() {
      const r = current
      current = undefined
      if (r) await stopRunning(r)
    },
    async restart() {
      await handle.stop()
      // The port was just released by our own server; a few quick tries cover a slow close.
      let err: unknown
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          current = await launch(port, timeoutMs)
          return
        } catch (e) {
          err = e
          await sleep(100)
        }
      }
      throw err
    },
    freeze() {
      if (!current) throw new Error('startRedis: freeze() while stopped')
      current.child.kill('SIGSTOP')
    },
    thaw() {
      current?.child.kill('SIGCONT')
    },
    async flushAll() {
      const reply = await redisCommand(port, ['FLUSHALL'])
      if (reply !== '+OK') throw new Error(`startRedis: FLUSHALL answered ${reply}`)
    },
  }
  return handle
}
