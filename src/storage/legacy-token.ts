/**
 * `legacyToken(key)`: moves a plain token stored by older code (for example
 * `wx.setStorageSync('token', token)`) into the SDK's record, once, and removes the old key. With
 * `expiryFromToken: jwtExpiry`, a JWT's `exp` becomes its expiry.
 */
import { AuthError } from '../base/errors'
import type { Migration } from '../core/storage-io'

/** Pass as `createAuth({ migrate: legacyToken('token') })`. */
export function legacyToken(legacyKey: string): Migration {
  if (typeof legacyKey !== 'string' || !legacyKey) throw new AuthError('CONFIG', 'legacyToken(key): key must be a non-empty string.')
  return (io, storageKey) => {
    if (legacyKey === storageKey) return null
    const value = io.read(legacyKey)
    if (value === '' || value === undefined || value === null) return null
    io.remove(legacyKey)
    const token = typeof value === 'string' ? value.trim() : ''
    if (!token || /\s/.test(token)) return null
    return { token }
  }
}
