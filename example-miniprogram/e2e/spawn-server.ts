/** The reference server as a child process on a free loopback port (as `npm run example:server` runs it). */
import { spawn, type ChildProcess } from 'node:child_process'
import * as path from 'node:path'

export interface SpawnedServer {
  url: string
  child: ChildProcess
  /** Everything the server printed so far. */
  output(): string
  stop(): void
}

export function spawnServer(env: Record<string, string> = {}): Promise<SpawnedServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'server', 'src', 'main.ts')], {
      cwd: path.join(__dirname, '..', '..'),
      env: { ...process.env, PORT: '0', EXAMPLE_DEV_ENDPOINTS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const timer = setTimeout(() => reject(new Error('the example server did not start within 15 s:\n' + out)), 15000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /example server: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({
          url: m[1],
          child,
          output: () => out,
          stop() {
            child.removeAllListeners('exit')
            if (child.exitCode === null) child.kill()
          },
        })
      }
    })
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the example server exited (code ${code}) before it started:\n${out}`))
    })
  })
}
