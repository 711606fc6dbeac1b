/**
 * `sqliteStore(path)`: the Store for one machine, kept in one file, with nothing to install. Any
 * number of processes on the machine may open the same file (pm2, node's cluster module, several
 * bins): SQLite's own locking makes each atomic step of the Store interface one `BEGIN IMMEDIATE`
 * transaction, so of 200 concurrent rotations of one refresh token across 4 processes exactly one
 * wins, as with Redis. Not for a network filesystem (NFS, SMB): SQLite's locks do not hold there.
 *
 * Why better-sqlite3: a well-kept binding of SQLite itself (no engine written here), synchronous
 * (a store call is a few microseconds, so there is no thread pool and no callback in the middle
 * of a transaction), prepared statements, and transactions that roll back on any error. Version 12
 * runs on Node 20.
 *
 * Durability: WAL journal with `synchronous=NORMAL`. A transaction that answered survives a
 * SIGKILL or a crash of the process (it is in the WAL file); a power cut may lose the last few,
 * which loses sessions, never identities: ids are random and tokens are checked against the data,
 * so a lost write can never make one user's token open another's account.
 *
 * The file is ours or it is refused. At open, before anything is written:
 * - a file that is not SQLite, or an SQLite database of another application (tables but no
 *   `weapp_auth_meta`, or a meta row naming another app), is refused with ConfigError and left
 *   untouched;
 * - a file written by a newer version of this package (a higher schema version) is refused;
 * - an older schema is migrated forward, one version at a time, in one transaction with the
 *   version bump (see MIGRATIONS), so a crash mid-migration leaves the old version intact.
 *
 * Faults at run time (a full or read-only disk, a lock held past `busyTimeoutMs`, an I/O error)
 * reject with StoreUnavailableError (503 `store_unavailable`); the transaction is rolled back and
 * the same store serves again once the disk does.
 *
 * Tables (all WITHOUT ROWID, times in ms on the store's clock):
 *
 *   weapp_auth_meta        key → value: app, schema_version, generation, created_at
 *   weapp_auth_refresh     hash → user_id, family, issued_at, expires_at, session_expires_at,
 *                          platform, spent, purge_at
 *   weapp_auth_kv          key → value, purge_at (NULL: kept): family-revoked:, jti-revoked:,
 *                          not-before:, session:, session-owner:, access-token:, lock:, hit:
 *                          (the same names as the Redis keys), user-not-before:<user id>, and
 *                          user-session:<URI-encoded user id>:<family> → JSON of the session
 *                          (listSessions reads the user's range of the primary key)
 *   weapp_auth_users       id → fields (JSON object), created_at
 *   weapp_auth_identities  identity key → user_id
 *
 * A row past its `purge_at` is absent to every read and deleted by a sweep (every
 * `sweepIntervalMs`, on an unref'd timer).
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import Database from 'better-sqlite3'
import { ConfigError, StoreUnavailableError } from '../errors'
import { randomId } from '../ids'
import {
  accessTokenFromJson,
  checkAccessTokenValue,
  checkFields,
  checkFinite,
  checkNotBeforeKind,
  checkPositive,
  checkRecord,
  checkString,
  newSession,
  sessionEnd,
  toMs,
} from './arguments'
import type { RefreshRecord, RotateResult, Store, StoredSession, StoredUser, SubjectState } from './store'

export interface SqliteStoreOptions {
  /** Clock for every expiry (ms since epoch). Default Date.now; tests pass a controllable one. */
  now?: () => number
  /** How often expired rows are deleted. Default 60 000 ms. The timer is unref'd. */
  sweepIntervalMs?: number
  /** How long a call waits for another process's write lock before failing with 503. Default 2000 ms. */
  busyTimeoutMs?: number
}

export interface SqliteStore extends Store {
  readonly kind: 'sqlite'
  /** The database file, as given. */
  readonly path: string
  /** Deletes every expired row now (the timer does this every `sweepIntervalMs`). */
  sweep(): void
}

