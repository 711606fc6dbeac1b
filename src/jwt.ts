/**
 * Reads the `exp` claim of a JWT as an expiry hint. The token is never verified here (only the
 * server can), and anything odd (not a JWT, bad base64, bad JSON, non-numeric or absurd `exp`)
 * yields `undefined` instead of throwing. Mini programs have no `atob`, so base64url is decoded
 * by hand, and the bytes as UTF-8.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
/** A payload larger than this is not worth decoding for one number. */
const MAX_PAYLOAD = 16 * 1024

function base64UrlDecode(input: string): number[] | null {
  const s = input.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  if (s.length % 4 === 1) return null
  const bytes: number[] = []
  let buffer = 0
  let bits = 0
  for (let i = 0; i < s.length; i++) {
    const v = ALPHABET.indexOf(s.charAt(i))
    if (v < 0) return null
    buffer = (buffer << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      bytes.push((buffer >> bits) & 0xff)
    }
  }
  return bytes
}

function utf8Decode(bytes: number[]): string {
  let out = ''
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i++]
    let cp: number
    if (b < 0x80) cp = b
    else if (b >= 0xc0 && b < 0xe0) cp = ((b & 0x1f) << 6) | (bytes[i++] & 0x3f)
    else if (b >= 0xe0 && b < 0xf0) cp = ((b & 0x0f) << 12) | ((bytes[i++] & 0x3f) << 6) | (bytes[i++] & 0x3f)
    else cp = ((b & 0x07) << 18) | ((bytes[i++] & 0x3f) << 12) | ((bytes[i++] & 0x3f) << 6) | (bytes[i++] & 0x3f)
    out += String.fromCodePoint(cp > 0x10ffff ? 0xfffd : cp)
  }
  return out
}

/**
 * The expiry of a JWT in epoch milliseconds, or undefined when the token is not a JWT or has
 * no usable `exp`. An `exp` that is clearly in milliseconds (> 1e11) is accepted as such.
 */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.')
  if (parts.length !== 3 || parts[1].length > MAX_PAYLOAD) return undefined
  const bytes = base64UrlDecode(parts[1])
  if (!bytes) return undefined
  let payload: unknown
  try {
    payload = JSON.parse(utf8Decode(bytes))
  } catch (_) {
    return undefined
  }
  if (!payload || typeof payload !== 'object') return undefined
  return toEpochMs((payload as { exp?: unknown }).exp)
}

/**
 * Normalises an absolute time to epoch ms: numbers in seconds or milliseconds, numeric strings,
 * ISO dates. Returns undefined for anything else.
 */
export function toEpochMs(value: unknown): number | undefined {
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    if (!isNaN(n)) return toEpochMs(n)
    const parsed = Date.parse(value)
    return isNaN(parsed) ? undefined : parsed
  }
  if (typeof value !== 'number' || !isFinite(value) || value <= 0) return undefined
  return value > 1e11 ? Math.floor(value) : Math.floor(value * 1000)
}
