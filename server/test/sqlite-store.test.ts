/**
 * sqliteStore() beyond the conformance suite (store.test.ts): the file is ours or it is refused
 * untouched (garbage, another application's database, a newer schema), what is kept survives a
 * reopen, and a full or read-only disk is a 503 that heals by itself. The disk faults run on a
 * real tmpfs mounted for the test (they need root, as CI and the developers' machines have; where
 * mounting is not allowed they are skipped and say so).
 */
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { ConfigError, StoreUnavailableError } from '../src/errors'
import { SQLITE_SCHEMA_VERSION, sqliteStore, type SqliteStore } from '../src/stores/sqlite'

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-sqlite-'))
const opened: SqliteStore[] = []
function open(file: string, options?: Parameters<typeof sqliteStore>[1]): SqliteStore {
  const store = sqliteStore(file, options)
  opened.push(store)
  return store
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
})
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }))

let n = 0
const fresh = (name = 'auth.db') => path.join(TMP, `case-${++n}`, name)

/** Every byte of the file and whether SQLite's side files appeared: "left untouched". */
function snapshot(file: string): { bytes: string; wal: boolean; shm: boolean } {
  return { bytes: fs.readFileSync(file).toString('base64'), wal: fs.existsSync(file + '-wal'), shm: fs.existsSync(file + '-shm') }
}

