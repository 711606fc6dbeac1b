/**
 * `redisStore(url | client | { cluster } | { sentinels })`: the Store for many instances sharing
 * one Redis, a Redis Cluster, or a Redis watched by Sentinel, on ioredis 5.
 *
 * Why ioredis (not node-redis): it supports Node ≥ 18, `defineCommand` registers a Lua script once
 * and runs it by EVALSHA with an automatic EVAL fallback (so scripts survive a Redis restart that
 * empties the script cache), it speaks Cluster (slot map, MOVED/ASK, failover) and Sentinel (asks
 * the sentinels for the current master, again after a failover), `enableOfflineQueue: false` makes
 * a call fail at once while Redis is down instead of queueing it, and it reconnects on its own.
 *
 * Atomicity, and why it holds on a Cluster. In a cluster every key one script (or MULTI) touches
 * must be passed in KEYS and hash to one slot. So no script here computes a key, and the keys that
 * one atomic step needs together share a hash tag (in cluster layout):
 *
 *   - a refresh family `{<family>}`: its tokens' records, its revocation mark and its state (latest
 *     expiry). Rotation (spend once, reuse → revoke the family) is ONE script on that slot, so of N
 *     concurrent rotations of one token at most one answers `rotated`, on any number of processes.
 *   - a user `{<userId>}`: the user's fields, identities, sessions list, session_key link, not-before.
 *   - everything else is one key per step (counters, locks, access_token, identities, session_keys
 *     by openid, revocation marks, the generation), atomic as one command or one single-key script.
 *
 * The steps that need keys of two slots are sequences of such atomic steps, ordered so that a race
 * or a crash between them never loses a guarantee (each is explained where it is done):
 *   - a token is found by its hash, which does not name its family: a pointer `refresh-family:<hash>`
 *     (its own slot, written once, BEFORE the token is usable, never changed) leads to the family.
 *   - an identity (`identity:<platform>:<openid>`, a unionid's `identity:<platform>-union:<unionid>`)
 *     is mapped to a user by compare-and-set on the identity key alone; a new user is created first
 *     (random id, never handed out until its identity key is won), and a racer that loses the
 *     compare-and-set deletes the user it created and takes the winner's. A key naming a deleted
 *     user counts as absent. So one identity always yields one id, and ids are never reused.
 *   - logout everywhere and deleteUser revoke every family the user's session list names; the
 *     list entry is written before the login answers, and revocations are written before the user
 *     is deleted. The global refresh not-before is read before a rotation and again after it: a
 *     rotation racing `setNotBefore('refresh')` revokes its own family when it sees the new value.
 *   - what a rotation changes in the user's session list (last use, expiry) is written after it,
 *     best-effort: the family's own state key (same slot as the rotation) is what `listSessions`
 *     trusts, so a lost update never hides a live session from "log out everywhere".
 *   - a session_key (kept by openid, so users linked to one openid share it) is written before the
 *     user's link to it, and deleted after the link is read.
 *   - the few reads of several slots (checkSubject and isRevoked in cluster layout) are of marks
 *     that only appear, so reading them at slightly different instants never accepts a token
 *     that one instant would refuse.
 *
 * Layouts. Without a Cluster client the keys keep their historical names (no hash tags), so the data
 * of an existing single Redis keeps working as it is: nothing to migrate. A Cluster client (or
 * `clusterKeys: true`, for a managed cluster reached through a proxy) uses the tagged names below.
 * The two layouts do not read each other: `weapp-auth-server migrate-redis` (redis-migrate.ts) copies a
 * single Redis's data into the cluster layout.
 *
 * Faults: with a URL (or cluster nodes / sentinels), the client is ours: offline queue off, no
 * per-request retries, a command timeout, and reconnection forever with capped backoff, so service
 * resumes when Redis returns (or after a failover's promotion), without a restart. Every failure
 * (refused, timed out, connection lost mid-call, CLUSTERDOWN, a script error) rejects with
 * `StoreUnavailableError`; an `error` listener is attached so a lost connection never becomes an
 * unhandled 'error' event. A call made before the very first connection is up waits for it (at most
 * `commandTimeoutMs`); after that, calls fail fast. A call which timed out on our side may still
 * have been applied by Redis (as with any remote store); each script is all-or-nothing.
 *
 * A URL that turns out to be a node of a Redis Cluster (`INFO cluster` says `cluster_enabled:1`,
 * checked on every connection) makes every call reject with a StoreUnavailableError that says to
 * use the cluster's nodes instead: such a client would only reach that node's slots.
 *
 * With a client you pass in, it stays yours: `close()` does not quit it (and removes our listener),
 * and its own options apply (set `enableOfflineQueue: false` and `maxRetriesPerRequest: 1` on it for
 * fail-fast); calls are still bounded by `commandTimeoutMs` on our side.
 *
 * Key layout (P = `prefix`, default `weapp-auth:`; {x} only in cluster layout, else just x):
 *
 *   P refresh-family:<sha256>       family of the token (cluster layout only)          TTL = refresh lifetime
 *   P refresh:{<family>}:<sha256>   hash  userId, family, issuedAt, expiresAt (ms), sessionExpiresAt (ms),
 *                                         platform, spent ("1" once rotated)         TTL = refresh lifetime
 *                                   (standalone layout: P refresh:<sha256>; a spent token keeps its key,
 *                                   and so its TTL, so a replay is recognised)
 *   P family-revoked:{<family>}     "1"                                              TTL given (≥ refresh lifetime)
 *   P family:{<family>}             "<expiresAt ms> <lastUsedAt ms>" of the latest token   TTL = until that expiry
 *   P jti-revoked:<jti>             "1"                                              TTL given (the token's remaining life)
 *   P not-before:access             epoch seconds                                    no TTL (one key)
 *   P not-before:refresh            epoch seconds                                    no TTL (one key)
 *   P session:<openid>              session_key (kept by openid: users linked to one openid share it)  TTL given
 *   P session-owner:{<userId>}      openid                                           TTL given
 *   P access-token:<appid>          JSON { token, expiresAt }                        no TTL (freshness is expiresAt)
 *   P lock:<name>                   owner                                            PX given
 *   P hit:<key>                     counter                                          PX = window, set by the first hit
 *   P identity:<identityKey>        user id                                          no TTL (users are kept)
 *   P user:{<id>}                   hash  id, f:<field> → JSON value                 no TTL
 *   P user-identities:{<id>}        set of the identity keys naming the user         no TTL
 *   P user-sessions:{<id>}          hash  family → JSON { id, platform, createdAt, lastUsedAt, expiresAt }
 *                                   TTL = the longest session's; entries past theirs or revoked are dropped when read
 *   P user-not-before:{<id>}        epoch seconds: the user's access tokens issued before it are refused  TTL given
 *   P generation                    the data's generation (random, SET NX once)      no TTL
 *
 * User ids are random (ids.ts), never INCR: a Redis that lost its data (no persistence, FLUSHALL,
 * a failover to a replica that had not synced) starts a new generation instead of handing "1" out
 * again. `checkSubject` reads the generation on every authenticated request, so tokens issued
 * against the lost data are refused from the first request after the loss.
 */
