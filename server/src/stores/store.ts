/**
 * Everything the kit keeps, behind one interface with three engines, one file each beside this
 * one: `memoryStore()` (memory.ts: one process, nothing kept across a restart), `sqliteStore(path)`
 * (sqlite.ts: one machine, any number of processes, kept in one file) and `redisStore(url |
 * client | { cluster } | { sentinels })` (redis.ts: many machines). Each method that must be
 * atomic says so; in Redis each of those is ONE Lua script (or one command) on one hash slot, or
 * an ordered sequence of them that redis.ts explains, in SQLite ONE `BEGIN IMMEDIATE`
 * transaction, never a read followed by a write. Refresh tokens are kept by their SHA-256 hash only, so a dump of the
 * store does not hold a usable token.
 *
 * Nothing is ever numbered: user ids are random (128 bits), so an id can never come round again
 * after a restart or a store that lost its data. Each store also has a generation, a random id
 * written once when its data is first used; tokens carry it, so a token issued against data the
 * store no longer has is refused instead of naming whatever the id names now.
 *
 * Every method rejects with `StoreUnavailableError` when the store cannot be reached.
 * Bad arguments (a caller's bug: an empty hash, a non-positive TTL, fields that are not JSON)
 * reject with a TypeError naming the method and argument, and nothing is written.
 */

export interface RefreshRecord {
  userId: string
  /** Family id: every token rotated from one login shares it. */
  family: string
  /** ms since epoch. */
  issuedAt: number
  /** ms since epoch. */
  expiresAt: number
  /**
   * ms since epoch: the end of the whole session (login + `sessionMaxSeconds`), copied to every
   * successor; past it the token is expired whatever its own `expiresAt`. Absent on records written
   * by older versions (no cap).
   */
  sessionExpiresAt?: number
  /** The host the session logged in from ('weixin', 'qq', 'douyin', 'alipay'), copied to every successor. */
  platform?: string
}

export type RotateResult =
  /** `oldHash` was valid and is now spent; `newHash` holds its successor. `record` is the old one. */
  | { status: 'rotated'; record: RefreshRecord }
  /** `oldHash` had already been spent: the whole family is now revoked (reuse detection). */
  | { status: 'reused'; record: RefreshRecord }
  /** The family was revoked (logout, reuse, or issued before the refresh not-before). */
  | { status: 'revoked'; record: RefreshRecord }
  | { status: 'expired'; record: RefreshRecord }
  | { status: 'unknown' }

/** One session as the store lists it: a refresh family (never a token). Times in ms since epoch. */
export interface StoredSession {
  /** The family id. */
  id: string
  /** The host it logged in from, when known. */
  platform?: string
  createdAt: number
  /** The login, or the latest rotation. */
  lastUsedAt: number
  /** When its latest refresh token (or the session's absolute lifetime) runs out. */
  expiresAt: number
}

/** What one authenticated request needs to know, in one round trip (see checkSubject). */
export interface SubjectState {
  generation: string
  /** Whether the user exists in the default user repository. */
  userExists: boolean
  /** Whether the token's session (its refresh family) was ended: logged out, reused, or the account deleted. */
  sessionEnded: boolean
  /** The user's own access not-before (epoch seconds; 0 when none): tokens issued before it are refused. */
  notBefore: number
  /**
   * With `{ withUser: true }`: the user as the default user repository keeps it (null when there
   * is none), read in the same round trip. Absent otherwise (and from stores that cannot).
   */
  user?: StoredUser | null
}

export interface StoredUser {
  id: string
  fields: Record<string, unknown>
}

