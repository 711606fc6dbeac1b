/**
 * Wraps a Store so that whatever it rejects with reaches a client as a typed error: a Store is
 * meant to reject with StoreUnavailableError already, but a custom store or an unexpected driver
 * error (a Redis ReplyError, say) becomes StoreUnavailableError (503) here, never a 500. A
 * TypeError (the stores' answer to bad arguments: a bug in the caller) is left as it is.
 */
import { AuthServerError, StoreUnavailableError } from '../errors'
import type { Store } from './store'

export function guardStore(store: Store): Store {
  const guarded: Record<string, unknown> = {}
  for (const name of methodNames(store)) {
    const method = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name]
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await method.apply(store, args)
      } catch (err) {
        // Typed errors pass; so does a TypeError, the stores' answer to a caller's bug (bad arguments).
        if (err instanceof AuthServerError || err instanceof TypeError) throw err
        throw new StoreUnavailableError(`Store ${name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
      }
    }
  }
  Object.defineProperty(guarded, 'kind', { get: () => store.kind, enumerable: true })
  return guarded as unknown as Store
}

function methodNames(store: Store): string[] {
  const names = new Set<string>()
  for (let o: object | null = store; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key !== 'constructor' && typeof (store as unknown as Record<string, unknown>)[key] === 'function') names.add(key)
    }
  }
  return [...names]
}
