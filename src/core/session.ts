/**
 * The session state machine. One file, three phases:
 *
 *   idle ──login()/no session──▶ logging-in ──ok──▶ idle (new session stored, `login` event)
 *     │                              └──fail──▶ idle (nothing stored, `error` event, waiters reject)
 *     └──renew(token) with refresh token──▶ refreshing ──ok──▶ idle
 *                                               └──fail──▶ logging-in (full login fallback)
 *   logout() from any phase ──▶ idle, no session, epoch+1: a login still running finishes
 *   unseen (its result is discarded, its waiters reject with LOGGED_OUT).
 *
 * At most one login or refresh is in flight; every caller during it shares the same promise.
 * A renewal is keyed by the token that was found stale, so any number of 401s for that token
 * (a burst) share one renewal, and a 401 that arrives after it finished reuses its outcome
 * instead of starting another.
 */
import { createAbortController, type AbortControllerLike, type AbortSignalLike } from '../base/abort'
import { AuthError } from '../base/errors'
import type { Emitter } from './events'
import { isExpiring, type Session } from './login-response'
import type { TokenStore } from './token-store'

export type Phase = 'idle' | 'logging-in' | 'refreshing'

export interface AuthEvents<U = unknown> {
  /** A new session was stored (by a login or a refresh). */
  login: Session<U>
  /** `logout()` was called. */
  logout: { reason: 'logout' }
  /** A login or refresh failed, or storage misbehaved. Requests still reject on their own. */
  error: Error
}

export interface SessionMachineDeps {
  store: TokenStore
  events: Emitter<AuthEvents>
  marginMs: number
  /** A full login: wx.login → code → server. `signal` aborts when logout() abandons it. */
  obtain(signal: AbortSignalLike): Promise<Session>
  /** Exchange a refresh token; absent when `refresh` is not configured. */
  refresh?: (refreshToken: string, signal: AbortSignalLike) => Promise<Session>
  debug(line: string): void
}

export interface SessionMachine {
  readonly phase: Phase
  /** Incremented by every logout; work begun in an older epoch must not touch the session. */
  readonly epoch: number
  current(): Session | null
  /** True while a login or refresh is in flight. */
  busy(): boolean
  login(): Promise<Session>
  /**
   * The session a request may use now: waits for one in flight, logs in, or renews an expiring
   * one. `lastSeen` is the token the caller saw before: if it has been dropped since (a failed
   * renewal), the caller gets that renewal's outcome instead of starting another login.
   */
  ensure(lastSeen?: string | null): Promise<Session>
  /** The session when a request can use it right now (loaded, nothing in flight, not expiring), else null. */
  usable(): Session | null
  /**
   * `staleToken` was refused by the server: get a different session (shared by the whole burst).
   * `since` is the epoch the caller's work began in: after a logout() it rejects with LOGGED_OUT
   * instead of logging in again for work the app has abandoned.
   */
  renew(staleToken: string, since?: number): Promise<Session>
  logout(): void
}

export function loggedOutError(): AuthError {
  return new AuthError('LOGGED_OUT', 'logout() was called while this waited for a login: cancelled.')
}