export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'redis'

  // --- the data's identity -----------------------------------------------------------------------
  /**
   * ATOMIC. The store's generation: a random id written once, when the store's data is first used
   * (memory: per process; SQLite: in the file; Redis: SET NX). A store that lost its data (a new
   * process for memory, a FLUSHALL or an unsynced replica for Redis) answers a new one.
   */
  generation(): Promise<string>
  /**
   * One round trip for every authenticated request: the current generation (as `generation()`,
   * written if missing), whether user `userId` exists in the default user repository, whether
   * `family` (the token's session) was ended, and the user's own access not-before. Ending a
   * session or deleting an account is thereby seen by every instance from the next request, at
   * no extra round trip. `{ withUser: true }` also answers the user's record (`user`), still in
   * that one round trip: a route that needs the user pays nothing more.
   */
  checkSubject(userId: string, family?: string, options?: { withUser?: boolean }): Promise<SubjectState>

  // --- refresh families -------------------------------------------------------------------
  /**
   * Saves a refresh token (by hash), a new login: its key lives `ttlSeconds`, and its family is
   * listed among the user's sessions (listSessions) until it expires or is revoked.
   */
  putRefresh(tokenHash: string, record: RefreshRecord, ttlSeconds: number): Promise<void>
  /**
   * ATOMIC. Looks up `oldHash`, then exactly one of: unknown; expired; revoked (family revoked,
   * or issued before the refresh not-before); reused (already spent: revokes the family, which
   * also kills the successor); rotated (marks it spent, keeping the spent marker until its own
   * expiry so a replay is recognised, and saves `newHash` with `newRecord` in the same family).
   * Of N concurrent calls with the same `oldHash`, across any number of processes, at most one
   * answers `rotated`. The successor takes `userId`, `family`, `sessionExpiresAt` and `platform`
   * from the spent record (those of `newRecord` are ignored); its `issuedAt`/`expiresAt` come from
   * `newRecord`. A record past its `expiresAt` or its `sessionExpiresAt` is `expired`.
   */
  rotateRefresh(oldHash: string, newHash: string, newRecord: RefreshRecord, ttlSeconds: number, nowMs: number): Promise<RotateResult>
  /** Revokes a family for `ttlSeconds` (at least the refresh lifetime). */
  revokeFamily(family: string, ttlSeconds: number): Promise<void>
  /** The user's sessions that are neither revoked nor expired at `nowMs`, oldest first. */
  listSessions(userId: string, nowMs: number): Promise<StoredSession[]>
  /**
   * The user's own access not-before: their access tokens issued before `epochSeconds` stop
   * working. Kept `ttlSeconds` (the access-token lifetime: older tokens have expired by then).
   */
  setUserNotBefore(userId: string, epochSeconds: number, ttlSeconds: number): Promise<void>

  // --- access-token revocation (used only when `revocation` is on) ---------------------------
  revokeToken(jti: string, ttlSeconds: number): Promise<void>
  /** One round trip: is this jti revoked, its family revoked, or `iat` before the access not-before? */
  isRevoked(token: { jti: string; fam: string; iat: number }): Promise<boolean>
  /** Tokens of `kind` issued before `epochSeconds` stop working. Replaces the previous value (no TTL). */
  setNotBefore(kind: 'access' | 'refresh', epochSeconds: number): Promise<void>

  // --- session_key per openid (rule 1: it never leaves the server) ----------------------------
  /**
   * Keeps the session_key by openid and links the user id to the openid, both for `ttlSeconds`.
   * The core passes the openid scoped by host and AppID (`<platform>:<appid>:<openid>`), so the
   * same openid string on two hosts or two apps never shares a session_key.
   */
  putSession(userId: string, openid: string, sessionKey: string, ttlSeconds: number): Promise<void>
  getSession(userId: string): Promise<{ openid: string; sessionKey: string } | null>
  /** ATOMIC. Forgets the user's session_key (and the link to it): the user must log in again for a new one. */
  deleteSession(userId: string): Promise<void>

  // --- access_token (rule 7: cached on the server, shared by every instance) ------------------
  /** Kept until replaced (no TTL): the caller judges freshness by `expiresAt`. */
  getAccessToken(appid: string): Promise<{ token: string; expiresAt: number } | null>
  setAccessToken(appid: string, value: { token: string; expiresAt: number }): Promise<void>
  /** ATOMIC (SET NX PX). True when `owner` now holds `name` for `ttlMs`. */
  acquireLock(name: string, owner: string, ttlMs: number): Promise<boolean>
  /** ATOMIC compare-and-delete: releases `name` only if `owner` still holds it. */
  releaseLock(name: string, owner: string): Promise<void>

  // --- counters (rate limits, WeChat's daily force-refresh quota) ------------------------------
  /** ATOMIC increment; the window's expiry is set by the first hit. `resetMs`: ms until the window resets. */
  hit(key: string, windowSeconds: number): Promise<{ count: number; resetMs: number }>
  /** The counter's value in its current window without counting (0 and resetMs 0 when there is none). */
  getHits(key: string): Promise<{ count: number; resetMs: number }>

  // --- the default user repository --------------------------------------------------------------
  /**
   * ATOMIC: the same `identityKey` always yields the same id, even when two processes race. A new
   * user gets a random id (22 base64url characters), never a counter.
   *
   * `linkKey` (a unionid's key) joins identities: a user found by either key gets the other mapped
   * to them too (the same person in a second app of one open-platform account, or a user whose app
   * was bound to the open platform after they signed up). When the two keys already name two
   * different users, nothing is merged or moved: the user of `identityKey` is answered, and
   * `conflict` names the other.
   */
  findOrCreateUser(identityKey: string, defaults: Record<string, unknown>, linkKey?: string): Promise<StoredUser & { conflict?: string }>
  getUser(id: string): Promise<StoredUser | null>
  updateUser(id: string, patch: Record<string, unknown>): Promise<StoredUser | null>
  /**
   * ATOMIC. Deletes user `id` from the default repository (fields and every identity mapped to
   * it), its session_key, and ends every session of the user (each family revoked for
   * `ttlSeconds`, at least the refresh lifetime), whichever repository keeps the user. Answers
   * whether the user was in the default repository. The same identity logging in later gets a
   * new id: ids are never reused.
   */
  deleteUser(id: string, ttlSeconds: number): Promise<boolean>

  /** Round trip; rejects with StoreUnavailableError when down. */
  ping(): Promise<void>
  close(): Promise<void>
}
