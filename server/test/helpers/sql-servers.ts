/**
 * Real, throwaway MariaDB and PostgreSQL servers for tests: each starts on a free 127.0.0.1 port
 * with its data in a fresh temporary folder, and `stop()` ends it and removes the folder. Every
 * server still running when this process exits is SIGKILLed (a failed test, a jest timeout).
 *
 * - MariaDB: Debian's `mariadb-server` (`mariadb-install-db`, `mariadbd`, the `mariadb` client), or
 *   MARIADBD_BIN's folder. The URL is a user of its own, over TCP, on a database `weapp_auth`.
 * - PostgreSQL: `postgres`/`initdb` from PATH, PG_BIN_DIR, or /usr/lib/postgresql/<version>/bin.
 *   PostgreSQL refuses to run as root: as root it runs as the `postgres` user.
 *
 * `findMariadb()` / `findPostgres()` answer null when the binaries are not installed, so a suite
 * can skip with a warning (CI installs them: see .ci/run).
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { freePort, terminate, track } from './processes'

const HOST = '127.0.0.1'

export interface SqlServerHandle {
  readonly url: string
  readonly port: number
  stop(): Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function which(name: string, dirs: string[]): string | null {
  for (const dir of [...dirs, ...(process.env.PATH || '').split(':'), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin']) {
    if (!dir) continue
    const p = path.join(dir, name)
    try {
      fs.accessSync(p, fs.constants.X_OK)
      return p
    } catch {
      // not here
    }
  }
  return null
}

// ---------------------------------------------------------------- MariaDB

export interface MariadbBinaries {
  installDb: string
  server: string
  client: string
}

export function findMariadb(): MariadbBinaries | null {
  const dirs = process.env.MARIADBD_BIN ? [path.dirname(process.env.MARIADBD_BIN)] : []
  const server = process.env.MARIADBD_BIN || which('mariadbd', dirs) || which('mysqld', dirs)
  const installDb = which('mariadb-install-db', dirs) || which('mysql_install_db', dirs)
  const client = which('mariadb', dirs) || which('mysql', dirs)
  return server && installDb && client ? { server, installDb, client } : null
}

export async function startMariadb(timeoutMs = 30000): Promise<SqlServerHandle> {
  const bins = findMariadb()
  if (!bins) throw new Error('startMariadb: mariadbd is not installed (apt-get install mariadb-server)')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-mariadb-'))
  const data = path.join(dir, 'data')
  const sock = path.join(dir, 'sock')
  const init = spawnSync(bins.installDb, ['--user=root', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8' })
  if (init.status !== 0) throw new Error(`startMariadb: mariadb-install-db failed:\n${init.stdout}\n${init.stderr}`)
  const port = await freePort()
  const child = spawn(
    bins.server,
    ['--no-defaults', '--user=root', `--datadir=${data}`, `--port=${port}`, `--bind-address=${HOST}`, `--socket=${sock}`, `--pid-file=${path.join(dir, 'pid')}`, '--skip-log-bin', '--innodb-buffer-pool-size=32M'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const { exited, output } = track(child)
  let gone = false
  void exited.then(() => (gone = true))
  const deadline = Date.now() + timeoutMs
  const setup = "CREATE DATABASE weapp_auth CHARACTER SET utf8mb4; CREATE USER 'weapp'@'127.0.0.1' IDENTIFIED BY 'weapp-pw'; GRANT ALL ON weapp_auth.* TO 'weapp'@'127.0.0.1';"
  for (;;) {
    if (gone) throw new Error(`startMariadb: mariadbd exited during start-up:\n${output()}`)
    const ping = spawnSync(bins.client, ['--no-defaults', '-S', sock, '-uroot', '-e', 'select 1'], { encoding: 'utf8' })
    if (ping.status === 0) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`startMariadb: not ready within ${timeoutMs} ms:\n${output()}`)
    }
    await sleep(100)
  }
  execFileSync(bins.client, ['--no-defaults', '-S', sock, '-uroot', '-e', setup])
  return {
    url: `mysql://weapp:weapp-pw@${HOST}:${port}/weapp_auth`,
    port,
    async stop() {
      await terminate(child, exited, 5000)
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------- PostgreSQL

export interface PostgresBinaries {
  initdb: string
  postgres: string
}

export function findPostgres(): PostgresBinaries | null {
  const dirs: string[] = []
  if (process.env.PG_BIN_DIR) dirs.push(process.env.PG_BIN_DIR)
  try {
    for (const v of fs.readdirSync('/usr/lib/postgresql').sort().reverse()) dirs.push(path.join('/usr/lib/postgresql', v, 'bin'))
  } catch {
    // no Debian PostgreSQL
  }
  const postgres = which('postgres', dirs)
  const initdb = postgres ? which('initdb', [path.dirname(postgres), ...dirs]) : null
  return postgres && initdb ? { postgres, initdb } : null
}

/** As root, the `postgres` user's ids (PostgreSQL refuses root); otherwise run as ourselves. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
  return { uid, gid }
}

function pgReady(port: number): Promise<boolean> {
  // A startup packet for user postgres, database postgres: 'R' (auth) answers mean it accepts
  // connections; 'E' while it starts up ("the database system is starting up") does not.
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('data', (chunk) => done(chunk[0] === 0x52))
    socket.once('connect', () => {
      const params = Buffer.from('user\0postgres\0database\0postgres\0\0')
      const head = Buffer.alloc(8)
      head.writeInt32BE(8 + params.length, 0)
      head.writeInt32BE(196608, 4)
      socket.write(Buffer.concat([head, params]))
    })
  })
}

export async function startPostgres(timeoutMs = 30000): Promise<SqlServerHandle> {
  const bins = findPostgres()
  if (!bins) throw new Error('startPostgres: postgres is not installed (apt-get install postgresql)')
  const user = postgresUser()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-pg-'))
  if (user) fs.chownSync(dir, user.uid, user.gid)
  const data = path.join(dir, 'data')
  const init = spawnSync(bins.initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { encoding: 'utf8', cwd: dir, ...(user ?? {}) })
  if (init.status !== 0) throw new Error(`startPostgres: initdb failed:\n${init.stdout}\n${init.stderr}`)
  const port = await freePort()
  const child = spawn(bins.postgres, ['-D', data, '-p', String(port), '-k', dir, '-c', `listen_addresses=${HOST}`, '-c', 'fsync=off'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: dir,
    ...(user ?? {}),
  })
  const { exited, output } = track(child)
  let gone = false
  void exited.then(() => (gone = true))
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (gone) throw new Error(`startPostgres: postgres exited during start-up:\n${output()}`)
    if (await pgReady(port)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`startPostgres: not ready within ${timeoutMs} ms:\n${output()}`)
    }
    await sleep(100)
  }
  return {
    url: `postgres://postgres@${HOST}:${port}/postgres`,
    port,
    async stop() {
      // SIGINT: PostgreSQL's fast shutdown (what pg_ctl stop -m fast sends).
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
