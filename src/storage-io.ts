/**
 * The storage calls of the token store, each failure reported (STORAGE_FAILED through
 * `onError`) and never thrown: the SDK then works in memory. Plain mode uses the sync API; with
 * encryption (base library 2.21.3+) the record is written with `wx.setStorage({ encrypt: true })`,
 * which has no sync form, so writes are chained and the last one wins.
 */
import { AuthError } from './errors'
import type { Session } from './login-response'
import type { Platform } from './platform'
import { toRecord } from './session-record'

export interface StorageIO {
  /** Whether the record really goes to encrypted storage (false after a fallback). */
  readonly encrypted: boolean
  /** A sync read; '' when it fails. */
  read(key: string): unknown
  remove(key: string): void
  /** Writes (or, with null, removes) the session record. */
  write(session: Session | null): void
  /** The encrypted record's raw value; '' when missing or unreadable. */
  readEncrypted(): Promise<unknown>
}

function errText(err: unknown): string {
  const e = err as { errMsg?: string; message?: string } | null
  return (e && (e.errMsg || e.message)) || String(err)
}

/** Encrypted storage exists on base library 2.21.3+. */
function supportsEncryption(platform: Platform): boolean {
  if (!platform.getStorage || !platform.setStorage) return false
  if (platform.canIUse) {
    try {
      return platform.canIUse('setStorage.object.encrypt')
    } catch (_) {
      return false
    }
  }
  return true
}

export function createStorageIO(platform: Platform, key: string, encrypt: boolean, onError: (err: AuthError) => void): StorageIO {
  const encrypted = encrypt && supportsEncryption(platform)
  if (encrypt && !encrypted) {
    console.warn('[weapp-auth] encryptStorage: this base library has no encrypted storage (needs 2.21.3+); the session is kept in plain storage.')
  }
  /** Encrypted writes are async: chain them so the last write wins. */
  let writes: Promise<void> = Promise.resolve()
  const fail = (what: string, err: unknown): void => {
    onError(new AuthError('STORAGE_FAILED', `Storage ${what} for "${key}" failed (${errText(err)}); the session is kept in memory only.`, { cause: err }))
  }

  function writeEncrypted(session: Session | null): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => resolve()
      const onFail = (err: unknown): void => {
        fail(session ? 'write' : 'remove', err)
        resolve()
      }
      try {
        if (session) platform.setStorage!({ key, data: JSON.stringify(toRecord(session)), encrypt: true, success: done, fail: onFail })
        else if (platform.removeStorage) platform.removeStorage({ key, success: done, fail: onFail })
        else {
          platform.removeStorageSync(key)
          done()
        }
      } catch (err) {
        onFail(err)
      }
    })
  }

  return {
    encrypted,
    read(k) {
      try {
        return platform.getStorageSync(k)
      } catch (err) {
        fail('read', err)
        return ''
      }
    },
    remove(k) {
      try {
        platform.removeStorageSync(k)
      } catch (err) {
        fail('remove', err)
      }
    },
    write(session) {
      if (encrypted) {
        writes = writes.then(() => writeEncrypted(session))
        return
      }
      try {
        if (session) platform.setStorageSync(key, toRecord(session))
        else platform.removeStorageSync(key)
      } catch (err) {
        fail(session ? 'write' : 'remove', err)
      }
    },
    readEncrypted() {
      return new Promise((resolve) => {
        try {
          platform.getStorage!({
            key,
            encrypt: true,
            success: (res) => resolve(res.data),
            // A missing key and a plain (unencrypted) value both fail here.
            fail: () => resolve(''),
          })
        } catch (err) {
          fail('read', err)
          resolve('')
        }
      })
    },
  }
}