/** What this version of the package writes; a file with a higher number is refused. */
export const SQLITE_SCHEMA_VERSION = 1
/** The meta row that marks a file as ours. */
const APP = 'weapp-auth-server'
const SQLITE_HEADER = 'SQLite format 3\0'

/**
 * MIGRATIONS[v] takes a file from schema v to v + 1; MIGRATIONS[0] creates schema 1 in an empty
 * file. Each runs inside the transaction that then records the new version. To change the schema:
 * append a step, raise SQLITE_SCHEMA_VERSION, and add a test that opens a file of the old version.
 */
const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  (db) => {
    db.exec(`
      CREATE TABLE weapp_auth_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE weapp_auth_refresh (
        hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        family TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        session_expires_at INTEGER,
        platform TEXT,
        spent INTEGER NOT NULL DEFAULT 0,
        purge_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX weapp_auth_refresh_purge ON weapp_auth_refresh (purge_at);
      CREATE TABLE weapp_auth_kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, purge_at INTEGER) WITHOUT ROWID;
      CREATE INDEX weapp_auth_kv_purge ON weapp_auth_kv (purge_at) WHERE purge_at IS NOT NULL;
      CREATE TABLE weapp_auth_users (id TEXT PRIMARY KEY, fields TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE weapp_auth_identities (key TEXT PRIMARY KEY, user_id TEXT NOT NULL) WITHOUT ROWID;
    `)
  },
]

interface RefreshRow {
  user_id: string
  family: string
  issued_at: number
  expires_at: number
  session_expires_at: number | null
  platform: string | null
  spent: number
}

/** SQLite's result codes a client may see mapped to a few words (the rest keep their code only). */
const FAULTS: Record<string, string> = {
  SQLITE_FULL: 'the disk is full',
  SQLITE_READONLY: 'the database is read-only',
  SQLITE_BUSY: 'another process held the write lock too long',
  SQLITE_LOCKED: 'the database is locked',
  SQLITE_IOERR: 'an I/O error',
  SQLITE_CANTOPEN: 'the file cannot be opened',
  SQLITE_CORRUPT: 'the file is corrupt',
}

function faultOf(err: unknown): string {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? ((err as { code: string }).code) : ''
  const base = code.replace(/_[A-Z]+$/, '')
  const words = FAULTS[code] ?? FAULTS[base]
  if (words) return `${words} (${code})`
  return code || (err instanceof Error ? err.message : String(err))
}

/** Refuses, before anything is written, a file that is not an SQLite database. */
function checkHeader(file: string): void {
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new ConfigError(`sqliteStore: cannot read ${file}: ${(err as Error).message}`)
  }
  try {
    const stat = fs.fstatSync(fd)
    if (stat.isDirectory()) throw new ConfigError(`sqliteStore: cannot open ${file}: it is a folder; give a file path such as ${path.join(file, 'weapp-auth.db')}`)
    if (stat.size === 0) return
    const header = Buffer.alloc(16)
    const read = fs.readSync(fd, header, 0, 16, 0)
    if (read < 16 || header.toString('latin1') !== SQLITE_HEADER) {
      throw new ConfigError(`sqliteStore: ${file} is not a weapp-auth-server database (not an SQLite file). It was left untouched: move it away or choose another path.`)
    }
  } finally {
    fs.closeSync(fd)
  }
}

function foreign(file: string, what: string): ConfigError {
  return new ConfigError(`sqliteStore: ${file} belongs to another application (${what}). It was left untouched: choose another path.`)
}

