/**
 * Users in your own MySQL/MariaDB or PostgreSQL: `sqlUsers(db | { url })` is a UserRepository on
 * Kysely with the same rules as the store-backed `storeUsers` (see users.ts): one user per
 * `<platform>:<openid>`, joined by `<platform>-union:<unionid>` when the host answers one; two
 * accounts sharing a unionid are never merged (onIdentityConflict is told); a deleted user's
 * identity logs in again as a NEW user (ids are random and never reused). openid and unionid are
 * kept only as identity keys, never in the user's fields.
 *
 * Tables (created by `migrateSqlUsers(db)`, idempotent, safe to run from several instances at once):
 *   weapp_auth_users      (id PRIMARY KEY, fields TEXT holding a JSON object, created_at ms)
 *   weapp_auth_identities (key PRIMARY KEY, user_id → weapp_auth_users.id ON DELETE CASCADE, INDEX user_id)
 *
 * Logins are atomic across instances: findOrCreate reads and writes in one transaction, and a
 * second instance that races it hits the identity key's primary key, rolls back and reads again,
 * so both answer one id.
 */
import { Kysely, MysqlAdapter, MysqlDialect, PostgresAdapter, PostgresDialect, sql, type Transaction } from 'kysely'
import { randomId } from './ids'
import type { HostPlatform } from './types'
import { DEFAULT_USER_FIELDS, type IdentityConflict, type StoreUser, type StoreUsersOptions } from './users'

export interface SqlUsersTables {
  weapp_auth_users: { id: string; fields: string; created_at: number | string }
  weapp_auth_identities: { key: string; user_id: string }
}

/** Any Kysely on MySQL/MariaDB or PostgreSQL: your own database type need not list our tables. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SqlUsersDatabase = Kysely<any>

export interface SqlUserRepository {
  findOrCreate(identity: { openid: string; unionid?: string; platform: HostPlatform }): Promise<StoreUser>
  findById(id: string): Promise<StoreUser | null>
  /** Merges `patch` into the user's fields (a field set to undefined is removed); null when there is no such user. openid, unionid and session keys are never kept. */
  updateUser(id: string, patch: Record<string, unknown>): Promise<StoreUser | null>
  /** Removes the user's fields and identities; answers whether there was such a user. */
  deleteUser(id: string): Promise<boolean>
  /** The Kysely these users live in. */
  readonly db: Kysely<SqlUsersTables>
  /** Closes the connection pool if sqlUsers opened it (from `{ url }`); a Kysely of yours is left open. */
  close(): Promise<void>
}

export type SqlDialectName = 'mysql' | 'postgres'

/** Longest identity key kept (`<platform>-union:<unionid>`); the column is varchar(255). */
const MAX_KEY_LENGTH = 255
/** How often a login is retried after losing a race (a key taken meanwhile, a deadlock). */
const MAX_ATTEMPTS = 12

function dialectOf(db: SqlUsersDatabase): SqlDialectName {
  const adapter = db.getExecutor().adapter
  // By class, or by name when your Kysely comes from another copy of the package.
  const name = (adapter as object | undefined)?.constructor?.name
  if (adapter instanceof MysqlAdapter || name === 'MysqlAdapter') return 'mysql'
  if (adapter instanceof PostgresAdapter || name === 'PostgresAdapter') return 'postgres'
  throw new TypeError('sqlUsers: the Kysely must use MysqlDialect (MySQL/MariaDB) or PostgresDialect (PostgreSQL)')
}

/** Which database a DATABASE_URL names, or what is wrong with it (`problem` follows the variable's name; it never repeats the password). */
export function sqlDialectOfUrl(url: string): SqlDialectName | { problem: string } {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { problem: 'must be a URL such as postgres://user:password@host:5432/db or mysql://user:password@host:3306/db' }
  }
  if (parsed.protocol === 'mysql:' || parsed.protocol === 'mariadb:') return 'mysql'
  if (parsed.protocol === 'postgres:' || parsed.protocol === 'postgresql:') return 'postgres'
  return { problem: `must start with mysql://, mariadb:// or postgres://, got ${JSON.stringify(parsed.protocol + '//')}` }
}

