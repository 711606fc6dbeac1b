/**
 * Argument checks shared by both Store implementations, so `memoryStore()` and `redisStore()`
 * refuse the same bad input with the same TypeError (a bug in the caller, never a silent default,
 * never a half-written key). Lifetimes are positive, finite numbers; hashes, ids and names are
 * non-empty strings; user fields are plain objects whose values survive JSON.
 */
import type { RefreshRecord, StoredSession } from './store'

export function checkString(method: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`store.${method}: ${name} must be a non-empty string, got ${describe(value)}`)
  }
  return value
}

export function checkPositive(method: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`store.${method}: ${name} must be a positive finite number, got ${describe(value)}`)
  }
  return value
}

export function checkFinite(method: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`store.${method}: ${name} must be a finite number, got ${describe(value)}`)
  }
  return value
}

/** `requireOwner`: putRefresh needs userId and family; rotateRefresh takes them from the spent record. */
export function checkRecord(method: string, name: string, value: unknown, requireOwner: boolean): RefreshRecord {
  if (typeof value !== 'object' || value === null) throw new TypeError(`store.${method}: ${name} must be a RefreshRecord, got ${describe(value)}`)
  const r = value as Partial<RefreshRecord>
  if (requireOwner) {
    checkString(method, `${name}.userId`, r.userId)
    checkString(method, `${name}.family`, r.family)
  }
  checkFinite(method, `${name}.issuedAt`, r.issuedAt)
  checkFinite(method, `${name}.expiresAt`, r.expiresAt)
  if (r.sessionExpiresAt !== undefined) checkFinite(method, `${name}.sessionExpiresAt`, r.sessionExpiresAt)
  if (r.platform !== undefined) checkString(method, `${name}.platform`, r.platform)
  const out: RefreshRecord = { userId: r.userId as string, family: r.family as string, issuedAt: r.issuedAt as number, expiresAt: r.expiresAt as number }
  if (r.sessionExpiresAt !== undefined) out.sessionExpiresAt = r.sessionExpiresAt
  if (r.platform !== undefined) out.platform = r.platform
  return out
}

/**
 * A plain object of JSON values, returned as field → JSON text (both stores keep that form, so
 * they answer the same thing: a Date comes back as its ISO string, as it would from Redis).
 * `undefined` values map to `undefined` (updateUser removes those fields).
 */
export function checkFields(method: string, name: string, value: unknown): Map<string, string | undefined> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`store.${method}: ${name} must be a plain object, got ${describe(value)}`)
  }
  const out = new Map<string, string | undefined>()
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined) {
      out.set(key, undefined)
      continue
    }
    let json: string | undefined
    try {
      json = JSON.stringify(field)
    } catch (err) {
      throw new TypeError(`store.${method}: ${name}.${key} cannot be stored as JSON (${(err as Error).message})`)
    }
    if (json === undefined) throw new TypeError(`store.${method}: ${name}.${key} cannot be stored as JSON (${typeof field})`)
    out.set(key, json)
  }
  return out
}

export function checkNotBeforeKind(value: unknown): 'access' | 'refresh' {
  if (value !== 'access' && value !== 'refresh') {
    throw new TypeError(`store.setNotBefore: kind must be 'access' or 'refresh', got ${describe(value)}`)
  }
  return value
}

export function checkAccessTokenValue(value: unknown): { token: string; expiresAt: number } {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`store.setAccessToken: value must be { token, expiresAt }, got ${describe(value)}`)
  }
  const v = value as { token?: unknown; expiresAt?: unknown }
  return { token: checkString('setAccessToken', 'value.token', v.token), expiresAt: checkFinite('setAccessToken', 'value.expiresAt', v.expiresAt) }
}

/**
 * The access_token as a store keeps it (`JSON.stringify` of what setAccessToken took), or null
 * when the text is anything else: treated as absent, so the next renewal overwrites it.
 */
export function accessTokenFromJson(raw: string): { token: string; expiresAt: number } | null {
  try {
    const value = JSON.parse(raw) as { token?: unknown; expiresAt?: unknown }
    if (typeof value.token === 'string' && value.token && typeof value.expiresAt === 'number') return { token: value.token, expiresAt: value.expiresAt }
  } catch {
    // not JSON
  }
  return null
}

/** Seconds → whole milliseconds, at least 1 (a Redis PX/PEXPIRE argument). */
export function toMs(seconds: number): number {
  return Math.max(1, Math.ceil(seconds * 1000))
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

/** A session's end: its latest refresh token's expiry, capped by the session's absolute lifetime. */
export function sessionEnd(record: RefreshRecord, tokenExpiresAt: number): number {
  return record.sessionExpiresAt === undefined ? tokenExpiresAt : Math.min(tokenExpiresAt, record.sessionExpiresAt)
}

/** The session a login (putRefresh of a new family) lists for its user. */
export function newSession(record: RefreshRecord): StoredSession {
  const session: StoredSession = { id: record.family, createdAt: record.issuedAt, lastUsedAt: record.issuedAt, expiresAt: sessionEnd(record, record.expiresAt) }
  if (record.platform) session.platform = record.platform
  return session
}