import Redis, { Cluster, type RedisOptions } from 'ioredis'
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
import { redisKeys } from './redis-keys'
import type { RefreshRecord, RotateResult, Store, StoredSession, StoredUser, SubjectState } from './store'

/** A Redis server's address (a cluster node or a sentinel). */
export interface RedisAddress {
  host: string
  port: number
}

/**
 * What `redisStore` connects to when it makes the client itself:
 * - a `redis://` / `rediss://` URL: one Redis (or a managed cluster's proxy, with `clusterKeys`);
 * - `{ cluster: [{ host, port }, …] }`: a Redis Cluster, through ioredis' `Cluster` (any reachable
 *   node is enough to learn the others; list several);
 * - `{ sentinels: [{ host, port }, …], name }`: the master that the sentinels know as `name`,
 *   found again after each failover.
 * `password` (and `username`, for ACLs) apply to the data nodes, not to the sentinels.
 */
export type RedisTarget =
  | string
  | { cluster: RedisAddress[]; password?: string; username?: string }
  | { sentinels: RedisAddress[]; name: string; password?: string; username?: string }

export interface RedisStoreOptions {
  /** Prepended to every key. Default `weapp-auth:`. In cluster layout, keep `{` and `}` out of it. */
  prefix?: string
  /**
   * Longest wait for one round trip to Redis; past it the call rejects with StoreUnavailableError.
   * A call made of several round trips (a rotation, a first login, deleting an account) gets
   * that much per round trip. Default 1000 ms.
   */
  commandTimeoutMs?: number
  /**
   * Key names with hash tags (see the key layout), so every atomic step's keys share one slot.
   * Default: true with a Cluster client (`{ cluster }` or an ioredis `Cluster`), false otherwise.
   * Set it with a URL when a managed cluster edition is reached through its proxy (one address
   * that forwards to the shards and requires a script's keys to share a slot).
   */
  clusterKeys?: boolean
}

export interface RedisStore extends Store {
  readonly kind: 'redis'
  /** How the store reaches Redis: one server (a URL or your client), a Cluster, or through Sentinel. */
  readonly mode: 'standalone' | 'cluster' | 'sentinel'
  /** The ioredis client in use (yours, if you passed one): a `Redis`, or a `Cluster`. */
  readonly client: Redis | Cluster
  /**
   * What Redis keeps on disk, from `CONFIG GET appendonly` and `CONFIG GET save`: null when
   * CONFIG is not allowed (managed Redis often renames or forbids it). `{ aof: false, rdb: false }`
   * means a Redis restart loses every user and session.
   */
  persistence(): Promise<{ aof: boolean; rdb: boolean } | null>
  /**
   * Whether the server answering is a Redis Cluster node (`INFO cluster` → `cluster_enabled:1`);
   * null when INFO is refused. Rejects with StoreUnavailableError when Redis cannot be reached.
   */
  clusterEnabled(): Promise<boolean | null>
}

/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 1000

// ---------------------------------------------------------------------------------------------
// Lua scripts (one per atomic step; every key in KEYS, and in cluster layout in one slot)
// ---------------------------------------------------------------------------------------------

/**
 * KEYS: old refresh key, new refresh key, family-revoked key, family state key (all the family's).
 * ARGV: new issuedAt, new expiresAt, ttl ms, now ms, the refresh not-before (epoch s, '' = none).
 * Returns { status, userId, family, issuedAt, expiresAt, sessionExpiresAt, platform } ('' for an
 * absent field; just { 'unknown' } when the token is unknown).
 */
