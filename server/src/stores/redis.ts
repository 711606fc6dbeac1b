/**
 * `redisStore(url | client)`: the Store for many instances sharing one Redis, on ioredis 5.
 *
 * Why ioredis (not node-redis): it supports Node ≥ 18, `defineCommand` registers a Lua script once
 * and runs it by EVALSHA with an automatic EVAL fallback (so scripts survive a Redis restart that
 * empties the script cache), `enableOfflineQueue: false` makes a call fail at once while Redis is
 * down instead of queueing it, and it reconnects on its own in the background.
 *
 * Atomicity: every atomic step of the Store interface is ONE Lua script (rotateRefresh with reuse
 * detection, family revocation and the refresh not-before; releaseLock compare-and-delete; hit;
 * findOrCreateUser; updateUser; isRevoked's three checks; putSession/getSession's two keys) or ONE
 * native command (acquireLock = SET NX PX). Node never reads a value and then writes on its basis.
 *
 * Faults: with a URL, the client is ours: offline queue off, no per-request retries, a command
 * timeout, and `retryStrategy` reconnecting forever with capped backoff, so service resumes when
 * Redis returns, without a restart. Every failure (refused, timed out, connection lost mid-call,
 * script error) rejects with `StoreUnavailableError`; an `error` listener is attached so a lost
 * connection never becomes an unhandled 'error' event. A call made before the very first
 * connection is up waits for it (at most `commandTimeoutMs`); after that, calls fail fast. Note
 * that a call which timed out on our side may still have been applied by Redis (as with any
 * remote store); each script is all-or-nothing, so it is never half-applied.
 *
 * With a client you pass in, it stays yours: `close()` does not quit it (and removes our listener),
 * and its own options apply (set `enableOfflineQueue: false` and `maxRetriesPerRequest: 1` on it for
 * fail-fast); calls are still bounded by `commandTimeoutMs` on our side. Redis Cluster is not
 * supported: scripts touch keys they compute (a token's family), which Cluster forbids.
 *
 * Key layout (P = `prefix`, default `weapp-auth:`):
 *
 *   P refresh:<sha256>        hash  userId, family, issuedAt, expiresAt (ms), sessionExpiresAt (ms),
 *                                   platform, spent ("1" once rotated)                           TTL = refresh lifetime
 *                                   (a spent token keeps its key, and so its TTL, so a replay is recognised)
 *   P family-revoked:<family> "1"                                                TTL given (≥ refresh lifetime)
 *   P jti-revoked:<jti>       "1"                                                TTL given (the token's remaining life)
 *   P not-before:access       epoch seconds                                      no TTL (one key)
 *   P not-before:refresh      epoch seconds                                      no TTL (one key)
 *   P session:<openid>        session_key                                        TTL given
 *   P session-owner:<userId>  openid                                             TTL given
 *   P access-token:<appid>    JSON { token, expiresAt }                          no TTL (one key per appid; freshness is expiresAt)
 *   P lock:<name>             owner                                              PX given
 *   P hit:<key>               counter                                            PX = window, set by the first hit
 *   P identity:<identityKey>  user id                                            no TTL (users are kept)
 *   P user:<id>               hash  id, f:<field> → JSON value                   no TTL
 *   P user-identities:<id>    set of the identity keys naming the user (deleteUser removes them)  no TTL
 *   P user-sessions:<id>      hash  family → JSON { id, platform, createdAt, lastUsedAt, expiresAt }
 *                                   TTL = the longest session's; entries past theirs or revoked are dropped when read
 *   P user-not-before:<id>    epoch seconds: the user's access tokens issued before it are refused  TTL given
 *   P generation              the data's generation (random, SET NX once)        no TTL
 *
 * User ids are random (ids.ts), never INCR: a Redis that lost its data (no persistence, FLUSHALL,
 * a failover to a replica that had not synced) starts a new generation instead of handing "1" out
 * again. `checkSubject` reads the generation on every authenticated request, so tokens issued
 * against the lost data are refused from the first request after the loss.
 */
import Redis, { Cluster } from 'ioredis'
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
  toMs,
} from './arguments'
import type { RefreshRecord, RotateResult, Store, StoredSession, StoredUser, SubjectState } from './store'

export interface RedisStoreOptions {
  /** Prepended to every key. Default `weapp-auth:`. */
  prefix?: string
  /** Longest wait for one store call; past it the call rejects with StoreUnavailableError. Default 1000 ms. */
  commandTimeoutMs?: number
}

