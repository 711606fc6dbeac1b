/**
 * The storage calls of the token store, each failure reported (STORAGE_FAILED through
 * `onError`) and never thrown: the SDK then works in memory. The core keeps the record in plain
 * sync storage; `encryptedStorage()` (weapp-auth/storage) is another `SessionStorage` that an
 * app passes as `createAuth({ storage })`, so apps that do not use it do not bundle it.
 */
import { AuthError } from '../base/errors'
import type { Session } from './login-response'
import type { Platform } from '../base/platform'
import { toRecord } from './session-record'

export interface StorageIO {
  /** A sync read of any key; '' when it fails. */
  read(key: string): unknown
  /** A sync removal of any key. */
  remove(key: string): void
  /** Writes (or, with null, removes) the session record. */
  write(session: Session | null): void
  /** Async storage only: resolves with the record's raw value ('' when missing or unreadable). */
  load?(): Promise<unknown>
}

/** Reports a failed storage call as STORAGE_FAILED. */
export type StorageFailure = (what: string, err: unknown) => void

/** Runs when no session record is stored: a session found elsewhere (e.g. `legacyToken('token')`), or null. */
export type Migration = (io: StorageIO, storageKey: string) => Session | null

/**
 * Where the session record is kept: `createAuth({ storage })`. Default: plain sync storage.
 * `timeoutMs` (the login's time limit) bounds an async storage call that never answers.
 */
export type SessionStorage = (platform: Platform, key: string, fail: StorageFailure, timeoutMs?: number) => StorageIO

/** The `fail` of a store: STORAGE_FAILED through `onError`. */
export function storageFailure(key: string, onError: (err: AuthError) => void): StorageFailure {
  return (what, err) => {
    const e = err as { errMsg?: string; message?: string } | null
    onError(new AuthError('STORAGE_FAILED', `Storage ${what} of "${key}" failed (${(e && (e.errMsg || e.message)) || String(err)}): session kept in memory.`, { cause: err }))
  }
}

/** Plain sync storage (`wx.getStorageSync` / `setStorageSync` / `removeStorageSync`). */
export const plainStorage: SessionStorage = (platform, key, fail) => {
  const remove = (k: string): void => {
    try {
      platform.removeStorageSync(k)
    } catch (err) {
      fail('remove', err)
    }
  }
  return {
    read(k) {
      try {
        return platform.getStorageSync(k)
      } catch (err) {
        fail('read', err)
        return ''
      }
    },
    remove,
    write(session) {
      if (!session) return remove(key)
      try {
        platform.setStorageSync(key, toRecord(session))
      } catch (err) {
        fail('write', err)
      }
    },
  }
}
