/**
 * `encryptedStorage()`: the session record in WeChat's encrypted storage (`wx.setStorage` /
 * `wx.getStorage` with `encrypt: true`, base library 2.21.3+,
 * https://developers.weixin.qq.com/miniprogram/dev/api/storage/wx.setStorage.html), which has
 * no sync form: the record is loaded by checkAndLogin() or the first request, `getToken()` is
 * null until then, and writes are chained so the last one wins. A plain record left by an
 * earlier launch is migrated into the encrypted one. On an older base library it falls back to
 * plain storage with one warning.
 */
import type { Platform } from '../base/platform'
import { toRecord } from '../core/session-record'
import { plainStorage, type SessionStorage } from '../core/storage-io'

/** Encrypted storage exists on base library 2.21.3+. */
function supportsEncryption(platform: Platform): boolean {
  if (!platform.getStorage || !platform.setStorage) return false
  try {
    return !platform.canIUse || platform.canIUse('setStorage.object.encrypt')
  } catch (_) {
    return false
  }
}

/** Pass as `createAuth({ storage: encryptedStorage() })`. */
export function encryptedStorage(): SessionStorage {
  return (platform, key, fail, timeoutMs = 10000) => {
    const plain = plainStorage(platform, key, fail)
    if (!supportsEncryption(platform)) {
      console.warn('[weapp-auth] encryptedStorage(): this base library has no encrypted storage (needs 2.21.3+); the session is kept in plain storage.')
      return plain
    }
    /** Encrypted writes are async: chain them so the last write wins. One that never answers is a failure after `timeoutMs`, and the chain goes on. */
    let writes: Promise<void> = Promise.resolve()
    const writeEncrypted = (session: Parameters<typeof plain.write>[0]): Promise<void> =>
      new Promise<void>((resolve) => {
        let settled = false
        const done = (): void => {
          settled = true
          clearTimeout(timer)
          resolve()
        }
        const onFail = (err: unknown): void => {
          if (settled) return
          fail(session ? 'write' : 'remove', err)
          done()
        }
        const timer = setTimeout(() => onFail({ errMsg: `no answer within ${timeoutMs} ms` }), timeoutMs)
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
    return {
      read: plain.read,
      remove: plain.remove,
      write(session) {
        writes = writes.then(() => writeEncrypted(session))
      },
      load: () =>
        new Promise<unknown>((resolve) => {
          // Missing, and a plain (unencrypted) value, both fail the encrypted read: then a plain
          // record (an object; a string is the encrypted value itself, seen through the sync API)
          // is migrated by the store, which writes it back encrypted.
          const fromPlain = (): void => {
            const value = plain.read(key)
            resolve(value && typeof value === 'object' ? value : '')
          }
          try {
            platform.getStorage!({ key, encrypt: true, success: (res) => (res.data ? resolve(res.data) : fromPlain()), fail: fromPlain })
          } catch (err) {
            fail('read', err)
            resolve('')
          }
        }),
    }
  }
}
