/**
 * The session record in storage: one namespaced key (default `weapp-auth`) holding
 * `{ v: 1, token, expiresAt?, refreshToken?, user? }`, read once and then served from memory,
 * so `getToken()` costs no storage call.
 *
 * Failures never reach the caller: a corrupt, foreign or half-written record is treated as
 * "logged out" and removed; a storage call that throws leaves the SDK working in memory; both
 * are reported through `onError` (the `error` event).
 *
 * With `encrypt: true` the record lives in WeChat's encrypted storage (`wx.setStorage` /
 * `wx.getStorage` with `encrypt: true`, base library 2.21.3+), which has no sync form: the
 * record is loaded by `load()` and `get()` returns null until then. A plain record left by an
 * earlier launch is migrated into the encrypted one.
 */
import type { ResolvedConfig } from './config'
import { AuthError } from './errors'
import type { Platform } from './platform'
import type { Session } from './login-response'
import { jwtExpiry } from './jwt'

export interface TokenStore {
  /** The session in memory; before `load()` in encrypted mode, null. */
  get(): Session | null
  /** Resolves once the record is in memory (at once in plain mode). Never rejects. */
  load(): Promise<void>
  set(session: Session): void
  clear(): void
  readonly loaded: boolean
  /** Whether records really go to encrypted storage (false after a fallback). */
  readonly encrypted: boolean
}

interface StoredRecord {
  v: 1
  token: string
  expiresAt?: number
  issuedAt?: number
  refreshToken?: string
  user?: unknown
}

function toRecord(s: Session): StoredRecord {
  const r: StoredRecord = { v: 1, token: s.token }
  if (s.expiresAt !== undefined) r.expiresAt = s.expiresAt
  if (s.issuedAt !== undefined) r.issuedAt = s.issuedAt
  if (s.refreshToken !== undefined) r.refreshToken = s.refreshToken
  if (s.user !== undefined) r.user = s.user
  return r
}

/** A valid record as a Session; 'empty' for nothing stored; 'corrupt' for anything else. */
function fromStored(value: unknown): Session | 'empty' | 'corrupt' {
  if (value === '' || value === undefined || value === null) return 'empty'
  let v = value
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v)
    } catch (_) {
      return 'corrupt'
    }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'corrupt'
  const r = v as Record<string, unknown>
  if (r.v !== 1 || typeof r.token !== 'string' || !r.token) return 'corrupt'
  if (r.expiresAt !== undefined && (typeof r.expiresAt !== 'number' || !isFinite(r.expiresAt))) return 'corrupt'
  if (r.refreshToken !== undefined && typeof r.refreshToken !== 'string') return 'corrupt'
  if (r.issuedAt !== undefined && (typeof r.issuedAt !== 'number' || !isFinite(r.issuedAt))) return 'corrupt'
  const s: Session = { token: r.token }
  if (r.expiresAt !== undefined) s.expiresAt = r.expiresAt as number
  else {
    // Records written by older code (or by hand) may lack expiresAt: a JWT still tells it.
    const exp = jwtExpiry(r.token)
    if (exp !== undefined) s.expiresAt = exp
  }
  if (r.issuedAt !== undefined) s.issuedAt = r.issuedAt as number
  if (r.refreshToken !== undefined) s.refreshToken = r.refreshToken as string
  if (r.user !== undefined) s.user = r.user
  return s
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

