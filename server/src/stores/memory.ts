/**
 * `memoryStore()`: the Store for tests and throwaway runs: one process, nothing to install, and
 * nothing kept across a restart (its generation is new in every process, so tokens issued by an
 * earlier process are refused rather than read against other data). Everything lives in
 * Maps with expiries: an entry past its expiry is treated as gone on read (lazy expiry), and an
 * unref'd sweep timer deletes expired entries so memory stays bounded even for keys nobody reads
 * again. `close()` stops the timer and empties every map; later calls reject with
 * StoreUnavailableError.
 *
 * Atomicity: each method does all of its reads and writes synchronously, with no `await` between
 * them, so no other call can interleave (Node runs one callback at a time). That is what makes
 * rotateRefresh, acquireLock/releaseLock, hit and findOrCreateUser atomic here; redis-store.ts
 * gets the same from one Lua script each.
 *
 * Values are copied in and out (user fields through JSON, as Redis keeps them), so a caller that
 * mutates a returned object does not change what is stored.
 */
import { StoreUnavailableError } from '../errors'
import { randomId } from '../ids'
import {
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

export interface MemoryStoreOptions {
  /** Clock for every expiry (ms since epoch). Default Date.now; tests pass a controllable one. */
  now?: () => number
  /** How often expired entries are swept. Default 30 000 ms. The timer is unref'd. */
  sweepIntervalMs?: number
}

export interface MemoryStore extends Store {
  readonly kind: 'memory'
  /** How many entries are held right now, expired-but-unswept ones included (for leak tests). */
  size(): number
  /** Deletes every expired entry now (the timer does this every `sweepIntervalMs`). */
  sweep(): void
}

/** A Map whose entries expire at an absolute time (ms, on the store's clock); Infinity = never. */
class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>()
  constructor(private readonly now: () => number) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }

  /** Remaining lifetime in ms (Infinity when it never expires), or undefined when absent. */
  ttl(key: string): number | undefined {
    if (this.get(key) === undefined) return undefined
    return (this.entries.get(key) as { expiresAt: number }).expiresAt - this.now()
  }

  set(key: string, value: V, ttlMs: number = Infinity): void {
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs })
  }

  /** Replaces the value, keeping the expiry (Redis KEEPTTL). No-op when absent. */
  replace(key: string, value: V): void {
    const entry = this.entries.get(key)
    if (entry) entry.value = value
  }

  delete(key: string): void {
    this.entries.delete(key)
  }

  sweep(): void {
    const now = this.now()
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key)
  }

  get size(): number {
    return this.entries.size
  }

  clear(): void {
    this.entries.clear()
  }
}

interface RefreshEntry {
  record: RefreshRecord
  /** Spent by a rotation: kept until its own expiry so a replay is recognised as reuse. */
  spent: boolean
}