export function createSessionMachine(deps: SessionMachineDeps): SessionMachine {
  const { store, events } = deps
  let phase: Phase = 'idle'
  let epoch = 0
  let inflight: Promise<Session> | null = null
  /** The last renewal and the token it replaced. */
  let lastRenewal: { from: string; promise: Promise<Session> } | null = null

  /** Aborts the network work of the attempt in flight; set while one runs. */
  let cancelInflight: AbortControllerLike | null = null

  function start(kind: Phase, run: (signal: AbortSignalLike) => Promise<Session>, staleToken?: string): Promise<Session> {
    const startedIn = epoch
    const controller = createAbortController()
    cancelInflight = controller
    phase = kind
    deps.debug(kind)
    const holder: { p?: Promise<Session> } = {}
    const settle = (): void => {
      if (inflight === holder.p) {
        inflight = null
        cancelInflight = null
        phase = 'idle'
      }
    }
    holder.p = run(controller.signal).then(
      (session) => {
        // The phase it ended in: a refresh that fell back to a full login ends as a login.
        const endedAs = phase
        settle()
        if (epoch !== startedIn) {
          deps.debug('login after logout(): discarded')
          throw loggedOutError()
        }
        store.set(session)
        deps.debug(endedAs + ' ok: token stored')
        events.emit('login', session)
        return session
      },
      (err: unknown) => {
        settle()
        if (epoch !== startedIn) throw loggedOutError()
        // The token that was refused stays refused: drop it so nothing sends it again.
        const cur = store.get()
        if (staleToken !== undefined && cur && cur.token === staleToken) store.clear()
        deps.debug('login failed: ' + ((err as Error) && (err as Error).message))
        events.emit('error', err as Error)
        throw err
      },
    )
    inflight = holder.p
    return holder.p
  }

  function renew(staleToken: string, since?: number): Promise<Session> {
    // A 401 that arrives after logout() (for a request sent before it) must not resurrect the session.
    if (since !== undefined && since !== epoch) return Promise.reject(loggedOutError())
    if (inflight) return inflight
    const cur = store.get()
    if (cur && cur.token !== staleToken) return Promise.resolve(cur)
    if (lastRenewal && lastRenewal.from === staleToken) return lastRenewal.promise
    const refreshToken = cur && cur.refreshToken
    const refresh = deps.refresh
    const startedIn = epoch
    /** The refresh failed: fall back to a full login unless a logout came in between. */
    const fallBack = (): boolean => {
      if (epoch !== startedIn) return false
      phase = 'logging-in'
      return true
    }
    const promise = refresh && refreshToken ? start('refreshing', refreshOrLogin(deps, refresh, refreshToken, fallBack), staleToken) : start('logging-in', deps.obtain, staleToken)
    lastRenewal = { from: staleToken, promise }
    // A settled renewal is still consulted by late 401s; a rejection there is handled by them.
    promise.catch(noop)
    return promise
  }

  function login(): Promise<Session> {
    return inflight || start('logging-in', deps.obtain)
  }

  return {
    get phase() {
      return phase
    },
    get epoch() {
      return epoch
    },
    current: () => store.get(),
    busy: () => inflight !== null,
    login,
    ensure(lastSeen) {
      return store.load().then(() => {
        if (inflight) return inflight
        const cur = store.get()
        if (!cur) return lastSeen ? renew(lastSeen) : login()
        if (isExpiring(cur, Date.now(), deps.marginMs)) {
          deps.debug('token expiring: renewing')
          return renew(cur.token)
        }
        return cur
      })
    },
    usable() {
      if (inflight || !store.loaded) return null
      const cur = store.get()
      return cur && !isExpiring(cur, Date.now(), deps.marginMs) ? cur : null
    },
    renew,
    logout() {
      epoch++
      // The abandoned attempt stops its network work now, so it never overlaps the next login.
      if (cancelInflight) cancelInflight.abort('logout')
      cancelInflight = null
      inflight = null
      lastRenewal = null
      phase = 'idle'
      store.clear()
      events.emit('logout', { reason: 'logout' })
    },
  }
}

function noop(): void {}

/**
 * A renewal's work when a refresh token is held: exchange it, and when that fails fall back to a
 * full login, unless `fallBack()` says the attempt was abandoned (a logout came in between); it
 * also moves the phase to logging-in.
 */
function refreshOrLogin(
  deps: SessionMachineDeps,
  refresh: NonNullable<SessionMachineDeps['refresh']>,
  refreshToken: string,
  fallBack: () => boolean,
): (signal: AbortSignalLike) => Promise<Session> {
  return (signal) =>
    refresh(refreshToken, signal).catch((err: unknown) => {
      if (!fallBack()) throw err
      deps.debug('refresh failed: logging in')
      deps.events.emit('error', err as Error)
      return deps.obtain(signal)
    })
}