/** The store for `cfg.storageKey`; storage failures go to `onError` (the `error` event), never to callers. */
export function createTokenStore(cfg: Pick<ResolvedConfig, 'platform' | 'storageKey' | 'encryptStorage' | 'legacyTokenKey'>, onError: (err: AuthError) => void): TokenStore {
  const { platform, storageKey: key } = cfg
  const encrypted = cfg.encryptStorage && supportsEncryption(platform)
  if (cfg.encryptStorage && !encrypted) {
    console.warn('[weapp-auth] encryptStorage: this base library has no encrypted storage (needs 2.21.3+); the session is kept in plain storage.')
  }
  let memory: Session | null = null
  let loaded = false
  let loading: Promise<void> | null = null
  /** Encrypted writes are async: chain them so the last write wins. */
  let writes: Promise<void> = Promise.resolve()

  const fail = (what: string, err: unknown): void => {
    onError(
      new AuthError('STORAGE_FAILED', `Storage ${what} for "${key}" failed (${errText(err)}); the session is kept in memory only.`, {
        cause: err,
      }),
    )
  }
  const corrupt = (where: string): void => {
    onError(
      new AuthError('STORAGE_CORRUPT', `The stored session under "${where}" was not a weapp-auth record; it was discarded (treated as logged out).`),
    )
  }

  const syncGet = (k: string): unknown => {
    try {
      return platform.getStorageSync(k)
    } catch (err) {
      fail('read', err)
      return ''
    }
  }
  const syncRemove = (k: string): void => {
    try {
      platform.removeStorageSync(k)
    } catch (err) {
      fail('remove', err)
    }
  }

  function writeNow(session: Session | null): void {
    if (!encrypted) {
      try {
        if (session) platform.setStorageSync(key, toRecord(session))
        else platform.removeStorageSync(key)
      } catch (err) {
        fail(session ? 'write' : 'remove', err)
      }
      return
    }
    writes = writes.then(
      () =>
        new Promise<void>((resolve) => {
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
        }),
    )
  }

  /** A legacy plain-string token (the seed stored `wx.setStorageSync('token', …)`), moved once. */
  function migrateLegacy(): Session | null {
    const legacyKey = cfg.legacyTokenKey
    if (!legacyKey || legacyKey === key) return null
    const value = syncGet(legacyKey)
    if (value === '' || value === undefined || value === null) return null
    syncRemove(legacyKey)
    if (typeof value !== 'string' || !value.trim() || /\s/.test(value.trim())) return null
    const token = value.trim()
    const s: Session = { token }
    const exp = jwtExpiry(token)
    if (exp !== undefined) s.expiresAt = exp
    return s
  }

  function adopt(found: Session | 'empty' | 'corrupt', where: string, removeCorrupt: () => void): Session | null {
    if (found === 'corrupt') {
      corrupt(where)
      removeCorrupt()
      return null
    }
    return found === 'empty' ? null : found
  }

  function loadSync(): void {
    if (loaded) return
    loaded = true
    memory = adopt(fromStored(syncGet(key)), key, () => syncRemove(key))
    if (!memory) {
      const legacy = migrateLegacy()
      if (legacy) {
        memory = legacy
        writeNow(legacy)
      }
    }
  }

  function readEncrypted(): Promise<unknown> {
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
  }

  function loadEncrypted(): Promise<void> {
    return readEncrypted().then((value) => {
      // A write made before loading finished is newer than anything stored.
      if (loaded) return
      loaded = true
      memory = adopt(fromStored(value), key, () => writeNow(null))
      if (memory) return
      // Migration: a plain record from a launch without encryptStorage, or a legacy token.
      // Plain records are objects; a string here is the encrypted value itself, seen through the sync API.
      const plain = syncGet(key)
      const found = plain && typeof plain === 'object' ? fromStored(plain) : 'empty'
      memory = found === 'corrupt' || found === 'empty' ? migrateLegacy() : found
      if (memory) writeNow(memory)
    })
  }

  return {
    get() {
      if (!loaded && !encrypted) loadSync()
      return memory
    },
    load() {
      if (loaded) return Promise.resolve()
      if (!encrypted) {
        loadSync()
        return Promise.resolve()
      }
      return loading || (loading = loadEncrypted())
    },
    set(session) {
      loaded = true
      memory = session
      writeNow(session)
    },
    clear() {
      loaded = true
      memory = null
      writeNow(null)
    },
    get loaded() {
      return loaded
    },
    get encrypted() {
      return encrypted
    },
  }
}