export interface RedisStore extends Store {
  readonly kind: 'redis'
  /** The ioredis client in use (yours, if you passed one). */
  readonly client: Redis
  /**
   * What Redis keeps on disk, from `CONFIG GET appendonly` and `CONFIG GET save`: null when
   * CONFIG is not allowed (managed Redis often renames or forbids it). `{ aof: false, rdb: false }`
   * means a Redis restart loses every user and session.
   */
  persistence(): Promise<{ aof: boolean; rdb: boolean } | null>
}

/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 1000

// ---------------------------------------------------------------------------------------------
// Lua scripts (one per atomic step)
// ---------------------------------------------------------------------------------------------

/**
 * KEYS: old refresh key, new refresh key, not-before:refresh.
 * ARGV: family-revoked key prefix, new issuedAt, new expiresAt, ttl ms, now ms, user-sessions key prefix.
 * Returns { status, userId, family, issuedAt, expiresAt, sessionExpiresAt, platform } ('' for an
 * absent field; just { 'unknown' } when the token is unknown).
 */
const ROTATE_REFRESH = `
local r = redis.call('HMGET', KEYS[1], 'userId', 'family', 'issuedAt', 'expiresAt', 'spent', 'sessionExpiresAt', 'platform')
if not r[1] then return {'unknown'} end
local userId, family, issuedAt, expiresAt = r[1], r[2], r[3], r[4]
local sessionEnd, platform = r[6] or '', r[7] or ''
local function answer(status) return {status, userId, family, issuedAt, expiresAt, sessionEnd, platform} end
local now = tonumber(ARGV[5])
if tonumber(expiresAt) <= now or (sessionEnd ~= '' and tonumber(sessionEnd) <= now) then return answer('expired') end
local familyKey = ARGV[1] .. family
if redis.call('EXISTS', familyKey) == 1 then return answer('revoked') end
local nbf = redis.call('GET', KEYS[3])
if nbf and tonumber(issuedAt) < tonumber(nbf) * 1000 then return answer('revoked') end
if r[5] then
  redis.call('SET', familyKey, '1', 'PX', ARGV[4])
  return answer('reused')
end
redis.call('HSET', KEYS[1], 'spent', '1')
redis.call('HSET', KEYS[2], 'userId', userId, 'family', family, 'issuedAt', ARGV[2], 'expiresAt', ARGV[3])
if sessionEnd ~= '' then redis.call('HSET', KEYS[2], 'sessionExpiresAt', sessionEnd) end
if platform ~= '' then redis.call('HSET', KEYS[2], 'platform', platform) end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local sessionsKey = ARGV[6] .. userId
local listed = redis.call('HGET', sessionsKey, family)
if listed then
  local session = cjson.decode(listed)
  local ends = tonumber(ARGV[3])
  if sessionEnd ~= '' and tonumber(sessionEnd) < ends then ends = tonumber(sessionEnd) end
  session.lastUsedAt = now
  session.expiresAt = ends
  redis.call('HSET', sessionsKey, family, cjson.encode(session))
  local left = ends - now
  if redis.call('PTTL', sessionsKey) < left then redis.call('PEXPIRE', sessionsKey, left) end
end
return answer('rotated')
`

/**
 * KEYS: refresh key, user-sessions key. ARGV: userId, family, issuedAt, expiresAt, ttl ms,
 * sessionExpiresAt ('' = none), platform ('' = none), the session's JSON, its ms left. Replaces
 * any old record, and lists the family among the user's sessions.
 */
