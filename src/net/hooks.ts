/**
 * The app's hooks (`beforeRequest`, `afterResponse`, `beforeError`): each may be one function
 * or a list, resolved to a list once per instance, and run in order, each able to replace the
 * value it is given.
 */
import type { HookOptions, OneOrMany } from './request-types'

export function hookList<F>(h: OneOrMany<F> | undefined): F[] {
  return !h ? [] : Array.isArray(h) ? h : [h]
}

/** Runs hooks in order; each may return a replacement for the value. Async only when hooks exist. */
export function runHooks<V>(hooks: Array<(value: V, opts: HookOptions) => V | void | Promise<V | void>>, value: V, opts: HookOptions): Promise<V> {
  let chain = Promise.resolve(value)
  for (const hook of hooks) chain = chain.then((v) => Promise.resolve(hook(v, opts)).then((next) => next || v))
  return chain
}