export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  if (typeof options !== 'object' || options === null) throw new TypeError('memoryStore: options must be an object')
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw new TypeError('memoryStore: options.now must be a function returning ms since epoch')
  const sweepIntervalMs = options.sweepIntervalMs ?? 30_000
  if (typeof sweepIntervalMs !== 'number' || !Number.isFinite(sweepIntervalMs) || sweepIntervalMs <= 0) {
    throw new TypeError(`memoryStore: options.sweepIntervalMs must be a positive number, got ${String(sweepIntervalMs)}`)
  }

  const refresh = new ExpiringMap<RefreshEntry>(now)
  const revokedFamilies = new ExpiringMap<true>(now)
  const revokedJtis = new ExpiringMap<true>(now)
  const notBefore: { access?: number; refresh?: number } = {}
  /** openid → session_key */
  const sessionKeys = new ExpiringMap<string>(now)
  /** user id → openid */
  const sessionOwners = new ExpiringMap<string>(now)
  const accessTokens = new Map<string, { token: string; expiresAt: number }>()
  const locks = new ExpiringMap<string>(now)
  const counters = new ExpiringMap<number>(now)
  /** identity key → user id */
  const identities = new Map<string, string>()
  /** user id → field → JSON text */
  const users = new Map<string, Map<string, string>>()
  /** user id → family → session (pruned when read and swept) */
  const sessions = new Map<string, Map<string, StoredSession>>()
  /** user id → their own access not-before (epoch seconds) */
  const userNotBefore = new ExpiringMap<number>(now)
  const generation = randomId()
  let closed = false

  const expiring: ExpiringMap<unknown>[] = [refresh, revokedFamilies, revokedJtis, sessionKeys, sessionOwners, locks, counters, userNotBefore]
  /** The user's live sessions; drops the expired and revoked ones as it goes. */
  const liveSessions = (userId: string, nowMs: number): Map<string, StoredSession> | undefined => {
    const mine = sessions.get(userId)
    if (!mine) return undefined
    for (const [family, session] of mine) if (session.expiresAt <= nowMs || revokedFamilies.get(family)) mine.delete(family)
    if (mine.size === 0) sessions.delete(userId)
    return mine.size === 0 ? undefined : mine
  }
  const sweep = () => {
    for (const map of expiring) map.sweep()
    for (const userId of [...sessions.keys()]) liveSessions(userId, now())
  }
  const timer = setInterval(sweep, sweepIntervalMs)
  timer.unref()

  function open(method: string): void {
    if (closed) throw new StoreUnavailableError(`memory store: ${method} called after close()`)
  }

  function toStored(id: string, fields: Map<string, string>): StoredUser {
    const out: Record<string, unknown> = {}
    for (const [key, json] of fields) out[key] = JSON.parse(json)
    return { id, fields: out }
  }

  const refreshNotBeforeMs = () => (notBefore.refresh === undefined ? -Infinity : notBefore.refresh * 1000)

  const store: MemoryStore = {
    kind: 'memory',

    async generation() {
      open('generation')
      return generation
    },

    async checkSubject(userId, family, options) {
      open('checkSubject')
      checkString('checkSubject', 'userId', userId)
      if (family !== undefined) checkString('checkSubject', 'family', family)
      const subject: SubjectState = {
        generation,
        userExists: users.has(userId),
        sessionEnded: family !== undefined && revokedFamilies.get(family) === true,
        notBefore: userNotBefore.get(userId) ?? 0,
      }
      if (options?.withUser) {
        const fields = users.get(userId)
        subject.user = fields ? toStored(userId, fields) : null
      }
      return subject
    },

    async putRefresh(tokenHash, record, ttlSeconds) {
      open('putRefresh')
      checkString('putRefresh', 'tokenHash', tokenHash)
      const r = checkRecord('putRefresh', 'record', record, true)
      checkPositive('putRefresh', 'ttlSeconds', ttlSeconds)
      refresh.set(tokenHash, { record: { ...r }, spent: false }, toMs(ttlSeconds))
      let mine = sessions.get(r.userId)
      if (!mine) sessions.set(r.userId, (mine = new Map()))
      mine.set(r.family, newSession(r))
    },

    async rotateRefresh(oldHash, newHash, newRecord, ttlSeconds, nowMs): Promise<RotateResult> {
      open('rotateRefresh')
      checkString('rotateRefresh', 'oldHash', oldHash)
      checkString('rotateRefresh', 'newHash', newHash)
      if (oldHash === newHash) throw new TypeError('store.rotateRefresh: newHash must differ from oldHash')
      const next = checkRecord('rotateRefresh', 'newRecord', newRecord, false)
      checkPositive('rotateRefresh', 'ttlSeconds', ttlSeconds)
      checkFinite('rotateRefresh', 'nowMs', nowMs)
      // From here to the end: no await, so nothing interleaves.
      const entry = refresh.get(oldHash)
      if (!entry) return { status: 'unknown' }
      const record = { ...entry.record }
      if (record.expiresAt <= nowMs || (record.sessionExpiresAt !== undefined && record.sessionExpiresAt <= nowMs)) return { status: 'expired', record }
      if (revokedFamilies.get(record.family) || record.issuedAt < refreshNotBeforeMs()) return { status: 'revoked', record }
      if (entry.spent) {
        revokedFamilies.set(record.family, true, toMs(ttlSeconds))
        return { status: 'reused', record }
      }
      refresh.replace(oldHash, { record: entry.record, spent: true })
      refresh.set(newHash, { record: { ...record, issuedAt: next.issuedAt, expiresAt: next.expiresAt }, spent: false }, toMs(ttlSeconds))
      const session = sessions.get(record.userId)?.get(record.family)
      if (session) {
        session.lastUsedAt = nowMs
        session.expiresAt = sessionEnd(record, next.expiresAt)
      }
      return { status: 'rotated', record }
    },

    async revokeFamily(family, ttlSeconds) {
      open('revokeFamily')
      checkString('revokeFamily', 'family', family)
      checkPositive('revokeFamily', 'ttlSeconds', ttlSeconds)
      revokedFamilies.set(family, true, toMs(ttlSeconds))
    },

    async listSessions(userId, nowMs) {
      open('listSessions')
      checkString('listSessions', 'userId', userId)
      checkFinite('listSessions', 'nowMs', nowMs)
      const mine = liveSessions(userId, nowMs)
      return mine ? [...mine.values()].map((session) => ({ ...session })).sort((a, b) => a.createdAt - b.createdAt) : []
    },

    async setUserNotBefore(userId, epochSeconds, ttlSeconds) {
      open('setUserNotBefore')
      checkString('setUserNotBefore', 'userId', userId)
      checkFinite('setUserNotBefore', 'epochSeconds', epochSeconds)
      checkPositive('setUserNotBefore', 'ttlSeconds', ttlSeconds)
      userNotBefore.set(userId, epochSeconds, toMs(ttlSeconds))
    },

    async revokeToken(jti, ttlSeconds) {
      open('revokeToken')
      checkString('revokeToken', 'jti', jti)
      checkPositive('revokeToken', 'ttlSeconds', ttlSeconds)
      revokedJtis.set(jti, true, toMs(ttlSeconds))
    },

    async isRevoked(token) {
      open('isRevoked')
      if (typeof token !== 'object' || token === null) throw new TypeError('store.isRevoked: token must be { jti, fam, iat }')
      checkString('isRevoked', 'token.jti', token.jti)
      checkString('isRevoked', 'token.fam', token.fam)
      checkFinite('isRevoked', 'token.iat', token.iat)
      if (revokedJtis.get(token.jti) || revokedFamilies.get(token.fam)) return true
      return notBefore.access !== undefined && token.iat < notBefore.access
    },

    async setNotBefore(kind, epochSeconds) {
      open('setNotBefore')
      checkNotBeforeKind(kind)
      checkFinite('setNotBefore', 'epochSeconds', epochSeconds)
      notBefore[kind] = epochSeconds
    },

    async putSession(userId, openid, sessionKey, ttlSeconds) {
      open('putSession')
      checkString('putSession', 'userId', userId)
      checkString('putSession', 'openid', openid)
      checkString('putSession', 'sessionKey', sessionKey)
      checkPositive('putSession', 'ttlSeconds', ttlSeconds)
      sessionKeys.set(openid, sessionKey, toMs(ttlSeconds))
      sessionOwners.set(userId, openid, toMs(ttlSeconds))
    },

    async getSession(userId) {
      open('getSession')
      checkString('getSession', 'userId', userId)
      const openid = sessionOwners.get(userId)
      if (openid === undefined) return null
      const sessionKey = sessionKeys.get(openid)
      return sessionKey === undefined ? null : { openid, sessionKey }
    },

    async deleteSession(userId) {
      open('deleteSession')
      checkString('deleteSession', 'userId', userId)
      const openid = sessionOwners.get(userId)
      if (openid !== undefined) sessionKeys.delete(openid)
      sessionOwners.delete(userId)
    },

    async getAccessToken(appid) {
      open('getAccessToken')
      checkString('getAccessToken', 'appid', appid)
      const value = accessTokens.get(appid)
      return value ? { ...value } : null
    },

    async setAccessToken(appid, value) {
      open('setAccessToken')
      checkString('setAccessToken', 'appid', appid)
      accessTokens.set(appid, checkAccessTokenValue(value))
    },

    async acquireLock(name, owner, ttlMs) {
      open('acquireLock')
      checkString('acquireLock', 'name', name)
      checkString('acquireLock', 'owner', owner)
      checkPositive('acquireLock', 'ttlMs', ttlMs)
      if (locks.get(name) !== undefined) return false
      locks.set(name, owner, Math.ceil(ttlMs))
      return true
    },

    async releaseLock(name, owner) {
      open('releaseLock')
      checkString('releaseLock', 'name', name)
      checkString('releaseLock', 'owner', owner)
      if (locks.get(name) === owner) locks.delete(name)
    },

    async hit(key, windowSeconds) {
      open('hit')
      checkString('hit', 'key', key)
      checkPositive('hit', 'windowSeconds', windowSeconds)
      const count = (counters.get(key) ?? 0) + 1
      if (count === 1) counters.set(key, count, toMs(windowSeconds))
      else counters.replace(key, count)
      return { count, resetMs: counters.ttl(key) as number }
    },

    async getHits(key) {
      open('getHits')
      checkString('getHits', 'key', key)
      const count = counters.get(key)
      return count === undefined ? { count: 0, resetMs: 0 } : { count, resetMs: counters.ttl(key) as number }
    },

    async findOrCreateUser(identityKey, defaults, linkKey) {
      open('findOrCreateUser')
      checkString('findOrCreateUser', 'identityKey', identityKey)
      if (linkKey !== undefined) checkString('findOrCreateUser', 'linkKey', linkKey)
      const fields = checkFields('findOrCreateUser', 'defaults', defaults)
      // An identity whose user was deleted counts as new (a new id, never the old one).
      const live = (key: string | undefined): string | undefined => {
        const id = key === undefined ? undefined : identities.get(key)
        return id !== undefined && users.has(id) ? id : undefined
      }
      const mine = live(identityKey)
      const linked = live(linkKey)
      if (mine !== undefined && linked !== undefined && mine !== linked) return { ...toStored(mine, users.get(mine) as Map<string, string>), conflict: linked }
      const existing = mine ?? linked
      if (existing !== undefined) {
        identities.set(identityKey, existing)
        if (linkKey !== undefined) identities.set(linkKey, existing)
        return toStored(existing, users.get(existing) as Map<string, string>)
      }
      let id = randomId()
      while (users.has(id)) id = randomId()
      const kept = new Map<string, string>()
      for (const [key, json] of fields) if (json !== undefined) kept.set(key, json)
      identities.set(identityKey, id)
      if (linkKey !== undefined) identities.set(linkKey, id)
      users.set(id, kept)
      return toStored(id, kept)
    },

    async getUser(id) {
      open('getUser')
      checkString('getUser', 'id', id)
      const fields = users.get(id)
      return fields ? toStored(id, fields) : null
    },

    async updateUser(id, patch) {
      open('updateUser')
      checkString('updateUser', 'id', id)
      const changes = checkFields('updateUser', 'patch', patch)
      const fields = users.get(id)
      if (!fields) return null
      for (const [key, json] of changes) {
        if (json === undefined) fields.delete(key)
        else fields.set(key, json)
      }
      return toStored(id, fields)
    },

    async deleteUser(id, ttlSeconds) {
      open('deleteUser')
      checkString('deleteUser', 'id', id)
      checkPositive('deleteUser', 'ttlSeconds', ttlSeconds)
      // From here to the end: no await, so nothing interleaves.
      const existed = users.delete(id)
      for (const [key, owner] of identities) if (owner === id) identities.delete(key)
      const openid = sessionOwners.get(id)
      if (openid !== undefined) sessionKeys.delete(openid)
      sessionOwners.delete(id)
      for (const family of sessions.get(id)?.keys() ?? []) revokedFamilies.set(family, true, toMs(ttlSeconds))
      sessions.delete(id)
      return existed
    },

    async ping() {
      open('ping')
    },

    async close() {
      if (closed) return
      closed = true
      clearInterval(timer)
      for (const map of expiring) map.clear()
      accessTokens.clear()
      identities.clear()
      users.clear()
      sessions.clear()
    },

    size() {
      let listed = 0
      for (const mine of sessions.values()) listed += mine.size
      return expiring.reduce((n, map) => n + map.size, 0) + accessTokens.size + identities.size + users.size + listed
    },

    sweep,
  }
  return store
}