const PUT_REFRESH = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'userId', ARGV[1], 'family', ARGV[2], 'issuedAt', ARGV[3], 'expiresAt', ARGV[4])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'sessionExpiresAt', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'platform', ARGV[7]) end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[8])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[9]) then redis.call('PEXPIRE', KEYS[2], ARGV[9]) end
return 1
`

/** KEYS: user-sessions key. ARGV: family-revoked key prefix, now ms. Returns the live sessions' JSON, dropping the others. */
const LIST_SESSIONS = `
local out = {}
local all = redis.call('HGETALL', KEYS[1])
local now = tonumber(ARGV[2])
for i = 1, #all, 2 do
  local ok, session = pcall(cjson.decode, all[i + 1])
  if not ok or type(session) ~= 'table' or tonumber(session.expiresAt) == nil or tonumber(session.expiresAt) <= now or redis.call('EXISTS', ARGV[1] .. all[i]) == 1 then
    redis.call('HDEL', KEYS[1], all[i])
  else
    out[#out + 1] = all[i + 1]
  end
end
return out
`

/**
 * KEYS: user key, user-identities key, user-sessions key, session-owner key.
 * ARGV: user id, family-revoked key prefix, revocation ttl ms, session key prefix.
 * Returns 1 when the user existed in the default repository.
 */
const DELETE_USER = `
local existed = redis.call('DEL', KEYS[1])
for _, identityKey in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('GET', identityKey) == ARGV[1] then redis.call('DEL', identityKey) end
end
redis.call('DEL', KEYS[2])
local openid = redis.call('GET', KEYS[4])
if openid then redis.call('DEL', ARGV[4] .. openid) end
redis.call('DEL', KEYS[4])
for _, family in ipairs(redis.call('HKEYS', KEYS[3])) do
  redis.call('SET', ARGV[2] .. family, '1', 'PX', ARGV[3])
end
redis.call('DEL', KEYS[3])
return existed
`

/** KEYS: session-owner:<userId>. ARGV: session key prefix. Deletes both keys. */
const DELETE_SESSION = `
local openid = redis.call('GET', KEYS[1])
if openid then redis.call('DEL', ARGV[1] .. openid) end
redis.call('DEL', KEYS[1])
return 1
`

/** KEYS: counter key. Returns { count, ms until reset } without counting ({ 0, 0 } when absent). */
const GET_HITS = `
local count = redis.call('GET', KEYS[1])
if not count then return {0, 0} end
return {tonumber(count), redis.call('PTTL', KEYS[1])}
`

/** KEYS: lock key. ARGV: owner. Deletes only if the owner still holds it. */
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/** KEYS: counter key. ARGV: window ms. Returns { count, ms until reset }. */
const HIT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`

/** KEYS: jti-revoked key, family-revoked key, not-before:access. ARGV: iat. Returns 1 when revoked. */
const IS_REVOKED = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
local nbf = redis.call('GET', KEYS[3])
if nbf and tonumber(ARGV[1]) < tonumber(nbf) then return 1 end
return 0
`

/** KEYS: session:<openid>, session-owner:<userId>. ARGV: sessionKey, openid, ttl ms. */
const PUT_SESSION = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
`

/** KEYS: session-owner:<userId>. ARGV: session key prefix. Returns { openid, sessionKey } or nil. */
const GET_SESSION = `
local openid = redis.call('GET', KEYS[1])
if not openid then return false end
local sessionKey = redis.call('GET', ARGV[1] .. openid)
if not sessionKey then return false end
return {openid, sessionKey}
`

/** KEYS: generation. ARGV: a fresh random candidate, kept only if there is none yet. */
const GENERATION = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
`

/**
 * KEYS: generation, user key, family-revoked key of the token's family, user-not-before key.
 * ARGV: a fresh generation candidate, '1' when the token names a family, '1' to answer the user too.
 * Returns { generation, user exists 1 | 0, session ended 1 | 0, the user's not-before or '' },
 * then the user's HGETALL when asked (the same user key: no other key is read).
 */
const CHECK_SUBJECT = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local ended = 0
if ARGV[2] == '1' then ended = redis.call('EXISTS', KEYS[3]) end
if ARGV[3] == '1' then
  local user = redis.call('HGETALL', KEYS[2])
  local exists = 0
  if #user > 0 then exists = 1 end
  return {redis.call('GET', KEYS[1]), exists, ended, redis.call('GET', KEYS[4]) or '', user}
end
return {redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[2]), ended, redis.call('GET', KEYS[4]) or ''}
`

/**
 * KEYS: identity key, link key (the identity key again when there is none). ARGV: user key
 * prefix, a fresh random id (used only if neither key names a user: ids are never reused),
 * user-identities key prefix, then field, JSON pairs (the defaults).
 * Returns { id, HGETALL of the user, the other user's id when the keys name two users, else '' }.
 */
const FIND_OR_CREATE_USER = `
local function live(key)
  local id = redis.call('GET', key)
  if id and redis.call('EXISTS', ARGV[1] .. id) == 1 then return id end
  return false
end
local mine, linked = live(KEYS[1]), live(KEYS[2])
if mine and linked and mine ~= linked then
  return {mine, redis.call('HGETALL', ARGV[1] .. mine), linked}
end
local id = mine or linked
if not id then
  id = ARGV[2]
  local userKey = ARGV[1] .. id
  if redis.call('EXISTS', userKey) == 1 then return redis.error_reply('user id collision') end
  redis.call('HSET', userKey, 'id', id)
  for i = 4, #ARGV, 2 do redis.call('HSET', userKey, 'f:' .. ARGV[i], ARGV[i + 1]) end
end
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) ~= id then
    redis.call('SET', key, id)
    redis.call('SADD', ARGV[3] .. id, key)
  end
end
redis.call('SADD', ARGV[3] .. id, KEYS[1])
return {id, redis.call('HGETALL', ARGV[1] .. id), ''}
`

/** KEYS: user key. ARGV: triples of op ('s' set / 'd' delete), field, JSON. Returns HGETALL, or nil when no such user. */
const UPDATE_USER = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
for i = 1, #ARGV, 3 do
  if ARGV[i] == 's' then redis.call('HSET', KEYS[1], 'f:' .. ARGV[i + 1], ARGV[i + 2])
  else redis.call('HDEL', KEYS[1], 'f:' .. ARGV[i + 1]) end
end
return redis.call('HGETALL', KEYS[1])
`

type Arg = string | number
interface ScriptedRedis {
  weappAuthRotateRefresh(k1: string, k2: string, k3: string, ...argv: Arg[]): Promise<string[]>
  weappAuthPutRefresh(k1: string, k2: string, ...argv: Arg[]): Promise<number>
  weappAuthDeleteSession(k1: string, sessionPrefix: string): Promise<number>
  weappAuthGetHits(k1: string): Promise<[number, number]>
  weappAuthReleaseLock(k1: string, owner: string): Promise<number>
  weappAuthHit(k1: string, windowMs: number): Promise<[number, number]>
  weappAuthIsRevoked(k1: string, k2: string, k3: string, iat: number): Promise<number>
  weappAuthPutSession(k1: string, k2: string, ...argv: Arg[]): Promise<number>
  weappAuthGetSession(k1: string, sessionPrefix: string): Promise<[string, string] | null>
  weappAuthFindOrCreateUser(k1: string, k2: string, ...argv: Arg[]): Promise<[string, string[], string]>
  weappAuthGeneration(k1: string, candidate: string): Promise<string>
  weappAuthCheckSubject(k1: string, k2: string, k3: string, k4: string, candidate: string, hasFamily: string, withUser: string): Promise<[string, number, number, string, string[]?]>
  weappAuthListSessions(k1: string, ...argv: Arg[]): Promise<string[]>
  weappAuthDeleteUser(k1: string, k2: string, k3: string, k4: string, ...argv: Arg[]): Promise<number>
  weappAuthUpdateUser(k1: string, ...argv: Arg[]): Promise<string[] | null>
}

const SCRIPTS: Record<keyof ScriptedRedis, { numberOfKeys: number; lua: string }> = {
  weappAuthRotateRefresh: { numberOfKeys: 3, lua: ROTATE_REFRESH },
  weappAuthPutRefresh: { numberOfKeys: 2, lua: PUT_REFRESH },
  weappAuthListSessions: { numberOfKeys: 1, lua: LIST_SESSIONS },
  weappAuthDeleteUser: { numberOfKeys: 4, lua: DELETE_USER },
  weappAuthDeleteSession: { numberOfKeys: 1, lua: DELETE_SESSION },
  weappAuthGetHits: { numberOfKeys: 1, lua: GET_HITS },
  weappAuthReleaseLock: { numberOfKeys: 1, lua: RELEASE_LOCK },
  weappAuthHit: { numberOfKeys: 1, lua: HIT },
  weappAuthIsRevoked: { numberOfKeys: 3, lua: IS_REVOKED },
  weappAuthPutSession: { numberOfKeys: 2, lua: PUT_SESSION },
  weappAuthGetSession: { numberOfKeys: 1, lua: GET_SESSION },
  weappAuthFindOrCreateUser: { numberOfKeys: 2, lua: FIND_OR_CREATE_USER },
  weappAuthGeneration: { numberOfKeys: 1, lua: GENERATION },
  weappAuthCheckSubject: { numberOfKeys: 4, lua: CHECK_SUBJECT },
  weappAuthUpdateUser: { numberOfKeys: 1, lua: UPDATE_USER },
}

// ---------------------------------------------------------------------------------------------

function parseUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError(`redisStore: ${JSON.stringify(redacted(url))} is not a URL; expected redis://host:port or rediss://host:port`)
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(`redisStore: the URL must start with redis:// or rediss://, got ${parsed.protocol}//`)
  }
  return parsed
}

