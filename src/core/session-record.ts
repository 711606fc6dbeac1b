/**
 * The stored form of a session: `{ v: 1, token, expiresAt?, issuedAt?, refreshToken?, user? }`,
 * and reading it back, strictly: anything else is 'corrupt', so a foreign or half-written value is
 * never taken for a session.
 */
import type { Session } from './login-response'

export interface StoredRecord {
  v: 1
  token: string
  expiresAt?: number
  issuedAt?: number
  refreshToken?: string
  user?: unknown
}

/** The optional fields of a session, in the order they are stored. */
const FIELDS = ['expiresAt', 'issuedAt', 'refreshToken', 'user'] as const

/** Copies `token` and the optional fields that are set. */
function copy<T extends object>(target: T, from: Record<string, unknown>): T {
  ;(target as Record<string, unknown>).token = from.token
  for (const k of FIELDS) if (from[k] !== undefined && from[k] !== null) (target as Record<string, unknown>)[k] = from[k]
  return target
}

export function toRecord(s: Session): StoredRecord {
  return copy({ v: 1 } as StoredRecord, s as unknown as Record<string, unknown>)
}

/** `null` is what JSON made of a non-finite number an older version stored: taken as unknown, not as corruption. */
const finiteOrAbsent = (x: unknown): boolean => x === undefined || x === null || (typeof x === 'number' && isFinite(x))

/** A valid record as a Session; 'empty' for nothing stored; 'corrupt' for anything else. */
export function fromStored(value: unknown): Session | 'empty' | 'corrupt' {
  if (value === '' || value === undefined || value === null) return 'empty'
  let r = value as Record<string, unknown>
  try {
    if (typeof r === 'string') r = JSON.parse(r)
  } catch (_) {
    return 'corrupt'
  }
  if (
    !r || typeof r !== 'object' || Array.isArray(r) || r.v !== 1 || typeof r.token !== 'string' || !r.token ||
    !finiteOrAbsent(r.expiresAt) || !finiteOrAbsent(r.issuedAt) || (r.refreshToken !== undefined && typeof r.refreshToken !== 'string')
  ) {
    return 'corrupt'
  }
  return copy({} as Session, r)
}
