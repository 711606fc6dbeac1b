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
import type { Session } from './login-response'
import { fromLegacy, fromStored } from './session-record'
import { createStorageIO } from './storage-io'

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

/** The store for `cfg.storageKey`; storage failures go to `onError` (the `error` event), never to callers. */
export function createTokenStore(cfg: Pick<ResolvedConfig, 'platform' | 'storageKey' | 'encryptStorage' | 'legacyTokenKey'>, onError: (err: AuthError) => void): TokenStore {
  const key = cfg.storageKey
  const io = createStorageIO(cfg.platform, key, cfg.encryptStorage, onError)
  const encrypted = io.encrypted
  let memory: Session | null = null
  let loaded = false
  let loading: Promise<void> | null = null

  /** A legacy token under `legacyTokenKey`, moved into the record once (the old key is removed). */
  function migrateLegacy(): Session | null {
    const legacyKey = cfg.legacyTokenKey
    if (!legacyKey || legacyKey === key) return null
    const value = io.read(legacyKey)
    if (value === '' || value === undefined || value === null) return null
    io.remove(legacyKey)
    return fromLegacy(value)
  }

  function adopt(found: Session | 'empty' | 'corrupt', removeCorrupt: () => void): Session | null {
    if (found === 'corrupt') {
      onError(new AuthError('STORAGE_CORRUPT', `The stored session under "${key}" was not a weapp-auth record; it was discarded (treated as logged out).`))
      removeCorrupt()
      return null
    }
    return found === 'empty' ? null : found
  }

  function loadSync(): void {
    if (loaded) return
    loaded = true
    memory = adopt(fromStored(io.read(key)), () => io.remove(key))
    if (!memory) {
      memory = migrateLegacy()
      if (memory) io.write(memory)
    }
  }

  function loadEncrypted(): Promise<void> {
    return io.readEncrypted().then((value) => {
      // A write made before loading finished is newer than anything stored.
      if (loaded) return
      loaded = true
      memory = adopt(fromStored(value), () => io.write(null))
      if (memory) return
      // Migration: a plain record from a launch without encryptStorage, or a legacy token.
      // Plain records are objects; a string here is the encrypted value itself, seen through the sync API.
      const plain = io.read(key)
      const found = plain && typeof plain === 'object' ? fromStored(plain) : 'empty'
      memory = found === 'corrupt' || found === 'empty' ? migrateLegacy() : found
      if (memory) io.write(memory)
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
      io.write(session)
    },
    clear() {
      loaded = true
      memory = null
      io.write(null)
    },
    get loaded() {
      return loaded
    },
    get encrypted() {
      return encrypted
    },
  }
}
