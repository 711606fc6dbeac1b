/**
 * Access tokens: HS256 JWTs signed and verified with jose. `alg` is pinned to HS256 (a token
 * claiming `none`, HS512 or RS256 is refused before any key is looked at), the key is chosen by
 * the header's `kid` among the configured keys (the first key signs, every listed key verifies, so
 * keys rotate without logging anyone out), and `iss`/`aud` are checked when configured.
 *
 * Claims: `sub` (user id), `jti` (random token id, for revocation), `fam` (the refresh family it
 * belongs to, for logout), `gen` (the store's generation: the data the token names), `plt` (the
 * host the session logged in from), `iat`, `exp`
 * — plus `iss`/`aud` when configured. A token without `gen` (signed by an older version) verifies
 * here with `gen: ''`, which no store has, so the core refuses it as stale.
 *
 * The last `cacheSize` tokens that verified are remembered with their claims: the same string
 * again (a client sends its token with every request) skips the HMAC and the JSON parsing, and
 * is still refused once its `exp` passes. Only a token that verified is ever remembered, keyed
 * by its whole text, so a changed byte is a miss and goes through jose. The revocation checks
 * are the core's, on every request, cached or not.
 */
import { createSecretKey, type KeyObject } from 'node:crypto'
import { errors as joseErrors, jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose'
import { TokenError } from './errors'
import { randomId } from './ids'
import type { Claims, HostPlatform } from './types'

export interface SigningKey {
  kid: string
  key: Uint8Array
}

export interface TokenIssuerOptions {
  /** The first signs; all verify. At least one. */
  keys: SigningKey[]
  issuer?: string
  audience?: string
  ttlSeconds: number
  now: () => number
  /** How many verified tokens are remembered (see above). 0: none. Default DEFAULT_VERIFY_CACHE_SIZE. */
  cacheSize?: number
}

export interface TokenIssuer {
  /** Signs a token for `sub` in refresh family `fam`; answers the token and its claims. */
  sign(input: { sub: string; fam: string; gen: string; plt?: HostPlatform; app?: string }): Promise<{ token: string; claims: Claims }>
  /** Checks signature, `alg`, `kid`, `iss`, `aud`, `exp` and the claims' shape. Throws TokenError (invalid_token / token_expired). */
  verify(token: string): Promise<Claims>
}

/** Verified tokens remembered per process, by default: about 6 MB at most. */
export const DEFAULT_VERIFY_CACHE_SIZE = 10_000

/** A JWT longer than this is refused before parsing: no header of ours comes close. */
export const MAX_TOKEN_LENGTH = 4096

const ALG = 'HS256'
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

export function createTokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const { keys, issuer, audience, ttlSeconds, now } = options
  const cacheSize = options.cacheSize ?? DEFAULT_VERIFY_CACHE_SIZE
  // Token text → its claims, oldest first: a full cache forgets the token verified longest ago.
  const verified = new Map<string, Claims>()
  if (keys.length === 0) throw new TypeError('createTokenIssuer: at least one key')
  // KeyObjects made once: jose would otherwise import the raw bytes again on every sign and verify.
  const byKid = new Map<string, KeyObject>(keys.map((k) => [k.kid, createSecretKey(k.key)]))
  const signer = { kid: keys[0].kid, key: byKid.get(keys[0].kid) as KeyObject }

  async function sign(input: { sub: string; fam: string; gen: string; plt?: HostPlatform; app?: string }): Promise<{ token: string; claims: Claims }> {
    const iat = Math.floor(now() / 1000)
    const exp = iat + ttlSeconds
    const jti = randomId()
    const extra: Record<string, string> = { fam: input.fam, gen: input.gen }
    if (input.plt !== undefined) extra.plt = input.plt
    if (input.app !== undefined) extra.app = input.app
    const builder = new SignJWT(extra)
      .setProtectedHeader({ alg: ALG, typ: 'JWT', kid: signer.kid })
      .setSubject(input.sub)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
    if (issuer !== undefined) builder.setIssuer(issuer)
    if (audience !== undefined) builder.setAudience(audience)
    const token = await builder.sign(signer.key)
    const claims: Claims = { sub: input.sub, jti, fam: input.fam, gen: input.gen, iat, exp }
    if (input.plt !== undefined) claims.plt = input.plt
    if (input.app !== undefined) claims.app = input.app
    if (issuer !== undefined) claims.iss = issuer
    if (audience !== undefined) claims.aud = audience
    return { token, claims }
  }

  function keyFor(header: JWTHeaderParameters): KeyObject {
    // jose calls this only after checking `alg` against `algorithms`, so `none`/HS512 never get here.
    const kid = header.kid
    if (typeof kid !== 'string') throw new TokenError('invalid_token', 'Access token has no key id (kid)')
    const key = byKid.get(kid)
    if (!key) throw new TokenError('invalid_token', 'Access token was signed with an unknown key (kid)')
    return key
  }

  async function verify(token: string): Promise<Claims> {
    const known = verified.get(token)
    if (known !== undefined) {
      // jose's rule: expired once `exp` is not after the current second.
      if (known.exp > Math.floor(now() / 1000)) return copyOf(known)
      verified.delete(token)
    }
    if (typeof token !== 'string' || token.length === 0) throw new TokenError('invalid_token', 'Access token is missing')
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenError('invalid_token', 'Access token is too long')
    if (!JWT_SHAPE.test(token)) throw new TokenError('invalid_token', 'Access token is malformed')
    let payload: JWTPayload
    try {
      const result = await jwtVerify(token, keyFor, {
        algorithms: [ALG],
        issuer,
        audience,
        currentDate: new Date(now()),
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
      })
      payload = result.payload
    } catch (err) {
      if (err instanceof TokenError) throw err
      if (err instanceof joseErrors.JWTExpired) throw new TokenError('token_expired', 'Access token has expired; refresh it', { cause: err })
      throw new TokenError('invalid_token', invalidReason(err), { cause: err })
    }
    const claims = claimsOf(payload)
    if (cacheSize > 0) {
      if (verified.size >= cacheSize) verified.delete(verified.keys().next().value as string)
      verified.set(token, claims)
      return copyOf(claims)
    }
    return claims
  }

  return { sign, verify }
}