/** Checks ownership and version, then creates or migrates the schema; answers the generation. */
function prepareSchema(db: Database.Database, file: string, now: () => number): string {
  const tables = () => (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name)
  const meta = (key: string) => (db.prepare('SELECT value FROM weapp_auth_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value

  /** Throws when the file is not ours or too new; answers its schema version (0: empty file). */
  const versionOf = (): number => {
    const names = tables()
    if (names.length === 0) return 0
    if (!names.includes('weapp_auth_meta')) {
      const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? ', …' : '')
      throw foreign(file, `its tables are ${shown}`)
    }
    const app = meta('app')
    if (app !== APP) throw foreign(file, `its meta names ${JSON.stringify(app ?? null)}`)
    const version = Number(meta('schema_version'))
    if (!Number.isInteger(version) || version < 1) throw foreign(file, `schema_version ${JSON.stringify(meta('schema_version') ?? null)}`)
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new ConfigError(
        `sqliteStore: ${file} was written by a newer weapp-auth-server (schema ${version}; this version knows up to ${SQLITE_SCHEMA_VERSION}). Upgrade weapp-auth-server; the file was left untouched.`,
      )
    }
    return version
  }

  // Read-only checks first, so a foreign or newer file is refused before anything is written.
  const seen = versionOf()
  if (seen === SQLITE_SCHEMA_VERSION) {
    const generation = meta('generation')
    if (generation) return generation
  }
  // Create or migrate under the write lock: several processes starting on one new file agree.
  db.pragma('journal_mode = WAL')
  return db.transaction(() => {
    let version = versionOf()
    for (; version < SQLITE_SCHEMA_VERSION; version++) MIGRATIONS[version](db)
    const put = db.prepare('INSERT INTO weapp_auth_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
    const keep = db.prepare('INSERT INTO weapp_auth_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING')
    keep.run('app', APP)
    keep.run('created_at', String(now()))
    keep.run('generation', randomId())
    put.run('schema_version', String(SQLITE_SCHEMA_VERSION))
    return meta('generation') as string
  }).immediate()
}

/** The read transactions of this process's SQLite stores still open in this turn (see inReadTurn). */
const openReadTurns = new Set<() => void>()

export function sqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  if (typeof file !== 'string' || file.length === 0) throw new ConfigError(`sqliteStore: path must be a file path, got ${file === '' ? 'an empty string' : typeof file}`)
  if (typeof options !== 'object' || options === null) throw new ConfigError('sqliteStore: options must be an object')
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw new ConfigError('sqliteStore: options.now must be a function returning ms since epoch')
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000
  const busyTimeoutMs = options.busyTimeoutMs ?? 2000
  for (const [name, value] of [['sweepIntervalMs', sweepIntervalMs], ['busyTimeoutMs', busyTimeoutMs]] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigError(`sqliteStore: options.${name} must be a positive number of ms, got ${String(value)}`)
  }

  const inMemory = file === ':memory:'
  if (!inMemory) {
    const dir = path.dirname(path.resolve(file))
    try {
      fs.mkdirSync(dir, { recursive: true })
    } catch (err) {
      throw new ConfigError(`sqliteStore: cannot create the folder ${dir}: ${(err as Error).message}`)
    }
    checkHeader(file)
  }

  let db: Database.Database
  try {
    db = new Database(file, { timeout: busyTimeoutMs })
  } catch (err) {
    throw new ConfigError(`sqliteStore: cannot open ${file}: ${faultOf(err)}`)
  }
  let generation: string
  try {
    generation = prepareSchema(db, file, now)
    db.pragma('synchronous = NORMAL')
  } catch (err) {
    db.close()
    if (err instanceof ConfigError) throw err
    const code = String((err as { code?: unknown }).code ?? '')
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
      throw new ConfigError(`sqliteStore: ${file} is not a weapp-auth-server database (SQLite cannot read it: ${faultOf(err)}). It was left untouched.`)
    }
    throw new ConfigError(`sqliteStore: cannot prepare ${file}: ${faultOf(err)}`)
  }

  const q = {
    getRefresh: db.prepare('SELECT user_id, family, issued_at, expires_at, session_expires_at, platform, spent FROM weapp_auth_refresh WHERE hash = ? AND purge_at > ?'),
    putRefresh: db.prepare(
      'INSERT INTO weapp_auth_refresh (hash, user_id, family, issued_at, expires_at, session_expires_at, platform, spent, purge_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) ' +
        'ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, family = excluded.family, issued_at = excluded.issued_at, expires_at = excluded.expires_at, ' +
        'session_expires_at = excluded.session_expires_at, platform = excluded.platform, spent = 0, purge_at = excluded.purge_at',
    ),
    spend: db.prepare('UPDATE weapp_auth_refresh SET spent = 1 WHERE hash = ?'),
    getKv: db.prepare('SELECT value, purge_at FROM weapp_auth_kv WHERE key = ? AND (purge_at IS NULL OR purge_at > ?)'),
    putKv: db.prepare('INSERT INTO weapp_auth_kv (key, value, purge_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, purge_at = excluded.purge_at'),
    setKvValue: db.prepare('UPDATE weapp_auth_kv SET value = ? WHERE key = ?'),
    deleteKvIf: db.prepare('DELETE FROM weapp_auth_kv WHERE key = ? AND value = ?'),
    deleteKv: db.prepare('DELETE FROM weapp_auth_kv WHERE key = ?'),
    getIdentity: db.prepare('SELECT user_id FROM weapp_auth_identities WHERE key = ?'),
    putIdentity: db.prepare('INSERT INTO weapp_auth_identities (key, user_id) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET user_id = excluded.user_id'),
    deleteIdentities: db.prepare('DELETE FROM weapp_auth_identities WHERE user_id = ?'),
    deleteUser: db.prepare('DELETE FROM weapp_auth_users WHERE id = ?'),
    kvRange: db.prepare('SELECT key, value FROM weapp_auth_kv WHERE key >= ? AND key < ? AND (purge_at IS NULL OR purge_at > ?)'),
    deleteKvRange: db.prepare('DELETE FROM weapp_auth_kv WHERE key >= ? AND key < ?'),
    getUser: db.prepare('SELECT fields FROM weapp_auth_users WHERE id = ?'),
    hasUser: db.prepare('SELECT 1 AS one FROM weapp_auth_users WHERE id = ?'),
    // Every authenticated request: one statement (one snapshot) for the user, its session's end and its not-before.
    checkSubject: db.prepare(
      'SELECT (SELECT fields FROM weapp_auth_users WHERE id = ?) AS fields, ' +
        '(SELECT 1 FROM weapp_auth_kv WHERE key = ? AND (purge_at IS NULL OR purge_at > ?)) AS ended, ' +
        '(SELECT value FROM weapp_auth_kv WHERE key = ? AND (purge_at IS NULL OR purge_at > ?)) AS not_before',
    ),
    putUser: db.prepare('INSERT INTO weapp_auth_users (id, fields, created_at) VALUES (?, ?, ?)'),
    setUserFields: db.prepare('UPDATE weapp_auth_users SET fields = ? WHERE id = ?'),
    ping: db.prepare('SELECT 1 AS one'),
    begin: db.prepare('BEGIN'),
    commit: db.prepare('COMMIT'),
    sweepRefresh: db.prepare('DELETE FROM weapp_auth_refresh WHERE purge_at <= ?'),
    sweepKv: db.prepare('DELETE FROM weapp_auth_kv WHERE purge_at IS NOT NULL AND purge_at <= ?'),
  }

  let closed = false

  // The token checks of one turn of the event loop share one read transaction, ended in that same
  // turn (setImmediate). On its own, each statement takes and releases SQLite's WAL read lock, which
  // cost most of the check. The snapshot is at most one turn old: what another process commits
  // reaches this one's requests only through I/O, read in a later turn, so a logout committed
  // before a request was sent is in that request's snapshot. A write by any store of this process
  // (another connection to the file included) first ends every open read, so its effect is seen by
  // the next check even within the same turn, and writes keep their own BEGIN IMMEDIATE.
  let readTurn = false
  const endReadTurn = (): void => {
    if (!readTurn) return
    readTurn = false
    openReadTurns.delete(endReadTurn)
    try {
      if (db.inTransaction) q.commit.run()
    } catch {
      // the connection is closing or broken: the next statement reports it
    }
  }
  const inReadTurn = <T>(step: () => T): T => {
    if (!readTurn && !db.inTransaction) {
      q.begin.run()
      readTurn = true
      openReadTurns.add(endReadTurn)
      setImmediate(endReadTurn)
    }
    return step()
  }

  /** Runs one step (a transaction when `write`): every SQLite failure as StoreUnavailableError. */
  function run<T>(method: string, write: boolean, step: () => T): T {
    if (closed) throw new StoreUnavailableError(`sqlite store: ${method} called after close()`)
    if (write) for (const end of openReadTurns) end()
    try {
      return write ? db.transaction(step).immediate() : step()
    } catch (err) {
      if (err instanceof TypeError || err instanceof StoreUnavailableError) throw err
      throw new StoreUnavailableError(`SQLite store is unavailable: ${method} failed: ${faultOf(err)}`, { cause: err })
    }
  }

  const kvGet = (key: string): string | undefined => (q.getKv.get(key, now()) as { value: string } | undefined)?.value
  const kvPut = (key: string, value: string, ttlMs: number | null): void => {
    q.putKv.run(key, value, ttlMs === null ? null : now() + ttlMs)
  }

  function fieldsOf(id: string, json: string): Record<string, unknown> {
    try {
      const fields = JSON.parse(json) as unknown
      if (fields && typeof fields === 'object' && !Array.isArray(fields)) return fields as Record<string, unknown>
    } catch {
      // reported below
    }
    throw new StoreUnavailableError(`SQLite store: user ${id}'s fields are not a JSON object (written outside weapp-auth-server?)`)
  }

  function toRecord(row: RefreshRow): RefreshRecord {
    const record: RefreshRecord = { userId: row.user_id, family: row.family, issuedAt: Number(row.issued_at), expiresAt: Number(row.expires_at) }
    if (row.session_expires_at !== null) record.sessionExpiresAt = Number(row.session_expires_at)
    if (row.platform !== null) record.platform = row.platform
    return record
  }

  /**
   * The user's `user-session:` rows span [from, to): ';' sorts right after ':'. The id is
   * URI-encoded, so it holds no ':' and one user's range never covers another's (ids of your own
   * users may hold ':').
   */
  const sessionPrefix = (userId: string): string => `user-session:${encodeURIComponent(userId)}:`
  const sessionRange = (userId: string): [string, string] => {
    const from = sessionPrefix(userId)
    return [from, from.slice(0, -1) + ';']
  }
  const putSessionRow = (userId: string, session: StoredSession): void => {
    kvPut(sessionPrefix(userId) + session.id, JSON.stringify(session), Math.max(1, session.expiresAt - now()))
  }
  const sessionRows = (userId: string): StoredSession[] => {
    const [from, to] = sessionRange(userId)
    const out: StoredSession[] = []
    for (const row of q.kvRange.all(from, to, now()) as { key: string; value: string }[]) {
      try {
        out.push(JSON.parse(row.value) as StoredSession)
      } catch {
        // a row written outside weapp-auth-server: not a session of ours
      }
    }
    return out
  }

  const refreshNotBeforeMs = (): number => {
    const raw = kvGet('not-before:refresh')
    return raw === undefined ? -Infinity : Number(raw) * 1000
  }

  const sweep = (): void => {
    if (closed) return
    try {
      run('sweep', true, () => {
        const t = now()
        q.sweepRefresh.run(t)
        q.sweepKv.run(t)
      })
    } catch {
      // a busy or full disk now: the next sweep tries again, and reads ignore expired rows anyway
    }
  }
  const timer = setInterval(sweep, sweepIntervalMs)
  timer.unref()

  const store: SqliteStore = {
    kind: 'sqlite',
    path: file,

    async generation() {
      return run('generation', false, () => generation)
    },

    async checkSubject(userId, family, options) {
      checkString('checkSubject', 'userId', userId)
      if (family !== undefined) checkString('checkSubject', 'family', family)
      return run('checkSubject', false, () => inReadTurn(() => {
        const t = now()
        // No family: a key no family has (families are random ids), so `ended` is null.
        const row = q.checkSubject.get(userId, family === undefined ? '' : `family-revoked:${family}`, t, `user-not-before:${userId}`, t) as {
          fields: string | null
          ended: number | null
          not_before: string | null
        }
        const subject: SubjectState = {
          generation,
          userExists: row.fields !== null,
          sessionEnded: family !== undefined && row.ended !== null,
          notBefore: Number(row.not_before ?? 0),
        }
        if (options?.withUser) subject.user = row.fields === null ? null : { id: userId, fields: fieldsOf(userId, row.fields) }
        return subject
      }))
    },

    async putRefresh(tokenHash, record, ttlSeconds) {
      checkString('putRefresh', 'tokenHash', tokenHash)
      const r = checkRecord('putRefresh', 'record', record, true)
      checkPositive('putRefresh', 'ttlSeconds', ttlSeconds)
      run('putRefresh', true, () => {
        q.putRefresh.run(tokenHash, r.userId, r.family, r.issuedAt, r.expiresAt, r.sessionExpiresAt ?? null, r.platform ?? null, now() + toMs(ttlSeconds))
        putSessionRow(r.userId, newSession(r))
      })
    },

    async rotateRefresh(oldHash, newHash, newRecord, ttlSeconds, nowMs): Promise<RotateResult> {
      checkString('rotateRefresh', 'oldHash', oldHash)
      checkString('rotateRefresh', 'newHash', newHash)
      if (oldHash === newHash) throw new TypeError('store.rotateRefresh: newHash must differ from oldHash')
      const next = checkRecord('rotateRefresh', 'newRecord', newRecord, false)
      checkPositive('rotateRefresh', 'ttlSeconds', ttlSeconds)
      checkFinite('rotateRefresh', 'nowMs', nowMs)
      return run('rotateRefresh', true, (): RotateResult => {
        const row = q.getRefresh.get(oldHash, now()) as RefreshRow | undefined
        if (!row) return { status: 'unknown' }
        const record = toRecord(row)
        if (record.expiresAt <= nowMs || (record.sessionExpiresAt !== undefined && record.sessionExpiresAt <= nowMs)) return { status: 'expired', record }
        if (kvGet(`family-revoked:${record.family}`) !== undefined || record.issuedAt < refreshNotBeforeMs()) return { status: 'revoked', record }
        if (row.spent) {
          kvPut(`family-revoked:${record.family}`, '1', toMs(ttlSeconds))
          return { status: 'reused', record }
        }
        q.spend.run(oldHash)
        q.putRefresh.run(newHash, record.userId, record.family, next.issuedAt, next.expiresAt, record.sessionExpiresAt ?? null, record.platform ?? null, now() + toMs(ttlSeconds))
        const listed = kvGet(sessionPrefix(record.userId) + record.family)
        if (listed !== undefined) {
          const session = JSON.parse(listed) as StoredSession
          putSessionRow(record.userId, { ...session, lastUsedAt: nowMs, expiresAt: sessionEnd(record, next.expiresAt) })
        }
        return { status: 'rotated', record }
      })
    },

    async revokeFamily(family, ttlSeconds) {
      checkString('revokeFamily', 'family', family)
      checkPositive('revokeFamily', 'ttlSeconds', ttlSeconds)
      run('revokeFamily', true, () => kvPut(`family-revoked:${family}`, '1', toMs(ttlSeconds)))
    },

    async listSessions(userId, nowMs) {
      checkString('listSessions', 'userId', userId)
      checkFinite('listSessions', 'nowMs', nowMs)
      return run('listSessions', false, () =>
        sessionRows(userId)
          .filter((session) => session.expiresAt > nowMs && kvGet(`family-revoked:${session.id}`) === undefined)
          .sort((a, b) => a.createdAt - b.createdAt),
      )
    },

    async setUserNotBefore(userId, epochSeconds, ttlSeconds) {
      checkString('setUserNotBefore', 'userId', userId)
      checkFinite('setUserNotBefore', 'epochSeconds', epochSeconds)
      checkPositive('setUserNotBefore', 'ttlSeconds', ttlSeconds)
      run('setUserNotBefore', true, () => kvPut(`user-not-before:${userId}`, String(epochSeconds), toMs(ttlSeconds)))
    },

    async revokeToken(jti, ttlSeconds) {
      checkString('revokeToken', 'jti', jti)
      checkPositive('revokeToken', 'ttlSeconds', ttlSeconds)
      run('revokeToken', true, () => kvPut(`jti-revoked:${jti}`, '1', toMs(ttlSeconds)))
    },

    async isRevoked(token) {
      if (typeof token !== 'object' || token === null) throw new TypeError('store.isRevoked: token must be { jti, fam, iat }')
      checkString('isRevoked', 'token.jti', token.jti)
      checkString('isRevoked', 'token.fam', token.fam)
      checkFinite('isRevoked', 'token.iat', token.iat)
      return run('isRevoked', false, () => {
        if (kvGet(`jti-revoked:${token.jti}`) !== undefined || kvGet(`family-revoked:${token.fam}`) !== undefined) return true
        const nbf = kvGet('not-before:access')
        return nbf !== undefined && token.iat < Number(nbf)
      })
    },

    async setNotBefore(kind, epochSeconds) {
      checkNotBeforeKind(kind)
      checkFinite('setNotBefore', 'epochSeconds', epochSeconds)
      run('setNotBefore', true, () => kvPut(`not-before:${kind}`, String(epochSeconds), null))
    },

    async putSession(userId, openid, sessionKey, ttlSeconds) {
      checkString('putSession', 'userId', userId)
      checkString('putSession', 'openid', openid)
      checkString('putSession', 'sessionKey', sessionKey)
      checkPositive('putSession', 'ttlSeconds', ttlSeconds)
      run('putSession', true, () => {
        kvPut(`session:${openid}`, sessionKey, toMs(ttlSeconds))
        kvPut(`session-owner:${userId}`, openid, toMs(ttlSeconds))
      })
    },

    async getSession(userId) {
      checkString('getSession', 'userId', userId)
      return run('getSession', false, () => {
        const openid = kvGet(`session-owner:${userId}`)
        if (openid === undefined) return null
        const sessionKey = kvGet(`session:${openid}`)
        return sessionKey === undefined ? null : { openid, sessionKey }
      })
    },

    async deleteSession(userId) {
      checkString('deleteSession', 'userId', userId)
      run('deleteSession', true, () => {
        const openid = kvGet(`session-owner:${userId}`)
        if (openid !== undefined) q.deleteKv.run(`session:${openid}`)
        q.deleteKv.run(`session-owner:${userId}`)
      })
    },

    async getAccessToken(appid) {
      checkString('getAccessToken', 'appid', appid)
      const raw = run('getAccessToken', false, () => kvGet(`access-token:${appid}`))
      if (raw === undefined) return null
      return accessTokenFromJson(raw)
    },

    async setAccessToken(appid, value) {
      checkString('setAccessToken', 'appid', appid)
      const v = checkAccessTokenValue(value)
      run('setAccessToken', true, () => kvPut(`access-token:${appid}`, JSON.stringify(v), null))
    },

    async acquireLock(name, owner, ttlMs) {
      checkString('acquireLock', 'name', name)
      checkString('acquireLock', 'owner', owner)
      checkPositive('acquireLock', 'ttlMs', ttlMs)
      return run('acquireLock', true, () => {
        if (kvGet(`lock:${name}`) !== undefined) return false
        kvPut(`lock:${name}`, owner, Math.ceil(ttlMs))
        return true
      })
    },

    async releaseLock(name, owner) {
      checkString('releaseLock', 'name', name)
      checkString('releaseLock', 'owner', owner)
      run('releaseLock', true, () => {
        if (kvGet(`lock:${name}`) === owner) q.deleteKvIf.run(`lock:${name}`, owner)
      })
    },

    async hit(key, windowSeconds) {
      checkString('hit', 'key', key)
      checkPositive('hit', 'windowSeconds', windowSeconds)
      return run('hit', true, () => {
        const t = now()
        const row = q.getKv.get(`hit:${key}`, t) as { value: string; purge_at: number } | undefined
        if (!row) {
          const windowMs = toMs(windowSeconds)
          kvPut(`hit:${key}`, '1', windowMs)
          return { count: 1, resetMs: windowMs }
        }
        const count = Number(row.value) + 1
        q.setKvValue.run(String(count), `hit:${key}`)
        return { count, resetMs: Number(row.purge_at) - t }
      })
    },

    async getHits(key) {
      checkString('getHits', 'key', key)
      return run('getHits', false, () => {
        const t = now()
        const row = q.getKv.get(`hit:${key}`, t) as { value: string; purge_at: number } | undefined
        return row ? { count: Number(row.value), resetMs: Number(row.purge_at) - t } : { count: 0, resetMs: 0 }
      })
    },

    async findOrCreateUser(identityKey, defaults, linkKey) {
      checkString('findOrCreateUser', 'identityKey', identityKey)
      if (linkKey !== undefined) checkString('findOrCreateUser', 'linkKey', linkKey)
      const fields = checkFields('findOrCreateUser', 'defaults', defaults)
      return run('findOrCreateUser', true, (): StoredUser & { conflict?: string } => {
        // An identity whose user was deleted counts as new: a new account with a new id.
        const live = (key: string | undefined): { id: string; fields: string } | undefined => {
          if (key === undefined) return undefined
          const known = q.getIdentity.get(key) as { user_id: string } | undefined
          const row = known && (q.getUser.get(known.user_id) as { fields: string } | undefined)
          return known && row ? { id: known.user_id, fields: row.fields } : undefined
        }
        const mine = live(identityKey)
        const linked = live(linkKey)
        if (mine && linked && mine.id !== linked.id) return { id: mine.id, fields: fieldsOf(mine.id, mine.fields), conflict: linked.id }
        const existing = mine ?? linked
        if (existing) {
          q.putIdentity.run(identityKey, existing.id)
          if (linkKey !== undefined) q.putIdentity.run(linkKey, existing.id)
          return { id: existing.id, fields: fieldsOf(existing.id, existing.fields) }
        }
        const initial: Record<string, unknown> = {}
        for (const [key, json] of fields) if (json !== undefined) initial[key] = JSON.parse(json)
        const stale = (q.getIdentity.get(identityKey) as { user_id: string } | undefined)?.user_id
        let id = randomId()
        while (q.hasUser.get(id) !== undefined || id === stale) id = randomId()
        q.putUser.run(id, JSON.stringify(initial), now())
        q.putIdentity.run(identityKey, id)
        if (linkKey !== undefined) q.putIdentity.run(linkKey, id)
        return { id, fields: initial }
      })
    },

    async getUser(id) {
      checkString('getUser', 'id', id)
      const row = run('getUser', false, () => q.getUser.get(id) as { fields: string } | undefined)
      return row ? { id, fields: fieldsOf(id, row.fields) } : null
    },

    async updateUser(id, patch) {
      checkString('updateUser', 'id', id)
      const changes = checkFields('updateUser', 'patch', patch)
      return run('updateUser', true, (): StoredUser | null => {
        const row = q.getUser.get(id) as { fields: string } | undefined
        if (!row) return null
        const fields = fieldsOf(id, row.fields)
        for (const [key, json] of changes) {
          if (json === undefined) delete fields[key]
          else fields[key] = JSON.parse(json)
        }
        q.setUserFields.run(JSON.stringify(fields), id)
        return { id, fields }
      })
    },

    async deleteUser(id, ttlSeconds) {
      checkString('deleteUser', 'id', id)
      checkPositive('deleteUser', 'ttlSeconds', ttlSeconds)
      return run('deleteUser', true, () => {
        const existed = q.deleteUser.run(id).changes > 0
        q.deleteIdentities.run(id)
        const openid = kvGet(`session-owner:${id}`)
        if (openid !== undefined) q.deleteKv.run(`session:${openid}`)
        q.deleteKv.run(`session-owner:${id}`)
        for (const session of sessionRows(id)) kvPut(`family-revoked:${session.id}`, '1', toMs(ttlSeconds))
        q.deleteKvRange.run(...sessionRange(id))
        return existed
      })
    },

    async ping() {
      run('ping', false, () => q.ping.get())
    },

    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      endReadTurn()
      db.close()
    },

    sweep,
  }
  return store
}
