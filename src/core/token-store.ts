/**
 * The session record in storage: one namespaced key (default `weapp-auth`) holding
 * `{ v: 1, token, expiresAt?, refreshToken?, user? }`, read once and then served from memory,
 * so `getToken()` costs no storage call.
 *
 * Failures never reach the caller: a corrupt, foreign or half-written record is treated as
 * "logged out" and removed; a storage call that throws leaves the SDK working in memory; both
 * are reported through `onError` (the `error` event).
 *
 * Async storage (`encryptedStorage()`) has no sync read: the record is loaded by `load()` and
 * `get()` returns null until then; a read that does not answer within `login.timeout` counts as
 * no record (one STORAGE_FAILED). When no record is found, the app's `migrate` (e.g.
 * `legacyToken('token')`) may supply one, which is stored at once.
 */
import type { ResolvedConfig } from './config'
import { AuthError } from '../base/errors'
import type { Session } from './login-response'
import { fromStored } from './session-record'
import { plainStorage, storageFailure } from './storage-io'

export interface TokenStore {
  /** The session in memory; before `load()` with async storage, null. */
  get(): Session | null
  /** Resolves once the record is in memory (at once with sync storage). Never rejects. */
  load(): Promise<void>
  set(session: Session): void
  clear(): void
  readonly loaded: boolean
}

/** The store for `cfg.storageKey`; storage failures go to `onError` (the `error` event), never to callers. */
export function createTokenStore(cfg: Pick<ResolvedConfig, 'platform' | 'storageKey' | 'storage' | 'migrate' | 'expiryFromToken' | 'login'>, onError: (err: AuthError) => void): TokenStore {
  const key = cfg.storageKey
  const io = (cfg.storage || plainStorage)(cfg.platform, key, storageFailure(key, onError), cfg.login.timeout)
  let memory: Session | null = null
  let loaded = false
  let loading: Promise<void> | null = null

  /** Takes the stored value; a write made before an async load finished is newer, and wins. */
  function take(value: unknown): void {
    if (loaded) return
    loaded = true
    const found = fromStored(value)
    if (found === 'corrupt') {
      onError(new AuthError('STORAGE_CORRUPT', `"${key}" held no weapp-auth record: discarded (logged out).`))
      io.write(null)
    }
    const m = (memory = typeof found === 'object' ? found : cfg.migrate ? cfg.migrate(io, key) : null)
    // A record without expiry (written by older code, by hand, or migrated): the token may tell it.
    // One stored with `issuedAt` alone had an expiry that was not believed (a clock far off): left unknown.
    if (m && m.expiresAt === undefined && m.issuedAt === undefined && cfg.expiryFromToken) {
      const exp = cfg.expiryFromToken(m.token)
      if (exp !== undefined) m.expiresAt = exp
    }
    // A migrated record, or a plain one found by async storage (its records are strings), is written in the current form.
    if (memory && (found !== memory || (io.load && typeof value === 'object'))) io.write(memory)
  }

  const set = (session: Session | null): void => {
    loaded = true
    memory = session
    io.write(session)
  }

  return {
    get() {
      if (!loaded && !io.load) take(io.read(key))
      return memory
    },
    load() {
      if (!loaded && !io.load) take(io.read(key))
      // An async read has the login's time limit: one that never answers counts as no record.
      const limit = cfg.login.timeout
      return loaded
        ? Promise.resolve()
        : loading ||
            (loading = new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                if (!loaded) onError(new AuthError('STORAGE_FAILED', `Storage read of "${key}" did not answer within ${limit} ms: taken as no session.`))
                take('')
                resolve()
              }, limit)
              io.load!().then((value) => {
                clearTimeout(timer)
                take(value)
                resolve()
              })
            }))
    },
    set,
    clear: () => set(null),
    get loaded() {
      return loaded
    },
  }
}
