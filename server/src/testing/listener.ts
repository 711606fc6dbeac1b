/**
 * The part every fake host shares: a loopback HTTP listener that can `stop()` (the host is
 * unreachable: connections refused, open ones cut, delayed answers woken so nothing hangs) and
 * `start()` again on the same port, plus `sleep(ms)` for delay faults that `stop()` cuts short.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Listener {
  /** The bound port (the free one picked when asked for 0). */
  readonly port: number
  listen(): Promise<void>
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
  /** Waits `ms`, or until `stop()`. */
  sleep(ms: number): Promise<void>
}

export function createListener(server: Server, port: number, name: string): Listener {
  const pendingDelays = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>()
  let listening = false
  let closed = false
  let stopping: Promise<void> = Promise.resolve()

  function listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      server.once('error', onError)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', onError)
        port = (server.address() as AddressInfo).port
        listening = true
        resolve()
      })
    })
  }

  function stop(): Promise<void> {
    if (!listening) return stopping
    listening = false
    stopping = new Promise((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
      for (const pending of pendingDelays) {
        clearTimeout(pending.timer)
        pending.resolve()
      }
      pendingDelays.clear()
    })
    return stopping
  }

  return {
    get port() {
      return port
    },
    listen,
    stop,
    async start() {
      if (closed) throw new Error(`${name}: start() after close(): it was closed`)
      await stopping
      if (!listening) await listen()
    },
    async close() {
      closed = true
      await stop()
    },
    sleep(ms) {
      return new Promise((resolve) => {
        const entry = {
          timer: setTimeout(() => {
            pendingDelays.delete(entry)
            resolve()
          }, ms),
          resolve,
        }
        pendingDelays.add(entry)
      })
    },
  }
}