/** A Kysely for a `mysql://`, `mariadb://` or `postgres://` URL (mysql2 or pg pool; they are loaded only when used). */
export function openSqlDatabase(url: string): Kysely<SqlUsersTables> {
  const dialect = sqlDialectOfUrl(url)
  if (typeof dialect !== 'string') throw new TypeError(`sqlUsers: the database URL ${dialect.problem}`)
  if (dialect === 'mysql') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mysql = require('mysql2') as typeof import('mysql2')
    const uri = url.replace(/^mariadb:/, 'mysql:')
    return new Kysely<SqlUsersTables>({ dialect: new MysqlDialect({ pool: mysql.createPool({ uri, charset: 'utf8mb4' }) }) })
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as typeof import('pg')
  const pool = new pg.Pool({ connectionString: url })
  // An idle connection the server ends (a restart, a failover, idle_session_timeout) is an 'error'
  // event on the pool: unhandled, it would end the process. The pool drops that connection and
  // the next query opens a new one.
  pool.on('error', () => undefined)
  return new Kysely<SqlUsersTables>({ dialect: new PostgresDialect({ pool }) })
}

function statements(dialect: SqlDialectName) {
  if (dialect === 'mysql') {
    // Binary collation: openids and ids are case-sensitive (MySQL's default collation is not).
    return [
      sql`CREATE TABLE IF NOT EXISTS weapp_auth_users (
        id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
        fields MEDIUMTEXT NOT NULL,
        created_at BIGINT NOT NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      sql`CREATE TABLE IF NOT EXISTS weapp_auth_identities (
        \`key\` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
        user_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        INDEX weapp_auth_identities_user_id (user_id),
        CONSTRAINT weapp_auth_identities_user FOREIGN KEY (user_id) REFERENCES weapp_auth_users (id) ON DELETE CASCADE
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ]
  }
  return [
    sql`CREATE TABLE IF NOT EXISTS weapp_auth_users (
      id VARCHAR(64) NOT NULL PRIMARY KEY,
      fields TEXT NOT NULL,
      created_at BIGINT NOT NULL
    )`,
    sql`CREATE TABLE IF NOT EXISTS weapp_auth_identities (
      "key" VARCHAR(255) NOT NULL PRIMARY KEY,
      user_id VARCHAR(64) NOT NULL REFERENCES weapp_auth_users (id) ON DELETE CASCADE
    )`,
    sql`CREATE INDEX IF NOT EXISTS weapp_auth_identities_user_id ON weapp_auth_identities (user_id)`,
  ]
}

/** An arbitrary, fixed lock id for the migration (PostgreSQL advisory lock / MySQL GET_LOCK name). */
const PG_LOCK_ID = 727_001_734
const MYSQL_LOCK_NAME = 'weapp_auth_migrate'

/**
 * Creates the two tables (and the user_id index) when they are missing; running it again, or from
 * several instances at once, changes nothing. The bin runs it at start.
 */
export async function migrateSqlUsers(db: SqlUsersDatabase | SqlUserRepository): Promise<void> {
  const kysely: SqlUsersDatabase = 'findOrCreate' in db ? db.db : db
  const dialect = dialectOf(kysely)
  if (dialect === 'postgres') {
    // DDL is transactional in PostgreSQL; the advisory lock keeps two instances' CREATEs apart.
    await kysely.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${sql.lit(PG_LOCK_ID)})`.execute(trx)
      for (const statement of statements(dialect)) await statement.execute(trx)
    })
    return
  }
  await kysely.connection().execute(async (conn) => {
    const got = await sql<{ got: number | null }>`SELECT GET_LOCK(${MYSQL_LOCK_NAME}, 60) AS got`.execute(conn)
    if (Number(got.rows[0]?.got) !== 1) throw new Error('migrateSqlUsers: another instance held the migration lock for 60 s')
    try {
      for (const statement of statements(dialect)) await statement.execute(conn)
    } finally {
      await sql`SELECT RELEASE_LOCK(${MYSQL_LOCK_NAME})`.execute(conn)
    }
  })
}