/** The URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@')
  }
}

function toRecord(reply: string[]): RefreshRecord {
  const record: RefreshRecord = { userId: reply[1], family: reply[2], issuedAt: Number(reply[3]), expiresAt: Number(reply[4]) }
  if (reply[5]) record.sessionExpiresAt = Number(reply[5])
  if (reply[6]) record.platform = reply[6]
  return record
}

/** HGETALL's flat [field, value, …] of a user hash → StoredUser. */
function toUser(id: string, flat: string[]): StoredUser {
  const fields: Record<string, unknown> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (flat[i].startsWith('f:')) fields[flat[i].slice(2)] = parseField(id, flat[i].slice(2), flat[i + 1])
  }
  return { id, fields }
}

/** A user field as written (JSON); anything else was written by someone else: say so, typed. */
function parseField(id: string, field: string, json: string): unknown {
  try {
    return JSON.parse(json)
  } catch {
    throw new StoreUnavailableError(`Redis: user ${id} field ${JSON.stringify(field)} is not JSON (written outside weapp-auth-server?)`)
  }
}

export function redisStore(urlOrClient: string | Redis, options: RedisStoreOptions = {}): RedisStore {
  if (typeof options !== 'object' || options === null) throw new ConfigError('redisStore: options must be an object')
  const prefix = options.prefix ?? 'weapp-auth:'
  if (typeof prefix !== 'string') throw new ConfigError(`redisStore: options.prefix must be a string, got ${typeof prefix}`)
  const commandTimeoutMs = options.commandTimeoutMs ?? 1000
  if (typeof commandTimeoutMs !== 'number' || !Number.isFinite(commandTimeoutMs) || commandTimeoutMs <= 0) {
    throw new ConfigError(`redisStore: options.commandTimeoutMs must be a positive number of ms, got ${String(commandTimeoutMs)}`)
  }

  let client: Redis
  let owned: boolean
  let where: string
  if (typeof urlOrClient === 'string') {
    const url = parseUrl(urlOrClient)
    where = redacted(urlOrClient)
    owned = true
    client = new Redis(url.toString(), {
      // Commands issued in the same tick (many requests' checks under load) leave in one write.
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: commandTimeoutMs,
      connectTimeout: Math.max(commandTimeoutMs, 1000),
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS),
    })
  } else if (urlOrClient instanceof Cluster) {
    throw new ConfigError('redisStore: Redis Cluster is not supported (its scripts touch keys they compute); use one Redis, or Sentinel')
  } else if (urlOrClient instanceof Redis || (typeof urlOrClient === 'object' && urlOrClient !== null && typeof (urlOrClient as Redis).defineCommand === 'function')) {
    client = urlOrClient
    owned = false
    where = `${client.options.host ?? 'redis'}:${client.options.port ?? ''}`
  } else {
    throw new ConfigError(`redisStore: expected a redis:// URL or an ioredis client, got ${urlOrClient === null ? 'null' : typeof urlOrClient}`)
  }

  for (const [name, definition] of Object.entries(SCRIPTS)) client.defineCommand(name, definition)
  const scripted = client as unknown as ScriptedRedis

  let lastError: Error | undefined
  const onError = (err: Error) => {
    // Keeps a lost connection from being an unhandled 'error' event; the next call reports it.
    lastError = err
  }
  client.on('error', onError)
  let everReady = client.status === 'ready'
  // Calls made before the first connection wait here: one 'ready' listener for all of them, not
  // one each (a burst would otherwise trip Node's MaxListenersExceededWarning).
  const firstWaiters = new Set<() => void>()
  const onReady = () => {
    everReady = true
    lastError = undefined
    for (const wake of [...firstWaiters]) wake()
  }
  client.on('ready', onReady)
  let closed = false

  /** Before the first connection is up, a call waits for it (bounded); afterwards none waits. */
  function firstConnection(deadline: number): Promise<void> {
    if (everReady || client.status === 'wait' || client.status === 'end') return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        firstWaiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()))
      firstWaiters.add(done)
    })
  }

  function unavailable(method: string, err: unknown): StoreUnavailableError {
    let reason = err instanceof Error ? err.message : String(err)
    if (/enableOfflineQueue|Connection is closed|MaxRetriesPerRequest/i.test(reason)) reason = `not connected (status ${client.status}; reconnecting in the background)`
    const last = lastError && lastError.message !== reason ? ` (last connection error: ${lastError.message})` : ''
    return new StoreUnavailableError(`Redis at ${where} is unavailable: ${method} failed: ${reason}${last}`, { cause: err })
  }

  /** Runs one round trip: bounded by commandTimeoutMs, every failure as StoreUnavailableError. */
  async function run<T>(method: string, call: () => Promise<T>): Promise<T> {
    if (closed) throw new StoreUnavailableError(`redis store: ${method} called after close()`)
    // Our own connected client bounds every command itself (commandTimeout): no timer of ours.
    if (owned && client.status === 'ready') {
      try {
        return await call()
      } catch (err) {
        throw unavailable(method, err)
      }
    }
    const deadline = Date.now() + commandTimeoutMs
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${commandTimeoutMs} ms`)), commandTimeoutMs)
    })
    try {
      return await Promise.race([firstConnection(deadline).then(call), timeout])
    } catch (err) {
      throw unavailable(method, err)
    } finally {
      clearTimeout(timer)
    }
  }

  const k = {
    refresh: (hash: string) => `${prefix}refresh:${hash}`,
    familyPrefix: `${prefix}family-revoked:`,
    family: (family: string) => `${prefix}family-revoked:${family}`,
    jti: (jti: string) => `${prefix}jti-revoked:${jti}`,
    notBefore: (kind: 'access' | 'refresh') => `${prefix}not-before:${kind}`,
    sessionPrefix: `${prefix}session:`,
    session: (openid: string) => `${prefix}session:${openid}`,
    sessionOwner: (userId: string) => `${prefix}session-owner:${userId}`,
    accessToken: (appid: string) => `${prefix}access-token:${appid}`,
    lock: (name: string) => `${prefix}lock:${name}`,
    hit: (key: string) => `${prefix}hit:${key}`,
    identity: (key: string) => `${prefix}identity:${key}`,
    userPrefix: `${prefix}user:`,
    user: (id: string) => `${prefix}user:${id}`,
    userIdentitiesPrefix: `${prefix}user-identities:`,
    userIdentities: (id: string) => `${prefix}user-identities:${id}`,
    userSessionsPrefix: `${prefix}user-sessions:`,
    userSessions: (id: string) => `${prefix}user-sessions:${id}`,
    userNotBefore: (id: string) => `${prefix}user-not-before:${id}`,
    generation: `${prefix}generation`,
  }

  // Every checkSubject offers a generation, written only when the data has none (it was lost). Each
  // offer is new (a random prefix of this store's and a counter), so a generation lost with the
  // data never comes back, without drawing random bytes on every authenticated request.
  const offerPrefix = `${randomId()}.`
  let offers = 0
  const generationOffer = (): string => offerPrefix + (++offers).toString(36)

  const store: RedisStore = {
    kind: 'redis',
    client,

    async generation() {
      return run('generation', () => scripted.weappAuthGeneration(k.generation, randomId()))
    },

    async checkSubject(userId, family, options) {
      checkString('checkSubject', 'userId', userId)
      if (family !== undefined) checkString('checkSubject', 'family', family)
      const withUser = options?.withUser === true
      const [generation, exists, ended, notBefore, flat] = await run('checkSubject', () =>
        scripted.weappAuthCheckSubject(k.generation, k.user(userId), k.family(family ?? ''), k.userNotBefore(userId), generationOffer(), family === undefined ? '0' : '1', withUser ? '1' : '0'),
      )
      const subject: SubjectState = { generation: String(generation), userExists: Number(exists) === 1, sessionEnded: Number(ended) === 1, notBefore: notBefore === '' ? 0 : Number(notBefore) }
      if (withUser) subject.user = Array.isArray(flat) && flat.length > 0 ? toUser(userId, flat) : null
      return subject
    },

    async persistence() {
      const config = new Map<string, string>()
      try {
        for (const name of ['appendonly', 'save']) {
          const reply = await run('persistence', () => client.call('CONFIG', 'GET', name) as Promise<unknown>)
          if (!Array.isArray(reply) || reply.length < 2) return null
          config.set(name, String(reply[1]))
        }
      } catch {
        // CONFIG renamed or refused (managed Redis, ACLs): nothing to tell.
        return null
      }
      return { aof: config.get('appendonly') === 'yes', rdb: (config.get('save') ?? '').trim() !== '' }
    },

    async putRefresh(tokenHash, record, ttlSeconds) {
      checkString('putRefresh', 'tokenHash', tokenHash)
      const r = checkRecord('putRefresh', 'record', record, true)
      checkPositive('putRefresh', 'ttlSeconds', ttlSeconds)
      const session = newSession(r)
      await run('putRefresh', () =>
        scripted.weappAuthPutRefresh(
          k.refresh(tokenHash),
          k.userSessions(r.userId),
          r.userId,
          r.family,
          String(r.issuedAt),
          String(r.expiresAt),
          toMs(ttlSeconds),
          r.sessionExpiresAt === undefined ? '' : String(r.sessionExpiresAt),
          r.platform ?? '',
          JSON.stringify(session),
          Math.max(1, Math.ceil(session.expiresAt - Date.now())),
        ),
      )
    },

    async rotateRefresh(oldHash, newHash, newRecord, ttlSeconds, nowMs): Promise<RotateResult> {
      checkString('rotateRefresh', 'oldHash', oldHash)
      checkString('rotateRefresh', 'newHash', newHash)
      if (oldHash === newHash) throw new TypeError('store.rotateRefresh: newHash must differ from oldHash')
      const next = checkRecord('rotateRefresh', 'newRecord', newRecord, false)
      checkPositive('rotateRefresh', 'ttlSeconds', ttlSeconds)
      checkFinite('rotateRefresh', 'nowMs', nowMs)
      const reply = await run('rotateRefresh', () =>
        scripted.weappAuthRotateRefresh(
          k.refresh(oldHash),
          k.refresh(newHash),
          k.notBefore('refresh'),
          k.familyPrefix,
          String(next.issuedAt),
          String(next.expiresAt),
          toMs(ttlSeconds),
          String(nowMs),
          k.userSessionsPrefix,
        ),
      )
      const status = reply[0]
      if (status === 'unknown') return { status }
      if (status === 'rotated' || status === 'reused' || status === 'revoked' || status === 'expired') return { status, record: toRecord(reply) }
      throw new StoreUnavailableError(`Redis at ${where}: rotateRefresh answered an unexpected status ${JSON.stringify(status)}`)
    },

    async revokeFamily(family, ttlSeconds) {
      checkString('revokeFamily', 'family', family)
      checkPositive('revokeFamily', 'ttlSeconds', ttlSeconds)
      await run('revokeFamily', () => client.set(k.family(family), '1', 'PX', toMs(ttlSeconds)))
    },

    async listSessions(userId, nowMs) {
      checkString('listSessions', 'userId', userId)
      checkFinite('listSessions', 'nowMs', nowMs)
      const reply = await run('listSessions', () => scripted.weappAuthListSessions(k.userSessions(userId), k.familyPrefix, String(nowMs)))
      const sessions: StoredSession[] = []
      for (const json of reply) {
        const value = JSON.parse(json) as StoredSession
        sessions.push({ id: String(value.id), ...(value.platform ? { platform: String(value.platform) } : {}), createdAt: Number(value.createdAt), lastUsedAt: Number(value.lastUsedAt), expiresAt: Number(value.expiresAt) })
      }
      return sessions.sort((a, b) => a.createdAt - b.createdAt)
    },

    async setUserNotBefore(userId, epochSeconds, ttlSeconds) {
      checkString('setUserNotBefore', 'userId', userId)
      checkFinite('setUserNotBefore', 'epochSeconds', epochSeconds)
      checkPositive('setUserNotBefore', 'ttlSeconds', ttlSeconds)
      await run('setUserNotBefore', () => client.set(k.userNotBefore(userId), String(epochSeconds), 'PX', toMs(ttlSeconds)))
    },

    async revokeToken(jti, ttlSeconds) {
      checkString('revokeToken', 'jti', jti)
      checkPositive('revokeToken', 'ttlSeconds', ttlSeconds)
      await run('revokeToken', () => client.set(k.jti(jti), '1', 'PX', toMs(ttlSeconds)))
    },

    async isRevoked(token) {
      if (typeof token !== 'object' || token === null) throw new TypeError('store.isRevoked: token must be { jti, fam, iat }')
      checkString('isRevoked', 'token.jti', token.jti)
      checkString('isRevoked', 'token.fam', token.fam)
      checkFinite('isRevoked', 'token.iat', token.iat)
      const reply = await run('isRevoked', () => scripted.weappAuthIsRevoked(k.jti(token.jti), k.family(token.fam), k.notBefore('access'), token.iat))
      return reply === 1
    },

    async setNotBefore(kind, epochSeconds) {
      checkNotBeforeKind(kind)
      checkFinite('setNotBefore', 'epochSeconds', epochSeconds)
      await run('setNotBefore', () => client.set(k.notBefore(kind), String(epochSeconds)))
    },

    async putSession(userId, openid, sessionKey, ttlSeconds) {
      checkString('putSession', 'userId', userId)
      checkString('putSession', 'openid', openid)
      checkString('putSession', 'sessionKey', sessionKey)
      checkPositive('putSession', 'ttlSeconds', ttlSeconds)
      await run('putSession', () => scripted.weappAuthPutSession(k.session(openid), k.sessionOwner(userId), sessionKey, openid, toMs(ttlSeconds)))
    },

    async getSession(userId) {
      checkString('getSession', 'userId', userId)
      const reply = await run('getSession', () => scripted.weappAuthGetSession(k.sessionOwner(userId), k.sessionPrefix))
      return reply ? { openid: reply[0], sessionKey: reply[1] } : null
    },

    async deleteSession(userId) {
      checkString('deleteSession', 'userId', userId)
      await run('deleteSession', () => scripted.weappAuthDeleteSession(k.sessionOwner(userId), k.sessionPrefix))
    },

    async getAccessToken(appid) {
      checkString('getAccessToken', 'appid', appid)
      const raw = await run('getAccessToken', () => client.get(k.accessToken(appid)))
      if (raw === null) return null
      return accessTokenFromJson(raw)
    },

    async setAccessToken(appid, value) {
      checkString('setAccessToken', 'appid', appid)
      const v = checkAccessTokenValue(value)
      await run('setAccessToken', () => client.set(k.accessToken(appid), JSON.stringify(v)))
    },

    async acquireLock(name, owner, ttlMs) {
      checkString('acquireLock', 'name', name)
      checkString('acquireLock', 'owner', owner)
      checkPositive('acquireLock', 'ttlMs', ttlMs)
      const reply = await run('acquireLock', () => client.set(k.lock(name), owner, 'PX', Math.ceil(ttlMs), 'NX'))
      return reply === 'OK'
    },

    async releaseLock(name, owner) {
      checkString('releaseLock', 'name', name)
      checkString('releaseLock', 'owner', owner)
      await run('releaseLock', () => scripted.weappAuthReleaseLock(k.lock(name), owner))
    },

    async hit(key, windowSeconds) {
      checkString('hit', 'key', key)
      checkPositive('hit', 'windowSeconds', windowSeconds)
      const [count, resetMs] = await run('hit', () => scripted.weappAuthHit(k.hit(key), toMs(windowSeconds)))
      return { count: Number(count), resetMs: Number(resetMs) }
    },

    async getHits(key) {
      checkString('getHits', 'key', key)
      const [count, resetMs] = await run('getHits', () => scripted.weappAuthGetHits(k.hit(key)))
      return { count: Number(count), resetMs: Math.max(0, Number(resetMs)) }
    },

    async findOrCreateUser(identityKey, defaults, linkKey) {
      checkString('findOrCreateUser', 'identityKey', identityKey)
      if (linkKey !== undefined) checkString('findOrCreateUser', 'linkKey', linkKey)
      const argv: string[] = [k.userPrefix, randomId(), k.userIdentitiesPrefix]
      for (const [field, json] of checkFields('findOrCreateUser', 'defaults', defaults)) if (json !== undefined) argv.push(field, json)
      const [id, flat, conflict] = await run('findOrCreateUser', () =>
        scripted.weappAuthFindOrCreateUser(k.identity(identityKey), k.identity(linkKey ?? identityKey), ...argv),
      )
      const user: StoredUser & { conflict?: string } = toUser(String(id), flat)
      if (conflict) user.conflict = String(conflict)
      return user
    },

    async getUser(id) {
      checkString('getUser', 'id', id)
      const flat = await run('getUser', () => client.hgetall(k.user(id)))
      if (!flat || Object.keys(flat).length === 0) return null
      return toUser(id, Object.entries(flat).flat())
    },

    async updateUser(id, patch) {
      checkString('updateUser', 'id', id)
      const argv: string[] = []
      for (const [field, json] of checkFields('updateUser', 'patch', patch)) argv.push(json === undefined ? 'd' : 's', field, json ?? '')
      const flat = await run('updateUser', () => scripted.weappAuthUpdateUser(k.user(id), ...argv))
      return flat ? toUser(id, flat) : null
    },

    async deleteUser(id, ttlSeconds) {
      checkString('deleteUser', 'id', id)
      checkPositive('deleteUser', 'ttlSeconds', ttlSeconds)
      const existed = await run('deleteUser', () =>
        scripted.weappAuthDeleteUser(k.user(id), k.userIdentities(id), k.userSessions(id), k.sessionOwner(id), id, k.familyPrefix, toMs(ttlSeconds), k.sessionPrefix),
      )
      return Number(existed) === 1
    },

    async ping() {
      await run('ping', () => client.ping())
    },

    async close() {
      if (closed) return
      closed = true
      client.off('ready', onReady)
      if (!owned) {
        client.off('error', onError)
        return
      }
      try {
        await Promise.race([client.quit(), new Promise((resolve) => setTimeout(resolve, commandTimeoutMs).unref())])
      } catch {
        // down already: disconnect below
      } finally {
        client.disconnect()
        // A late 'error' from the dying socket must still find a listener.
        setTimeout(() => client.off('error', onError), 100).unref()
      }
    },
  }
  return store
}
