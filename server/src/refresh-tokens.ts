/**
 * Refresh tokens: opaque, 32 random bytes in base64url (43 chars), kept in the store by their
 * SHA-256 hash only (a dump of the store holds no usable token; a lookup by hash needs no string
 * comparison, so there is no timing side channel). Every token belongs to a family started by one
 * login; each rotation spends the old token and issues its successor in the same family. Presenting
 * a spent token again is reuse: the store revokes the whole family in the same atomic step, so a
 * stolen token dies with its first replay and takes the legitimate successor with it.
 */
import { createHash, randomBytes } from 'node:crypto'
import { BadRequestError, TokenError } from './errors'
import type { RefreshRecord, Store } from './stores/store'
import type { AuthServerEvent } from './types'

const TOKEN_BYTES = 32
/** 32 bytes in unpadded base64url. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

export interface RefreshTokensOptions {
  store: Store
  ttlSeconds: number
  now: () => number
  emit: (event: AuthServerEvent) => void
}

export interface RefreshTokens {
  /** Issues the first token of `family` (a login) for `userId`: the session ends at `sessionExpiresAt` (ms) whatever its rotations. */
  issue(userId: string, family: string, session: { platform: string; sessionExpiresAt: number }): Promise<string>
  /**
   * Spends `token` and answers its successor with the spent token's user and family. Throws
   * BadRequestError refresh_token_required, or TokenError invalid_refresh_token (unknown, malformed,
   * revoked), refresh_token_expired, refresh_token_reused (the family is now revoked).
   */
  rotate(token: unknown): Promise<{ token: string; userId: string; family: string; platform?: string }>
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url')
}

export function createRefreshTokens(options: RefreshTokensOptions): RefreshTokens {
  const { store, ttlSeconds, now, emit } = options

  function record(userId: string, family: string): RefreshRecord {
    const issuedAt = now()
    return { userId, family, issuedAt, expiresAt: issuedAt + ttlSeconds * 1000 }
  }

  async function issue(userId: string, family: string, session: { platform: string; sessionExpiresAt: number }): Promise<string> {
    const token = newToken()
    await store.putRefresh(hashRefreshToken(token), { ...record(userId, family), sessionExpiresAt: session.sessionExpiresAt, platform: session.platform }, ttlSeconds)
    return token
  }

  async function rotate(token: unknown): Promise<{ token: string; userId: string; family: string; platform?: string }> {
    if (token === undefined || token === null || token === '') throw new BadRequestError('refresh_token_required', 'refreshToken is required')
    if (typeof token !== 'string') throw new BadRequestError('refresh_token_required', 'refreshToken must be a string')
    if (!TOKEN_SHAPE.test(token)) throw new TokenError('invalid_refresh_token', 'Refresh token is malformed; log in again')
    const successor = newToken()
    // The store keeps the spent token's user and family for the successor (rotateRefresh: "in the
    // same family"); the ones given here are those of the spent record, filled in by the store.
    const result = await store.rotateRefresh(hashRefreshToken(token), hashRefreshToken(successor), record('', ''), ttlSeconds, now())
    switch (result.status) {
      case 'rotated': {
        const rotated: { token: string; userId: string; family: string; platform?: string } = { token: successor, userId: result.record.userId, family: result.record.family }
        if (result.record.platform !== undefined) rotated.platform = result.record.platform
        return rotated
      }
      case 'reused':
        emit({ type: 'refresh_reuse', userId: result.record.userId, family: result.record.family })
        throw new TokenError('refresh_token_reused', 'Refresh token was already used: its whole family is now revoked; log in again')
      case 'revoked':
        throw new TokenError('invalid_refresh_token', 'Refresh token was revoked (logout, reuse or a global revocation); log in again')
      case 'expired':
        throw new TokenError('refresh_token_expired', 'Refresh token has expired, or its session reached its maximum lifetime; log in again')
      case 'unknown':
        throw new TokenError('invalid_refresh_token', 'Refresh token is unknown; log in again')
    }
  }

  return { issue, rotate }
}