const ROTATE_REFRESH = `
local r = redis.call('HMGET', KEYS[1], 'userId', 'family', 'issuedAt', 'expiresAt', 'spent', 'sessionExpiresAt', 'platform')
if not r[1] then return {'unknown'} end
local userId, family, issuedAt, expiresAt = r[1], r[2], r[3], r[4]
local sessionEnd, platform = r[6] or '', r[7] or ''
local function answer(status) return {status, userId, family, issuedAt, expiresAt, sessionEnd, platform} end
local now = tonumber(ARGV[4])
if tonumber(expiresAt) <= now or (sessionEnd ~= '' and tonumber(sessionEnd) <= now) then return answer('expired') end
if redis.call('EXISTS', KEYS[3]) == 1 then return answer('revoked') end
if ARGV[5] ~= '' and tonumber(issuedAt) < tonumber(ARGV[5]) * 1000 then return answer('revoked') end
if r[5] then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
  return answer('reused')
end
redis.call('HSET', KEYS[1], 'spent', '1')
redis.call('HSET', KEYS[2], 'userId', userId, 'family', family, 'issuedAt', ARGV[1], 'expiresAt', ARGV[2])
if sessionEnd ~= '' then redis.call('HSET', KEYS[2], 'sessionExpiresAt', sessionEnd) end
if platform ~= '' then redis.call('HSET', KEYS[2], 'platform', platform) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local ends = tonumber(ARGV[2])
if sessionEnd ~= '' and tonumber(sessionEnd) < ends then ends = tonumber(sessionEnd) end
redis.call('SET', KEYS[4], ends .. ' ' .. now, 'PX', math.max(1, ends - now))
return answer('rotated')
`

/**
 * KEYS: refresh key, family state key. ARGV: userId, family, issuedAt, expiresAt, ttl ms,
 * sessionExpiresAt ('' = none), platform ('' = none), the session's end (ms), now (ms).
 * Replaces any old record.
 */
const PUT_REFRESH = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'userId', ARGV[1], 'family', ARGV[2], 'issuedAt', ARGV[3], 'expiresAt', ARGV[4])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'sessionExpiresAt', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'platform', ARGV[7]) end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SET', KEYS[2], ARGV[8] .. ' ' .. ARGV[3], 'PX', math.max(1, tonumber(ARGV[8]) - tonumber(ARGV[9])))
return 1
`

/** KEYS: user-sessions key. ARGV: family, the session's JSON, its ms left. Lists the session; the key lives as long as its longest session. */
const LIST_SESSION = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`

/** KEYS: user-sessions key. ARGV: family, lastUsedAt, expiresAt (ms), now (ms). Updates a listed session after a rotation. */
const TOUCH_SESSION = `
local listed = redis.call('HGET', KEYS[1], ARGV[1])
if not listed then return 0 end
local ok, session = pcall(cjson.decode, listed)
if not ok or type(session) ~= 'table' then return 0 end
session.lastUsedAt = tonumber(ARGV[2])
session.expiresAt = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(session))
local left = tonumber(ARGV[3]) - tonumber(ARGV[4])
if redis.call('PTTL', KEYS[1]) < left then redis.call('PEXPIRE', KEYS[1], left) end
return 1
`

/** KEYS: user-sessions key. ARGV: family, JSON pairs. Drops each entry only if it is still the JSON that was read. */
const PRUNE_SESSIONS = `
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 1
`

/**
 * KEYS: user key, user-identities key, user-sessions key, session-owner key. Deletes them all.
 * Returns { existed 1 | 0, the families listed, the identity keys listed, the openid or '' }.
 */
const DELETE_USER = `
local families = redis.call('HKEYS', KEYS[3])
local identities = redis.call('SMEMBERS', KEYS[2])
local openid = redis.call('GET', KEYS[4]) or ''
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return {existed, families, identities, openid}
`

/** KEYS: an identity key. ARGV: user id. Deletes it only if it still names that user. */
const DELETE_IDENTITY = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/** KEYS: an identity key. ARGV: the value read before ('' = absent), the user id. Compare-and-set: 1 when set. */
const CLAIM_IDENTITY = `
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`

/**
 * KEYS: user key, user-identities key. ARGV: user id, the number n of identity keys, n identity
 * keys, then field, JSON pairs (the defaults). Creates the user; fails if the id exists (ids are
 * random: a collision is a bug, never a reuse).
 */
const CREATE_USER = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('user id collision') end
redis.call('HSET', KEYS[1], 'id', ARGV[1])
local n = tonumber(ARGV[2])
for i = 3, 2 + n do redis.call('SADD', KEYS[2], ARGV[i]) end
for i = 3 + n, #ARGV, 2 do redis.call('HSET', KEYS[1], 'f:' .. ARGV[i], ARGV[i + 1]) end
return 1
`

/** KEYS: user key, user-identities key. ARGV: identity keys. Lists them for the user; 0 (and nothing written) when the user is gone. */
const ADD_IDENTITIES = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
return 1
`

/** KEYS: user key, user-identities key. Deletes a user this process created and never handed out (it lost the race for its identity). */
const DROP_NEW_USER = `
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`

/** KEYS: session-owner key. ARGV: openid. Deletes the owner link if it still names that openid. */
const DELETE_SESSION = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
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

/** Standalone layout. KEYS: jti-revoked key, family-revoked key, not-before:access. ARGV: iat. Returns 1 when revoked. */
const IS_REVOKED = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
local nbf = redis.call('GET', KEYS[3])
if nbf and tonumber(ARGV[1]) < tonumber(nbf) then return 1 end
return 0
`

/** KEYS: generation. ARGV: a fresh random candidate, kept only if there is none yet. */
const GENERATION = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
`