function refusal(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('the file is ours or it is refused, untouched', () => {
  test('a new path: the folder is created, the journal is WAL, and the file is marked as ours with its schema version', async () => {
    const file = fresh('nested/deeper/auth.db')
    const store = open(file)
    await store.ping()
    await store.close()
    const db = new Database(file, { readonly: true })
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      const meta = Object.fromEntries((db.prepare('SELECT key, value FROM weapp_auth_meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]))
      expect(meta).toMatchObject({ app: 'weapp-auth-server', schema_version: String(SQLITE_SCHEMA_VERSION) })
      expect(meta.generation).toMatch(/^[A-Za-z0-9_-]{22}$/)
    } finally {
      db.close()
    }
  })

  test('an empty file (touched by a deploy script) is taken as a new database', async () => {
    const file = fresh()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, '')
    const store = open(file)
    expect((await store.findOrCreateUser('weixin:o', {})).id).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  test('garbage, a text file, a truncated SQLite header: refused with one clear line, not a byte changed', () => {
    for (const content of [Buffer.from('not a database at all, just some text\n'.repeat(50)), Buffer.from([0, 1, 2, 3, 255, 254]), Buffer.from('SQLite format 3')]) {
      const file = fresh()
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, content)
      const before = snapshot(file)
      const err = refusal(() => open(file))
      expect(err.message).toBe(`sqliteStore: ${file} is not a weapp-auth-server database (not an SQLite file). It was left untouched: move it away or choose another path.`)
      expect(snapshot(file)).toEqual(before)
    }
  })

  test('an SQLite file with a valid header but a corrupt body is refused, untouched', () => {
    const file = fresh()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const body = Buffer.alloc(4096, 0x5a)
    Buffer.from('SQLite format 3\0').copy(body)
    fs.writeFileSync(file, body)
    const before = snapshot(file)
    expect(refusal(() => open(file)).message).toMatch(/is not a weapp-auth-server database \(SQLite cannot read it/)
    expect(snapshot(file)).toEqual(before)
  })

  test("another application's database is refused, untouched: its tables are named and it is never migrated", () => {
    const file = fresh()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const other = new Database(file)
    other.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL); INSERT INTO orders (total) VALUES (9.5); CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    other.close()
    const before = snapshot(file)
    expect(refusal(() => open(file)).message).toBe(`sqliteStore: ${file} belongs to another application (its tables are customers, orders). It was left untouched: choose another path.`)
    expect(snapshot(file)).toEqual(before)
  })

  test("a meta table naming another application is refused too", () => {
    const file = fresh()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const other = new Database(file)
    other.exec("CREATE TABLE weapp_auth_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO weapp_auth_meta VALUES ('app', 'someone-else')")
    other.close()
    const before = snapshot(file)
    expect(refusal(() => open(file)).message).toMatch(/belongs to another application \(its meta names "someone-else"\)/)
    expect(snapshot(file)).toEqual(before)
  })

  test('a file written by a newer version of the package is refused with the versions named, untouched', async () => {
    const file = fresh()
    const store = open(file)
    await store.findOrCreateUser('weixin:o', { nickName: 'kept' })
    await store.close()
    const db = new Database(file)
    db.prepare("UPDATE weapp_auth_meta SET value = ? WHERE key = 'schema_version'").run(String(SQLITE_SCHEMA_VERSION + 1))
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
    const before = snapshot(file)
    expect(refusal(() => open(file)).message).toBe(
      `sqliteStore: ${file} was written by a newer weapp-auth-server (schema ${SQLITE_SCHEMA_VERSION + 1}; this version knows up to ${SQLITE_SCHEMA_VERSION}). Upgrade weapp-auth-server; the file was left untouched.`,
    )
    expect(snapshot(file).bytes).toBe(before.bytes)
  })

  test('a path that is a folder, or whose folder cannot be created, is a ConfigError at open', () => {
    const dir = fresh('a-folder')
    fs.mkdirSync(dir, { recursive: true })
    expect(refusal(() => open(dir)).message).toMatch(/^sqliteStore: cannot (read|open)/)
    const blocker = fresh('blocker')
    fs.mkdirSync(path.dirname(blocker), { recursive: true })
    fs.writeFileSync(blocker, 'a file where a folder should be')
    expect(refusal(() => open(path.join(blocker, 'auth.db'))).message).toMatch(/^sqliteStore: cannot create the folder/)
    expect(refusal(() => open('')).message).toMatch(/path must be a file path/)
  })
})

describe('what is kept', () => {
  test('a reopened file has the same generation, users, sessions and refresh families', async () => {
    const file = fresh()
    const first = open(file)
    const generation = await first.generation()
    const user = await first.findOrCreateUser('weixin:alice', { nickName: 'Alice' })
    await first.updateUser(user.id, { avatarUrl: 'https://cdn.example.com/a.png' })
    await first.putSession(user.id, 'alice', 'session-key', 3600)
    const t = Date.now()
    await first.putRefresh('hash-1', { userId: user.id, family: 'fam', issuedAt: t, expiresAt: t + 60_000 }, 60)
    await first.close()

    const again = open(file)
    expect(await again.generation()).toBe(generation)
    expect(await again.checkSubject(user.id, 'fam')).toEqual({ generation, userExists: true, sessionEnded: false, notBefore: 0 })
    expect(await again.listSessions(user.id, Date.now())).toEqual([{ id: 'fam', createdAt: t, lastUsedAt: t, expiresAt: t + 60_000 }])
    expect(await again.getUser(user.id)).toEqual({ id: user.id, fields: { nickName: 'Alice', avatarUrl: 'https://cdn.example.com/a.png' } })
    expect(await again.findOrCreateUser('weixin:alice', {})).toMatchObject({ id: user.id })
    expect(await again.getSession(user.id)).toEqual({ openid: 'alice', sessionKey: 'session-key' })
    const next = Date.now()
    expect(await again.rotateRefresh('hash-1', 'hash-2', { userId: '', family: '', issuedAt: next, expiresAt: next + 60_000 }, 60, next)).toMatchObject({ status: 'rotated', record: { userId: user.id, family: 'fam' } })
  })

  test('another file is other data: its generation differs, so tokens of one are stale on the other', async () => {
    const a = open(fresh())
    const b = open(fresh())
    expect(await a.generation()).not.toBe(await b.generation())
  })

  test('expired rows are swept from the file, and until then no read sees them', async () => {
    let t = Date.UTC(2026, 0, 1)
    const file = fresh()
    const store = open(file, { now: () => t })
    for (let i = 0; i < 50; i++) {
      await store.putRefresh(`h${i}`, { userId: 'u', family: 'f', issuedAt: t, expiresAt: t + 1000 }, 1)
      await store.hit(`ip:${i}`, 1)
    }
    await store.revokeFamily('f', 1)
    t += 1500
    expect(await store.rotateRefresh('h0', 'hx', { userId: '', family: '', issuedAt: t, expiresAt: t + 1000 }, 1, t)).toEqual({ status: 'unknown' })
    expect((await store.hit('ip:0', 1)).count).toBe(1)
    store.sweep()
    const db = new Database(file, { readonly: true })
    try {
      expect((db.prepare('SELECT count(*) AS n FROM weapp_auth_refresh').get() as { n: number }).n).toBe(0)
      // Only the fresh hit of ip:0 is left.
      expect((db.prepare('SELECT count(*) AS n FROM weapp_auth_kv').get() as { n: number }).n).toBe(1)
    } finally {
      db.close()
    }
  })

  test("a user row whose fields were overwritten outside the store is a StoreUnavailableError, not a crash", async () => {
    const file = fresh()
    const store = open(file)
    const user = await store.findOrCreateUser('weixin:o', { nickName: 'n' })
    const db = new Database(file)
    db.prepare('UPDATE weapp_auth_users SET fields = ? WHERE id = ?').run('[1,2,3]', user.id)
    db.close()
    await expect(store.getUser(user.id)).rejects.toThrow(`user ${user.id}'s fields are not a JSON object`)
    await expect(store.updateUser(user.id, { a: 1 })).rejects.toBeInstanceOf(StoreUnavailableError)
  })
})

// ---------------------------------------------------------------------------------------------
// disk faults on a real tmpfs
// ---------------------------------------------------------------------------------------------

function tryMount(dir: string, sizeKb: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
const MOUNT_PROBE = path.join(TMP, 'probe')
fs.mkdirSync(MOUNT_PROBE)
const canMount = tryMount(MOUNT_PROBE, 64)
if (canMount) execFileSync('umount', [MOUNT_PROBE])
else console.warn('sqlite-store.test: mounting a tmpfs is not allowed here (not root?): the full and read-only disk tests are skipped')
const diskTest = canMount ? test : test.skip

describe('token checks share one read per turn of the event loop', () => {
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

  test('a logout another process commits is refused from the next turn on; within one turn the checks read one snapshot', async () => {
    const file = fresh()
    const b = open(file)
    const user = await b.findOrCreateUser('weixin:bob', {})
    await nextTurn()
    // Another process ends the session (the row its store writes) while this turn's check has its read open:
    // execFileSync blocks this turn, as a request being handled would.
    const first = b.checkSubject(user.id, 'fam-b')
    const script = `const D = require('better-sqlite3'); const db = new D(process.argv[1]); db.prepare("INSERT INTO weapp_auth_kv (key, value, purge_at) VALUES ('family-revoked:fam-b', '1', ?)").run(Date.now() + 60000)`
    execFileSync(process.execPath, ['-e', script, file], { cwd: path.resolve(__dirname, '..') })
    const second = b.checkSubject(user.id, 'fam-b')
    expect((await first).sessionEnded).toBe(false)
    expect((await second).sessionEnded).toBe(false)
    // Its effect reached this process only now: a request sent after the logout is read in a later turn.
    await nextTurn()
    expect((await b.checkSubject(user.id, 'fam-b')).sessionEnded).toBe(true)
  })

  test('a logout by another store of this process is refused by the next check, even in the same turn', async () => {
    const file = fresh()
    const a = open(file)
    const b = open(file)
    const user = await a.findOrCreateUser('weixin:dave', {})
    const t = Date.now()
    await a.putRefresh('hash-d', { userId: user.id, family: 'fam-d', issuedAt: t, expiresAt: t + 60_000 }, 60)
    await nextTurn()
    expect((await b.checkSubject(user.id, 'fam-d')).sessionEnded).toBe(false)
    await a.revokeFamily('fam-d', 60)
    expect((await b.checkSubject(user.id, 'fam-d')).sessionEnded).toBe(true)
    await a.setUserNotBefore(user.id, 1234, 60)
    expect((await b.checkSubject(user.id)).notBefore).toBe(1234)
  })

  test("a write in the turn of a check is not caught in the check's snapshot: it commits, though another process wrote since", async () => {
    const file = fresh()
    const a = open(file)
    const b = open(file)
    const user = await a.findOrCreateUser('weixin:carol', {})
    await nextTurn()
    const check = b.checkSubject(user.id, 'fam-x')
    await a.updateUser(user.id, { nickName: 'Carol' })
    // b writes in the same turn: its read must end first, or SQLite refuses the write (a stale snapshot).
    await expect(b.updateUser(user.id, { avatarUrl: 'https://cdn.example.com/c.png' })).resolves.toMatchObject({ fields: { nickName: 'Carol', avatarUrl: 'https://cdn.example.com/c.png' } })
    await b.revokeFamily('fam-x', 60)
    expect((await check).sessionEnded).toBe(false)
    expect((await b.checkSubject(user.id, 'fam-x')).sessionEnded).toBe(true)
    await b.close()
    expect((await a.checkSubject(user.id, 'fam-x')).sessionEnded).toBe(true)
  })
})

describe('a full or read-only disk', () => {
  let mountPoint = ''
  beforeEach(() => {
    if (!canMount) return
    mountPoint = fs.mkdtempSync(path.join(TMP, 'disk-'))
    if (!tryMount(mountPoint, 1024)) throw new Error('could not mount the test tmpfs')
  })
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close()
    if (mountPoint) {
      execFileSync('umount', ['-l', mountPoint])
      mountPoint = ''
    }
  })

  /** Fills the tmpfs until writing fails; answers the filler's path. */
  function fill(): string {
    const filler = path.join(mountPoint, 'filler')
    const fd = fs.openSync(filler, 'w')
    try {
      const chunk = Buffer.alloc(16 * 1024, 1)
      for (;;) fs.writeSync(fd, chunk)
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC')
    } finally {
      fs.closeSync(fd)
    }
    return filler
  }

  diskTest('disk full: logins fail with 503 store_unavailable, nothing half-written; freed, the same store serves again', async () => {
    const store = open(path.join(mountPoint, 'auth.db'))
    const kept = await store.findOrCreateUser('weixin:before', { nickName: 'before' })
    const filler = fill()
    // Writes big enough to need new pages now fail; reads still work.
    const big = { bio: 'x'.repeat(200_000) }
    let failures = 0
    for (let i = 0; i < 20; i++) {
      const err = await store.findOrCreateUser(`weixin:during-${i}`, big).then(
        () => null,
        (e: unknown) => e,
      )
      if (err) {
        expect(err).toBeInstanceOf(StoreUnavailableError)
        expect((err as StoreUnavailableError).message).toMatch(/^SQLite store is unavailable: findOrCreateUser failed: the disk is full \(SQLITE_FULL/)
        failures++
      }
    }
    expect(failures).toBeGreaterThan(0)
    expect(await store.getUser(kept.id)).toEqual({ id: kept.id, fields: { nickName: 'before' } })
    fs.rmSync(filler)
    const after = await store.findOrCreateUser('weixin:after', big)
    expect(await store.getUser(after.id)).toMatchObject({ fields: big })
    // A failed transaction left nothing behind: each identity either has its user or is absent.
    const db = new Database(path.join(mountPoint, 'auth.db'), { readonly: true })
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      const orphans = db.prepare('SELECT count(*) AS n FROM weapp_auth_identities i LEFT JOIN weapp_auth_users u ON u.id = i.user_id WHERE u.id IS NULL').get() as { n: number }
      expect(orphans.n).toBe(0)
    } finally {
      db.close()
    }
  })

  diskTest('disk turned read-only under a running store (ext4 errors=remount-ro, as after an I/O error): writes fail with 503 store_unavailable, reads go on, nothing crashes', async () => {
    // A real ext4 on a loop device, made read-only by the kernel's own error path while the store
    // has the file open (a tmpfs cannot be remounted read-only while it is written to).
    const image = path.join(TMP, `ext4-${++n}.img`)
    fs.writeFileSync(image, '')
    fs.truncateSync(image, 8 * 1024 * 1024)
    const dir = fs.mkdtempSync(path.join(TMP, 'ext4-'))
    try {
      execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'ignore' })
      execFileSync('mount', ['-o', 'loop,errors=remount-ro', image, dir], { stdio: 'ignore' })
    } catch {
      console.warn('sqlite-store.test: no loop device or mkfs.ext4 here: the read-only disk test is skipped')
      return
    }
    try {
      const device = path.basename(execFileSync('findmnt', ['-n', '-o', 'SOURCE', dir], { encoding: 'utf8' }).trim())
      const store = open(path.join(dir, 'auth.db'))
      const kept = await store.findOrCreateUser('weixin:before', { nickName: 'before' })
      fs.writeFileSync(`/sys/fs/ext4/${device}/trigger_fs_error`, '1')
      const err = await store.findOrCreateUser('weixin:during', {}).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(StoreUnavailableError)
      expect((err as StoreUnavailableError).code).toBe('store_unavailable')
      await expect(store.putSession(kept.id, 'o', 'k', 60)).rejects.toBeInstanceOf(StoreUnavailableError)
      await expect(store.hit('ip', 60)).rejects.toBeInstanceOf(StoreUnavailableError)
      // What was written before is still readable: tokens of existing users keep verifying.
      expect(await store.checkSubject(kept.id)).toMatchObject({ userExists: true })
      await store.close()
    } finally {
      execFileSync('umount', ['-l', dir])
    }
  })
})
