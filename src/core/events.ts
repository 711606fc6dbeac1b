/** A minimal typed event emitter: `on` returns the function that removes the listener. */
export type Listener<A> = (arg: A) => void

export interface Emitter<M> {
  on<K extends keyof M>(event: K, fn: Listener<M[K]>): () => void
  off<K extends keyof M>(event: K, fn: Listener<M[K]>): void
  emit<K extends keyof M>(event: K, arg: M[K]): void
  count(): number
}

export function createEmitter<M>(onListenerError: (err: unknown) => void): Emitter<M> {
  const map: { [K in keyof M]?: Array<Listener<M[K]>> } = {}
  const off = <K extends keyof M>(event: K, fn: Listener<M[K]>): void => {
    const list = map[event]
    if (!list) return
    const i = list.indexOf(fn)
    if (i >= 0) list.splice(i, 1)
  }
  return {
    on(event, fn) {
      if (typeof fn !== 'function') throw new TypeError('on(' + String(event) + ', fn) needs a function.')
      ;(map[event] || (map[event] = [])).push(fn)
      return () => off(event, fn)
    },
    off,
    emit(event, arg) {
      const list = map[event]
      if (!list) return
      for (const fn of list.slice()) {
        try {
          fn(arg)
        } catch (err) {
          // A throwing listener must not break the SDK's own flow.
          onListenerError(err)
        }
      }
    },
    count() {
      let n = 0
      for (const k in map) n += (map[k] || []).length
      return n
    },
  }
}