/** A lost race the login retries: a key or id taken meanwhile, a user deleted meanwhile, a deadlock. */
function isRetryable(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null
  if (!e) return false
  // PostgreSQL: unique_violation, foreign_key_violation, serialization_failure, deadlock_detected.
  if (typeof e.code === 'string' && ['23505', '23503', '40001', '40P01'].includes(e.code)) return true
  // MySQL/MariaDB: duplicate key, a row referenced that is gone, deadlock, lock wait timeout.
  return typeof e.errno === 'number' && [1062, 1452, 1213, 1205].includes(e.errno)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function parseFields(json: string): Record<string, unknown> {
  try {
    const fields = JSON.parse(json) as unknown
    return typeof fields === 'object' && fields !== null && !Array.isArray(fields) ? (fields as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

function toUser(id: string, fields: string): StoreUser {
  return { ...parseFields(fields), id }
}

function checkKeyPart(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`sqlUsers.findOrCreate: ${name} must be a non-empty string`)
  return value
}

/** Fields never kept: an id of their own, and the secrets a client must never see. */
function safePatch(patch: Record<string, unknown>): Record<string, unknown> {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new TypeError('sqlUsers.updateUser: patch must be a plain object')
  const { id: _i, openid: _o, unionid: _u, session_key: _s, sessionKey: _k, ...safe } = patch
  return safe
}

/**
 * A UserRepository in MySQL/MariaDB or PostgreSQL (see the file comment). Pass your Kysely, or
 * `{ url }` (`mysql://`, `mariadb://`, `postgres://`) to let it open a pool (`close()` ends it).
 * Run `migrateSqlUsers` once before the first login.
 */
export function sqlUsers(source: SqlUsersDatabase | { url: string }, options: StoreUsersOptions = {}): SqlUserRepository {
  const owned = !(source instanceof Kysely) && typeof (source as { url?: unknown }).url === 'string'
  const db = (owned ? openSqlDatabase((source as { url: string }).url) : source) as Kysely<SqlUsersTables>
  dialectOf(db)

  type Answer = { id: string; fields: string; conflict?: string }

  async function attempt(trx: Transaction<SqlUsersTables>, identityKey: string, linkKey: string | undefined, defaults: string): Promise<Answer> {
    const keys = linkKey === undefined ? [identityKey] : [identityKey, linkKey]
    const rows = await trx
      .selectFrom('weapp_auth_identities as i')
      .innerJoin('weapp_auth_users as u', 'u.id', 'i.user_id')
      .select(['i.key as key', 'u.id as id', 'u.fields as fields'])
      .where('i.key', 'in', keys)
      .execute()
    const mine = rows.find((r) => r.key === identityKey)
    const linked = linkKey === undefined ? undefined : rows.find((r) => r.key === linkKey)
    if (mine && linked && mine.id !== linked.id) return { id: mine.id, fields: mine.fields, conflict: linked.id }
    const existing = mine ?? linked
    if (existing) {
      // An account made before the unionid gains the link; a second app's openid joins the person.
      const missing = keys.filter((key) => !rows.some((r) => r.key === key))
      if (missing.length) await trx.insertInto('weapp_auth_identities').values(missing.map((key) => ({ key, user_id: existing.id }))).execute()
      return { id: existing.id, fields: existing.fields }
    }
    const id = randomId()
    await trx.insertInto('weapp_auth_users').values({ id, fields: defaults, created_at: Date.now() }).execute()
    await trx.insertInto('weapp_auth_identities').values(keys.map((key) => ({ key, user_id: id }))).execute()
    return { id, fields: defaults }
  }

  return {
    db,
    async findOrCreate({ openid, unionid, platform }) {
      checkKeyPart('platform', platform)
      checkKeyPart('openid', openid)
      const identityKey = `${platform}:${openid}`
      const linkKey = typeof unionid === 'string' && unionid !== '' ? `${platform}-union:${unionid}` : undefined
      for (const key of [identityKey, linkKey]) {
        if (key !== undefined && key.length > MAX_KEY_LENGTH) throw new TypeError(`sqlUsers.findOrCreate: identity longer than ${MAX_KEY_LENGTH} characters`)
      }
      const defaults = JSON.stringify({ ...DEFAULT_USER_FIELDS, platform })
      let answer: Answer | undefined
      for (let tries = 1; !answer; tries++) {
        try {
          answer = await db.transaction().execute((trx) => attempt(trx, identityKey, linkKey, defaults))
        } catch (err) {
          if (tries >= MAX_ATTEMPTS || !isRetryable(err)) throw err
          // Another login won the race: read what it wrote (a little jitter spreads a crowd).
          await sleep(Math.random() * 5 * tries)
        }
      }
      if (answer.conflict !== undefined && options.onIdentityConflict) {
        const conflict: IdentityConflict = { platform, kept: answer.id, other: answer.conflict }
        try {
          await options.onIdentityConflict(conflict)
        } catch {
          // the app's listener must not fail a login
        }
      }
      return toUser(answer.id, answer.fields)
    },
    async findById(id) {
      if (typeof id !== 'string' || id === '') return null
      const row = await db.selectFrom('weapp_auth_users').select(['id', 'fields']).where('id', '=', id).executeTakeFirst()
      return row ? toUser(row.id, row.fields) : null
    },
    async updateUser(id, patch) {
      const safe = safePatch(patch)
      if (typeof id !== 'string' || id === '') return null
      for (const [key, value] of Object.entries(safe)) {
        if (value === undefined) continue
        try {
          JSON.stringify(value)
        } catch (err) {
          throw new TypeError(`sqlUsers.updateUser: patch.${key} cannot be stored as JSON (${(err as Error).message})`)
        }
      }
      for (let tries = 1; ; tries++) {
        try {
          return await db.transaction().execute(async (trx) => {
            const row = await trx.selectFrom('weapp_auth_users').select(['id', 'fields']).where('id', '=', id).forUpdate().executeTakeFirst()
            if (!row) return null
            const fields = parseFields(row.fields)
            for (const [key, value] of Object.entries(safe)) {
              if (value === undefined) delete fields[key]
              else fields[key] = JSON.parse(JSON.stringify(value)) as unknown
            }
            const json = JSON.stringify(fields)
            await trx.updateTable('weapp_auth_users').set({ fields: json }).where('id', '=', id).execute()
            return toUser(row.id, json)
          })
        } catch (err) {
          if (tries >= MAX_ATTEMPTS || !isRetryable(err)) throw err
          await sleep(Math.random() * 5 * tries)
        }
      }
    },
    async deleteUser(id) {
      if (typeof id !== 'string' || id === '') return false
      for (let tries = 1; ; tries++) {
        try {
          return await db.transaction().execute(async (trx) => {
            // The foreign key cascades too; deleting the identities first keeps tables made by hand right.
            await trx.deleteFrom('weapp_auth_identities').where('user_id', '=', id).execute()
            const result = await trx.deleteFrom('weapp_auth_users').where('id', '=', id).executeTakeFirst()
            return Number(result.numDeletedRows) > 0
          })
        } catch (err) {
          if (tries >= MAX_ATTEMPTS || !isRetryable(err)) throw err
          await sleep(Math.random() * 5 * tries)
        }
      }
    },
    async close() {
      if (owned) await db.destroy()
    },
  }
}
