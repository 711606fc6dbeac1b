/**
 * Builds another host's global object over the fake wx's engine (storage, codes, handlers,
 * network-task limit, open abilities), so each host's fake only writes what differs: its names
 * and its result and error shapes. Calls are counted per host API name.
 */
import type { FakeWx } from './fake-wx'
import type { FakeHostObject } from './host-object-type'

export type { FakeHostObject }

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Fn = (...args: any[]) => any

export interface HostObject {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  host: Record<string, any>
  calls: Record<string, number>
}

/**
 * `names`: wx calls the host has under the same name and shape (taken from the engine as is);
 * `own`: the host's calls written for it. Names in `missing` are left out.
 */
export function hostObject(base: FakeWx, names: string[], own: Record<string, Fn>, missing: string[] = []): HostObject {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const host: Record<string, any> = {}
  const calls: Record<string, number> = {}
  const add = (name: string, fn: Fn): void => {
    if (missing.indexOf(name) >= 0) return
    calls[name] = 0
    host[name] = function (this: unknown, ...args: unknown[]) {
      calls[name]++
      return fn.apply(this, args)
    }
  }
  for (const n of names) if (typeof base.wx[n] === 'function') add(n, base.wx[n])
  for (const n of Object.keys(own)) add(n, own[n])
  return { host, calls }
}

/**
 * The same fake, seen as another host: the engine's controls (inherited, so assigning a switch
 * such as `fake.userChoices` reaches the engine's setter), with this host's object and call counts.
 */
export function asHost<F extends FakeWx>(base: FakeWx, key: string, made: HostObject): F {
  const out = Object.create(base)
  Object.defineProperty(out, key, { value: made.host, enumerable: true })
  Object.defineProperty(out, 'calls', { value: made.calls, enumerable: true })
  return out
}
