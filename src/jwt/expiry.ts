/**
 * `jwtExpiry` (weapp-auth/jwt): reads the `exp` claim of a JWT as an expiry hint, for servers that
 * answer a login without `expiresIn`/`expiresAt`: `createAuth({ ..., expiryFromToken: jwtExpiry })`.
 * An import of its own, so apps whose server states the expiry do not bundle it. The token is never verified here (only the
 * server can), and anything odd (not a JWT, bad base64, bad JSON, non-numeric or absurd `exp`)
 * yields `undefined` instead of throwing. Mini programs have no `atob`, so base64url is decoded
 * by hand.
 */

import { toEpochMs } from '../core/login-response'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
/** A payload larger than this is not worth decoding for one number. */
const MAX_PAYLOAD = 16 * 1024

/**
 * base64url → one character per byte (null for anything that is not base64). The bytes are not
 * decoded as UTF-8: only the ASCII `exp` claim is read, and a multi-byte UTF-8 sequence (only
 * valid inside a JSON string) stays inside that string as characters U+0080–U+00FF, which
 * JSON.parse accepts.
 */
function base64UrlDecode(input: string): string | null {
  const s = input.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  if (s.length % 4 === 1) return null
  let out = ''
  let buffer = 0
  let bits = 0
  for (let i = 0; i < s.length; i++) {
    const v = ALPHABET.indexOf(s.charAt(i))
    if (v < 0) return null
    buffer = (buffer << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out += String.fromCharCode((buffer >> bits) & 0xff)
    }
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
  const text = base64UrlDecode(parts[1])
  if (text === null) return undefined
  let payload: unknown
  try {
    payload = JSON.parse(text)
  } catch (_) {
    return undefined
  }
  if (!payload || typeof payload !== 'object') return undefined
  return toEpochMs((payload as { exp?: unknown }).exp)
}