/**
 * Standalone layout: one round trip. KEYS: generation, user key, family-revoked key of the token's
 * family, user-not-before key. ARGV: a fresh generation candidate, '1' when the token names a family,
 * '1' to answer the user too. Returns { generation, user exists 1 | 0, session ended 1 | 0, the
 * user's not-before or '' }, then the user's HGETALL when asked (the same user key: no other key is read).
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
 * Cluster layout, the user's slot. KEYS: user key, user-not-before key. ARGV: '1' to answer the
 * user too. Returns { exists 1 | 0, not-before or '' }, then the user's HGETALL when asked.
 */
const CHECK_USER = `
if ARGV[1] == '1' then
  local user = redis.call('HGETALL', KEYS[1])
  local exists = 0
  if #user > 0 then exists = 1 end
  return {exists, redis.call('GET', KEYS[2]) or '', user}
end
return {redis.call('EXISTS', KEYS[1]), redis.call('GET', KEYS[2]) or ''}
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
  weappAuthRotateRefresh(k1: string, k2: string, k3: string, k4: string, ...argv: Arg[]): Promise<string[]>
  weappAuthPutRefresh(k1: string, k2: string, ...argv: Arg[]): Promise<number>
  weappAuthListSession(k1: string, ...argv: Arg[]): Promise<number>
  weappAuthTouchSession(k1: string, ...argv: Arg[]): Promise<number>
  weappAuthPruneSessions(k1: string, ...argv: Arg[]): Promise<number>
  weappAuthDeleteUser(k1: string, k2: string, k3: string, k4: string): Promise<[number, string[], string[], string]>
  weappAuthDeleteIdentity(k1: string, id: string): Promise<number>
  weappAuthClaimIdentity(k1: string, expected: string, id: string): Promise<number>
  weappAuthCreateUser(k1: string, k2: string, ...argv: Arg[]): Promise<number>
  weappAuthAddIdentities(k1: string, k2: string, ...argv: Arg[]): Promise<number>
  weappAuthDropNewUser(k1: string, k2: string): Promise<number>
  weappAuthDeleteSession(k1: string, openid: string): Promise<number>
  weappAuthGetHits(k1: string): Promise<[number, number]>
  weappAuthReleaseLock(k1: string, owner: string): Promise<number>
  weappAuthHit(k1: string, windowMs: number): Promise<[number, number]>
  weappAuthIsRevoked(k1: string, k2: string, k3: string, iat: number): Promise<number>
  weappAuthGeneration(k1: string, candidate: string): Promise<string>
  weappAuthCheckSubject(k1: string, k2: string, k3: string, k4: string, candidate: string, hasFamily: string, withUser: string): Promise<[string, number, number, string, string[]?]>
  weappAuthCheckUser(k1: string, k2: string, withUser: '0' | '1'): Promise<[number, string, string[]?]>
  weappAuthUpdateUser(k1: string, ...argv: Arg[]): Promise<string[] | null>
}

const SCRIPTS: Record<keyof ScriptedRedis, { numberOfKeys: number; lua: string }> = {
  weappAuthRotateRefresh: { numberOfKeys: 4, lua: ROTATE_REFRESH },
  weappAuthPutRefresh: { numberOfKeys: 2, lua: PUT_REFRESH },
  weappAuthListSession: { numberOfKeys: 1, lua: LIST_SESSION },
  weappAuthTouchSession: { numberOfKeys: 1, lua: TOUCH_SESSION },
  weappAuthPruneSessions: { numberOfKeys: 1, lua: PRUNE_SESSIONS },
  weappAuthDeleteUser: { numberOfKeys: 4, lua: DELETE_USER },
  weappAuthDeleteIdentity: { numberOfKeys: 1, lua: DELETE_IDENTITY },
  weappAuthClaimIdentity: { numberOfKeys: 1, lua: CLAIM_IDENTITY },
  weappAuthCreateUser: { numberOfKeys: 2, lua: CREATE_USER },
  weappAuthAddIdentities: { numberOfKeys: 2, lua: ADD_IDENTITIES },
  weappAuthDropNewUser: { numberOfKeys: 2, lua: DROP_NEW_USER },
  weappAuthDeleteSession: { numberOfKeys: 1, lua: DELETE_SESSION },
  weappAuthGetHits: { numberOfKeys: 1, lua: GET_HITS },
  weappAuthReleaseLock: { numberOfKeys: 1, lua: RELEASE_LOCK },
  weappAuthHit: { numberOfKeys: 1, lua: HIT },
  weappAuthIsRevoked: { numberOfKeys: 3, lua: IS_REVOKED },
  weappAuthGeneration: { numberOfKeys: 1, lua: GENERATION },
  weappAuthCheckSubject: { numberOfKeys: 4, lua: CHECK_SUBJECT },
  weappAuthCheckUser: { numberOfKeys: 2, lua: CHECK_USER },
  weappAuthUpdateUser: { numberOfKeys: 1, lua: UPDATE_USER },
}

/** How many times findOrCreateUser re-reads after losing a race for an identity key. */
const MAX_IDENTITY_ATTEMPTS = 8

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
export function redacted(url: string): string {
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

/** Checks a list of addresses given to `redisStore({ cluster })` / `({ sentinels })`. */
function checkAddresses(what: string, list: unknown): RedisAddress[] {
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`redisStore: ${what} must be a non-empty array of { host, port }`)
  return list.map((a: unknown, i) => {
    const address = a as Partial<RedisAddress>
    if (typeof a !== 'object' || a === null || typeof address.host !== 'string' || address.host === '' || !Number.isInteger(address.port) || (address.port as number) < 1 || (address.port as number) > 65535) {
      throw new ConfigError(`redisStore: ${what}[${i}] must be { host, port } with a port 1–65535, got ${JSON.stringify(a)?.slice(0, 80)}`)
    }
    return { host: address.host, port: address.port as number }
  })
}

const listAddresses = (list: RedisAddress[]) => list.map((a) => `${a.host}:${a.port}`).join(',')

export function redisStore(target: RedisTarget | Redis | Cluster, options: RedisStoreOptions = {}): RedisStore {
  if (typeof options !== 'object' || options === null) throw new ConfigError('redisStore: options must be an object')
  const prefix = options.prefix ?? 'weapp-auth:'
  if (typeof prefix !== 'string') throw new ConfigError(`redisStore: options.prefix must be a string, got ${typeof prefix}`)
  const commandTimeoutMs = options.commandTimeoutMs ?? 1000
  if (typeof commandTimeoutMs !== 'number' || !Number.isFinite(commandTimeoutMs) || commandTimeoutMs <= 0) {
    throw new ConfigError(`redisStore: options.commandTimeoutMs must be a positive number of ms, got ${String(commandTimeoutMs)}`)
  }
  if (options.clusterKeys !== undefined && typeof options.clusterKeys !== 'boolean') throw new ConfigError(`redisStore: options.clusterKeys must be a boolean, got ${typeof options.clusterKeys}`)

  // Our own clients: fail fast while down, reconnect forever in the background.
  const failFast: RedisOptions = {
    // Commands issued in the same tick (many requests' checks under load) leave in one write.
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
  }
  const backoff = (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS)

  let client: Redis | Cluster
  let owned: boolean
  let where: string
  let mode: RedisStore['mode'] = 'standalone'
  if (typeof target === 'string') {
    const url = parseUrl(target)
    where = redacted(target)
    owned = true
    client = new Redis(url.toString(), { ...failFast, retryStrategy: backoff })
  } else if (target instanceof Cluster) {
    client = target
    owned = false
    mode = 'cluster'
    where = `the Redis Cluster`
  } else if (target instanceof Redis || (typeof target === 'object' && target !== null && typeof (target as unknown as Redis).defineCommand === 'function')) {
    client = target as unknown as Redis
    owned = false
    where = `${client.options.host ?? 'redis'}:${client.options.port ?? ''}`
    if (client.options.sentinels) mode = 'sentinel'
  } else if (typeof target === 'object' && target !== null && 'cluster' in target) {
    const nodes = checkAddresses('cluster', target.cluster)
    owned = true
    mode = 'cluster'
    where = `the Redis Cluster at ${listAddresses(nodes)}`
    client = new Cluster(nodes, {
      // No auto-pipelining: a pipelined call that meets a moved slot or a lost node right after a
      // failover fails instead of being redirected (ioredis retries only pipelines of read-only
      // commands), and a refresh must not fail once the promotion is done.
      enableOfflineQueue: false,
      enableReadyCheck: true,
      scaleReads: 'master',
      clusterRetryStrategy: backoff,
      // While a master fails over, calls for its slots fail (503) instead of waiting; the slot map
      // is refreshed on MOVED, on a lost node, and every second, so the promoted replica is used
      // as soon as the cluster names it.
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      retryDelayOnTryAgain: 50,
      maxRedirections: 4,
      slotsRefreshTimeout: Math.max(commandTimeoutMs, 1000),
      slotsRefreshInterval: 1000,
      redisOptions: { ...failFast, ...(target.password ? { password: target.password } : {}), ...(target.username ? { username: target.username } : {}) },
    })
  } else if (typeof target === 'object' && target !== null && 'sentinels' in target) {
    const sentinels = checkAddresses('sentinels', target.sentinels)
    if (typeof target.name !== 'string' || target.name === '') throw new ConfigError('redisStore: name must be the master name the sentinels monitor (sentinel monitor <name> …)')
    owned = true
    mode = 'sentinel'
    where = `the Redis master "${target.name}" of the sentinels at ${listAddresses(sentinels)}`
    client = new Redis({
      ...failFast,
      sentinels,
      name: target.name,
      role: 'master',
      retryStrategy: backoff,
      sentinelRetryStrategy: backoff,
      // Hears the sentinels' +switch-master, so a failover is followed without waiting for a timeout.
      failoverDetector: true,
      ...(target.password ? { password: target.password } : {}),
      ...(target.username ? { username: target.username } : {}),
    })
  } else {
    throw new ConfigError(`redisStore: expected a redis:// URL, { cluster }, { sentinels, name } or an ioredis client, got ${target === null ? 'null' : typeof target}`)
  }
  const cluster = mode === 'cluster'
  const tagged = options.clusterKeys ?? cluster

  for (const [name, definition] of Object.entries(SCRIPTS)) client.defineCommand(name, definition)
  const scripted = client as unknown as ScriptedRedis

  let lastError: Error | undefined
  const onError = (err: Error) => {
    // Keeps a lost connection from being an unhandled 'error' event; the next call reports it.
    lastError = err
  }
  client.on('error', onError)
  // Set when a URL turns out to be a Cluster node: every call is refused with it (see the file comment).
  let wrongTopology: string | undefined
  let everReady = client.status === 'ready'
  // Calls made before the first connection wait here: one 'ready' listener for all of them, not
  // one each (a burst would otherwise trip Node's MaxListenersExceededWarning).
  const firstWaiters = new Set<() => void>()
  const onReady = () => {
    everReady = true
    lastError = undefined
    for (const wake of [...firstWaiters]) wake()
    if (owned && mode === 'standalone' && !tagged) {
      ;(client as Redis)
        .info('cluster')
        .then((info) => {
          wrongTopology = /cluster_enabled:1/.test(info)
            ? `${where} is a node of a Redis Cluster: it only holds some of the slots. Connect to the cluster instead (REDIS_CLUSTER_NODES=host:port,… with the bin; redisStore({ cluster: [...] }) in code)`
            : undefined
        })
        .catch(() => undefined)
    }
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
    if (/enableOfflineQueue|Connection is closed|MaxRetriesPerRequest|isn't ready/i.test(reason)) reason = `not connected (status ${client.status}; reconnecting in the background)`
    const last = lastError && lastError.message !== reason ? ` (last connection error: ${lastError.message})` : ''
    return new StoreUnavailableError(`Redis at ${where} is unavailable: ${method} failed: ${reason}${last}`, { cause: err })
  }

  /**
   * Runs one step of `rounds` sequential round trips: bounded by commandTimeoutMs per round trip,
   * every failure as StoreUnavailableError.
   */
  async function run<T>(method: string, call: () => Promise<T>, rounds = 1): Promise<T> {
    if (closed) throw new StoreUnavailableError(`redis store: ${method} called after close()`)
    if (wrongTopology) throw new StoreUnavailableError(`redis store: ${method} refused: ${wrongTopology}`)
    // Our own connected single-node client bounds every command itself (commandTimeout): no timer
    // of ours. A cluster call may be redirected and retried during a failover, so it keeps the
    // per-round-trip bound below.
    if (owned && mode !== 'cluster' && client.status === 'ready') {
      try {
        return await call()
      } catch (err) {
        throw unavailable(method, err)
      }
    }
    const deadline = Date.now() + commandTimeoutMs
    const limit = commandTimeoutMs * rounds
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${limit} ms`)), limit)
    })
    try {
      return await Promise.race([firstConnection(deadline).then(call), timeout])
    } catch (err) {
      throw unavailable(method, err)
    } finally {
      clearTimeout(timer)
    }
  }

  const k = redisKeys(prefix, tagged)

  /** The family of a token, or null when the token is unknown: the pointer (cluster layout), or the record itself. */
  async function familyOf(hash: string): Promise<string | null> {
    if (tagged) return client.get(k.refreshFamily(hash))
    return client.hget(k.refresh('', hash), 'family')
  }

  const readNotBefore = async (kind: 'access' | 'refresh') => (await client.get(k.notBefore(kind))) ?? ''

  /** The user a key names, with its fields; null when none (a key naming a deleted user counts as absent). */
  async function liveUser(id: string | null): Promise<StoredUser | null> {
    if (!id) return null
    const flat = await client.hgetall(k.user(id))
    return Object.keys(flat).length === 0 ? null : toUser(id, Object.entries(flat).flat())
  }

  async function findOrCreate(identityKey: string, defaults: Map<string, string | undefined>, linkKey: string | undefined): Promise<StoredUser & { conflict?: string }> {
    const keys = [k.identity(identityKey), ...(linkKey !== undefined && linkKey !== identityKey ? [k.identity(linkKey)] : [])]
    for (let attempt = 0; attempt < MAX_IDENTITY_ATTEMPTS; attempt++) {
      const raw = await Promise.all(keys.map((key) => client.get(key)))
      const [mine, linked] = await Promise.all(raw.map(liveUser))
      if (mine && linked && mine.id !== linked.id) return { ...mine, conflict: linked.id }
      let user = mine ?? linked ?? null
      let created = false
      if (!user) {
        // A new user, created before any identity names it: the id is handed out only once its
        // identity key is won below; a loser deletes it (nobody else can have seen it).
        const id = randomId()
        const argv: Arg[] = [id, keys.length, ...keys]
        const fields: Record<string, unknown> = {}
        for (const [field, json] of defaults) {
          if (json === undefined) continue
          argv.push(field, json)
          fields[field] = JSON.parse(json)
        }
        await scripted.weappAuthCreateUser(k.user(id), k.userIdentities(id), ...argv)
        user = { id, fields }
        created = true
      } else {
        // Listed among the user's identities before it names the user, so deleteUser finds it.
        const missing = keys.filter((_, i) => raw[i] !== user!.id)
        if (missing.length && (await scripted.weappAuthAddIdentities(k.user(user.id), k.userIdentities(user.id), ...missing)) === 0) continue // deleted meanwhile
      }
      // The link key first: of two first logins sharing a unionid, the one that wins it makes the
      // user; the other then finds that user through it on its next attempt.
      let lost = false
      for (let i = keys.length - 1; i >= 0; i--) {
        if (raw[i] === user.id) continue
        if ((await scripted.weappAuthClaimIdentity(keys[i], raw[i] ?? '', user.id)) !== 1) {
          lost = true
          break
        }
      }
      if (!lost) return user
      // A link key this user may have won already now names a deleted user: counted as absent.
      if (created) await scripted.weappAuthDropNewUser(k.user(user.id), k.userIdentities(user.id))
    }
    throw new Error(`findOrCreateUser: the identity kept changing under ${MAX_IDENTITY_ATTEMPTS} attempts`)
  }

  // Every checkSubject offers a generation, written only when the data has none (it was lost). Each
  // offer is new (a random prefix of this store's and a counter), so a generation lost with the
  // data never comes back, without drawing random bytes on every authenticated request.
  const offerPrefix = `${randomId()}.`
  let offers = 0
  const generationOffer = (): string => offerPrefix + (++offers).toString(36)

  const store: RedisStore = {
    kind: 'redis',
    mode,
    client,

    async generation() {
      return run('generation', () => scripted.weappAuthGeneration(k.generation, randomId()))
    },

    async checkSubject(userId, family, options) {
      checkString('checkSubject', 'userId', userId)
      if (family !== undefined) checkString('checkSubject', 'family', family)
      const withUser = options?.withUser === true
      if (!tagged) {
        // One server: one round trip for every authenticated request, the user included when asked.
        const [generation, exists, ended, notBefore, flat] = await run('checkSubject', () =>
          scripted.weappAuthCheckSubject(k.generation, k.user(userId), k.family(family ?? ''), k.userNotBefore(userId), generationOffer(), family === undefined ? '0' : '1', withUser ? '1' : '0'),
        )
        const subject: SubjectState = { generation: String(generation), userExists: Number(exists) === 1, sessionEnded: Number(ended) === 1, notBefore: notBefore === '' ? 0 : Number(notBefore) }
        if (withUser) subject.user = Array.isArray(flat) && flat.length > 0 ? toUser(userId, flat) : null
        return subject
      }
      // Cluster layout: three slots (the generation's, the user's, the family's), one call each, in
      // parallel. Each answer is a read of marks that only appear (or, for the user, only
      // disappear), so reading them at slightly different instants never accepts what one instant
      // would refuse.
      const [generation, [exists, notBefore, flat], ended] = await run('checkSubject', () =>
        Promise.all([
          scripted.weappAuthGeneration(k.generation, generationOffer()),
          scripted.weappAuthCheckUser(k.user(userId), k.userNotBefore(userId), withUser ? '1' : '0'),
          family === undefined ? Promise.resolve(0) : client.exists(k.family(family)),
        ]),
      )
      const subject: SubjectState = { generation: String(generation), userExists: Number(exists) === 1, sessionEnded: Number(ended) === 1, notBefore: notBefore === '' ? 0 : Number(notBefore) }
      if (withUser) subject.user = Array.isArray(flat) && flat.length > 0 ? toUser(userId, flat) : null
      return subject
    },

    async persistence() {
      if (tagged) return null // one answer per node (or a proxy's): not one to give
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

    async clusterEnabled() {
      if (wrongTopology) return true
      const info = await run('clusterEnabled', () => client.info('cluster').catch((err: Error) => (/unknown command|NOPERM|not allowed/i.test(err.message) ? null : Promise.reject(err))))
      if (info === null) return null
      return /cluster_enabled:1/.test(info)
    },

    async putRefresh(tokenHash, record, ttlSeconds) {
      checkString('putRefresh', 'tokenHash', tokenHash)
      const r = checkRecord('putRefresh', 'record', record, true)
      checkPositive('putRefresh', 'ttlSeconds', ttlSeconds)
      const session = newSession(r)
      const now = Date.now()
      await run('putRefresh', async () => {
        // In order: the pointer (a token is found only through it), the record, then the user's
        // session list. The token is handed to the client only after all three, so a failure
        // between them leaves nothing anyone holds.
        if (tagged) await client.set(k.refreshFamily(tokenHash), r.family, 'PX', toMs(ttlSeconds))
        await scripted.weappAuthPutRefresh(
          k.refresh(r.family, tokenHash),
          k.familyState(r.family),
          r.userId,
          r.family,
          String(r.issuedAt),
          String(r.expiresAt),
          toMs(ttlSeconds),
          r.sessionExpiresAt === undefined ? '' : String(r.sessionExpiresAt),
          r.platform ?? '',
          String(session.expiresAt),
          String(now),
        )
        await scripted.weappAuthListSession(k.userSessions(r.userId), r.family, JSON.stringify(session), Math.max(1, Math.ceil(session.expiresAt - now)))
      }, 3)
    },

    async rotateRefresh(oldHash, newHash, newRecord, ttlSeconds, nowMs): Promise<RotateResult> {
      checkString('rotateRefresh', 'oldHash', oldHash)
      checkString('rotateRefresh', 'newHash', newHash)
      if (oldHash === newHash) throw new TypeError('store.rotateRefresh: newHash must differ from oldHash')
      const next = checkRecord('rotateRefresh', 'newRecord', newRecord, false)
      checkPositive('rotateRefresh', 'ttlSeconds', ttlSeconds)
      checkFinite('rotateRefresh', 'nowMs', nowMs)
      const reply = await run('rotateRefresh', async () => {
        const [family, notBefore] = await Promise.all([familyOf(oldHash), readNotBefore('refresh')])
        if (family === null) return ['unknown']
        // The successor's pointer before the successor exists (a pointer to nothing is harmless).
        if (tagged) await client.set(k.refreshFamily(newHash), family, 'PX', toMs(ttlSeconds))
        const answer = await scripted.weappAuthRotateRefresh(
          k.refresh(family, oldHash),
          k.refresh(family, newHash),
          k.family(family),
          k.familyState(family),
          String(next.issuedAt),
          String(next.expiresAt),
          toMs(ttlSeconds),
          String(nowMs),
          notBefore,
        )
        if (answer[0] !== 'rotated') return answer
        // setNotBefore('refresh') may have landed between our read and the rotation: read it again,
        // and if it now refuses the spent token, end the family (its successor with it).
        const after = await readNotBefore('refresh')
        if (after !== notBefore && after !== '' && Number(answer[3]) < Number(after) * 1000) {
          await client.set(k.family(family), '1', 'PX', toMs(ttlSeconds))
          return ['revoked', ...answer.slice(1)]
        }
        return answer
      }, 5)
      const status = reply[0]
      if (status === 'unknown') return { status }
      if (status === 'rotated' || status === 'reused' || status === 'revoked' || status === 'expired') {
        const spent = toRecord(reply)
        if (status === 'rotated') {
          // The user's session list: last use and expiry. Best-effort: listSessions trusts the
          // family's own state (written by the rotation itself) over this copy.
          const ends = sessionEnd(spent, next.expiresAt)
          await scripted.weappAuthTouchSession(k.userSessions(spent.userId), spent.family, String(nowMs), String(ends), String(nowMs)).catch(() => undefined)
        }
        return { status, record: spent }
      }
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
      const listed = await run('listSessions', async () => {
        const all = await client.hgetall(k.userSessions(userId))
        const families = Object.keys(all)
        // Each family's revocation mark and state live in its own slot: read in parallel.
        const marks = await Promise.all(families.map((family) => Promise.all([client.exists(k.family(family)), client.get(k.familyState(family))])))
        const live: StoredSession[] = []
        const stale: string[] = []
        families.forEach((family, i) => {
          const [revoked, state] = marks[i]
          let session: StoredSession | null = null
          try {
            const value = JSON.parse(all[family]) as StoredSession
            if (value && typeof value === 'object' && Number.isFinite(Number(value.expiresAt))) {
              session = { id: String(value.id ?? family), ...(value.platform ? { platform: String(value.platform) } : {}), createdAt: Number(value.createdAt), lastUsedAt: Number(value.lastUsedAt), expiresAt: Number(value.expiresAt) }
            }
          } catch {
            // not ours: dropped below
          }
          if (session && state) {
            const [expiresAt, lastUsedAt] = state.split(' ').map(Number)
            if (Number.isFinite(expiresAt) && expiresAt > session.expiresAt) session.expiresAt = expiresAt
            if (Number.isFinite(lastUsedAt) && lastUsedAt > session.lastUsedAt) session.lastUsedAt = lastUsedAt
          }
          if (!session || revoked === 1 || session.expiresAt <= nowMs) stale.push(family, all[family])
          else live.push(session)
        })
        if (stale.length) await scripted.weappAuthPruneSessions(k.userSessions(userId), ...stale)
        return live
      }, 3)
      return listed.sort((a, b) => a.createdAt - b.createdAt)
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
      if (!tagged) {
        const reply = await run('isRevoked', () => scripted.weappAuthIsRevoked(k.jti(token.jti), k.family(token.fam), k.notBefore('access'), token.iat))
        return reply === 1
      }
      // Three slots, three reads in parallel: each mark only appears, so no interleaving accepts
      // a token that one instant would refuse.
      const [jti, family, notBefore] = await run('isRevoked', () => Promise.all([client.exists(k.jti(token.jti)), client.exists(k.family(token.fam)), readNotBefore('access')]))
      return jti === 1 || family === 1 || (notBefore !== '' && token.iat < Number(notBefore))
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
      await run('putSession', async () => {
        // Two slots: the session_key first, then the link that leads to it (a link is never left
        // pointing at nothing newer than it names).
        await client.set(k.session(openid), sessionKey, 'PX', toMs(ttlSeconds))
        await client.set(k.sessionOwner(userId), openid, 'PX', toMs(ttlSeconds))
      }, 2)
    },

    async getSession(userId) {
      checkString('getSession', 'userId', userId)
      return run('getSession', async () => {
        const openid = await client.get(k.sessionOwner(userId))
        if (!openid) return null
        const sessionKey = await client.get(k.session(openid))
        return sessionKey ? { openid, sessionKey } : null
      }, 2)
    },

    async deleteSession(userId) {
      checkString('deleteSession', 'userId', userId)
      await run('deleteSession', async () => {
        // The owner link names the session_key's key; a login replacing it meanwhile is deleted too.
        for (let attempt = 0; attempt < 3; attempt++) {
          const openid = await client.get(k.sessionOwner(userId))
          if (!openid) return
          await client.del(k.session(openid))
          if ((await scripted.weappAuthDeleteSession(k.sessionOwner(userId), openid)) === 1) return
        }
      }, 4)
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
      const fields = checkFields('findOrCreateUser', 'defaults', defaults)
      return run('findOrCreateUser', () => findOrCreate(identityKey, fields, linkKey), 4)
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
      const ttlMs = toMs(ttlSeconds)
      const revoke = (families: string[]) => Promise.all(families.map((family) => client.set(k.family(family), '1', 'PX', ttlMs)))
      const unmap = (identityKeys: string[]) => Promise.all(identityKeys.map((key) => scripted.weappAuthDeleteIdentity(key, id)))
      const existed = await run('deleteUser', async () => {
        // 1. Revoke every listed session and unmap every identity while the user still exists: a
        //    failure here leaves the account in place (the caller may retry), never a live
        //    session of a deleted account.
        const [families, identityKeys, openid] = await Promise.all([client.hkeys(k.userSessions(id)), client.smembers(k.userIdentities(id)), client.get(k.sessionOwner(id))])
        await Promise.all([revoke(families), unmap(identityKeys)])
        // 2. Delete the user's keys (one slot, one script); it answers what was listed by then.
        const [deleted, familiesNow, identitiesNow, openidNow] = await scripted.weappAuthDeleteUser(k.user(id), k.userIdentities(id), k.userSessions(id), k.sessionOwner(id))
        // 3. A login that finished between 1 and 2: its session and identity go too; then the session_key.
        await Promise.all([
          revoke(familiesNow.filter((f) => !families.includes(f))),
          unmap(identitiesNow.filter((key) => !identityKeys.includes(key))),
          ...[...new Set([openid, openidNow].filter((o): o is string => !!o))].map((o) => client.del(k.session(o))),
        ])
        return Number(deleted) === 1
      }, 3)
      return existed
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
