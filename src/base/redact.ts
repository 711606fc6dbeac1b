/**
 * Secrets never leave the SDK in an error, an event or a debug line: tokens, refresh tokens,
 * login codes (`code`, `js_code`, Douyin's `anonymousCode`), `session_key` and Authorization
 * headers are replaced by "[redacted]".
 */
const SECRET_KEY = /token|session_?key|secret|authorization|password|^code$|js_?code|anonymous_?code/i

export const REDACTED = '[redacted]'

/**
 * A copy of `value` (plain objects and arrays, 4 levels deep) with secret-looking keys redacted,
 * and each of the known `secrets` replaced inside every string (a server may echo a token in a
 * message: `{ detail: "token abc… revoked" }`).
 */
export function redact(value: unknown, depth = 0, secrets: Array<string | undefined> = []): unknown {
  if (typeof value === 'string') return scrub(value, secrets)
  if (value === null || typeof value !== 'object') return value
  if (depth > 4) return '[…]'
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, secrets))
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value as object)) {
    const v = (value as Record<string, unknown>)[key]
    out[key] = SECRET_KEY.test(key) && v !== undefined && v !== null && v !== '' ? REDACTED : redact(v, depth + 1, secrets)
  }
  return out
}

/** Replaces each known secret string inside `text` by "[redacted]". */
export function scrub(text: string, secrets: Array<string | undefined>): string {
  let out = text
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join(REDACTED)
  }
  return out
}