function invalidReason(err: unknown): string {
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'Access token uses an algorithm other than HS256'
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'Access token signature does not verify'
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return 'Access token has the wrong issuer'
    if (err.claim === 'aud') return 'Access token has the wrong audience'
    return `Access token claim ${err.claim} is invalid`
  }
  return 'Access token is malformed'
}

/** The caller's own copy: what it changes never reaches the remembered claims. */
function copyOf(claims: Claims): Claims {
  const copy = { ...claims }
  if (Array.isArray(copy.aud)) copy.aud = [...copy.aud]
  return copy
}

function claimsOf(payload: JWTPayload): Claims {
  const { sub, jti, iat, exp, iss, aud } = payload
  const fam = payload.fam
  const gen = typeof payload.gen === 'string' ? payload.gen : ''
  if (typeof sub !== 'string' || sub.length === 0) throw new TokenError('invalid_token', 'Access token has no subject')
  if (typeof jti !== 'string' || jti.length === 0) throw new TokenError('invalid_token', 'Access token has no token id')
  if (typeof fam !== 'string' || fam.length === 0) throw new TokenError('invalid_token', 'Access token has no refresh family')
  if (typeof iat !== 'number' || typeof exp !== 'number') throw new TokenError('invalid_token', 'Access token has no iat/exp')
  const claims: Claims = { sub, jti, fam, gen, iat, exp }
  if (payload.plt === 'weixin' || payload.plt === 'qq' || payload.plt === 'douyin' || payload.plt === 'alipay') claims.plt = payload.plt
  if (typeof payload.app === 'string' && payload.app.length > 0 && payload.app.length <= 64) claims.app = payload.app
  if (iss !== undefined) claims.iss = iss
  if (aud !== undefined) claims.aud = aud
  return claims
}
