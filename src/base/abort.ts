/**
 * Mini programs have no AbortController. `createAbortController()` is a small stand-in with the
 * same shape; any object with `aborted` and `addEventListener('abort', fn)` (or `onabort`)
 * works as a `signal`, including a real AbortController's signal in tests.
 */
import { AbortError } from './errors'

export interface AbortSignalLike {
  readonly aborted: boolean
  readonly reason?: unknown
  addEventListener?(type: 'abort', listener: () => void): void
  removeEventListener?(type: 'abort', listener: () => void): void
  onabort?: ((this: unknown, ev?: unknown) => unknown) | null
}

export interface AbortControllerLike {
  readonly signal: AbortSignalLike
  abort(reason?: unknown): void
}

/** Creates an abort controller whose `signal` can be passed to `auth.request({ signal })`. */
export function createAbortController(): AbortControllerLike {
  const listeners: Array<() => void> = []
  // `reason` stays undefined until abort(reason).
  const signal: { aborted: boolean; reason?: unknown; onabort: AbortSignalLike['onabort']; readonly listenerCount: number } & Required<Pick<AbortSignalLike, 'addEventListener' | 'removeEventListener'>> = {
    aborted: false,
    onabort: null as AbortSignalLike['onabort'],
    addEventListener(type: 'abort', fn: () => void) {
      if (type === 'abort' && listeners.indexOf(fn) < 0) listeners.push(fn)
    },
    removeEventListener(type: 'abort', fn: () => void) {
      const i = listeners.indexOf(fn)
      if (type === 'abort' && i >= 0) listeners.splice(i, 1)
    },
    /** Listener count, for leak tests. */
    get listenerCount() {
      return listeners.length
    },
  }
  return {
    signal,
    abort(reason?: unknown) {
      if (signal.aborted) return
      signal.aborted = true
      signal.reason = reason
      for (const fn of listeners.splice(0)) fn()
      if (typeof signal.onabort === 'function') signal.onabort.call(signal)
    },
  }
}

/** Calls `onAbort` once when `signal` aborts; returns the function that stops listening. */
export function onAbort(signal: AbortSignalLike | undefined, fn: () => void): () => void {
  if (!signal) return noop
  if (signal.addEventListener) {
    signal.addEventListener('abort', fn)
    return () => signal.removeEventListener && signal.removeEventListener('abort', fn)
  }
  // onabort-only signals: chain any previous handler and restore it afterwards.
  const previous = signal.onabort
  const wrapped = function (this: unknown, ev?: unknown) {
    if (typeof previous === 'function') previous.call(this, ev)
    fn()
  }
  signal.onabort = wrapped
  return () => {
    if (signal.onabort === wrapped) signal.onabort = previous
  }
}

export function abortError(signal: AbortSignalLike): AbortError {
  return new AbortError('Aborted by its signal.', signal.reason)
}

/** Settles with `promise`, or rejects with AbortError as soon as `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignalLike | undefined): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(abortError(signal))
  return new Promise<T>((resolve, reject) => {
    const stop = onAbort(signal, () => reject(abortError(signal)))
    // Stops listening once the promise has settled (a late abort then changes nothing).
    promise.then(resolve, reject).then(stop)
  })
}

function noop(): void {}
