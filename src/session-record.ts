/**
 * The stored form of a session: `{ v: 1, token, expiresAt?, issuedAt?, refreshToken?, user? }`,
 * and reading it back, strictly: anything else is 'corrupt', so a foreign or half-written value is
 * never taken for a session.
 */
import { jwtExpiry } from './jwt'
import type { Session } from './login-response'

export interface StoredRecord {
  v: 1
  token: string
  expiresAt?: number
  issuedAt?: number
  refreshToken?: string
  user?: unknown
}

export function toRecord(s: Session): StoredRecord {
  const r: StoredRecord = { v: 1, token: s.token }
  if (s.expiresAt !== undefined) r.expiresAt = s.expiresAt
  if (s.issuedAt !== undefined) r.issuedAt = s.issuedAt
  if (s.refreshToken !== undefined) r.refreshToken = s.refreshToken
  if (s.user !== undefined) r.user = s.user
  return r
}

/** A valid record as a Session; 'empty' for nothing stored; 'corrupt' for anything else. */
export function fromStored(value: unknown): Session | 'empty' | 'corrupt' {
  if (value === '' || value === undefined || value === null) return 'empty'
  let v = value
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v)
    } catch (_) {
      return 'corrupt'
    }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'corrupt'
  const r = v as Record<string, unknown>
  if (r.v !== 1 || typeof r.token !== 'string' || !r.token) return 'corrupt'
  if (r.expiresAt !== undefined && (typeof r.expiresAt !== 'number' || !isFinite(r.expiresAt))) return 'corrupt'
  if (r.refreshToken !== undefined && typeof r.refreshToken !== 'string') return 'corrupt'
  if (r.issuedAt !== undefined && (typeof r.issuedAt !== 'number' || !isFinite(r.issuedAt))) return 'corrupt'
  const s: Session = { token: r.token }
  if (r.expiresAt !== undefined) s.expiresAt = r.expiresAt as number
  else {
    // Records written by older code (or by hand) may lack expiresAt: a JWT still tells it.
    const exp = jwtExpiry(r.token)
    if (exp !== undefined) s.expiresAt = exp
  }
  if (r.issuedAt !== undefined) s.issuedAt = r.issuedAt as number
  if (r.refreshToken !== undefined) s.refreshToken = r.refreshToken as string
  if (r.user !== undefined) s.user = r.user
  return s
}
