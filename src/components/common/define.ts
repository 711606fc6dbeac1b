/**
 * What every component shares: typed properties that warn (once per wrong value) and fall back to
 * their default, the wiring check (no instance: show nothing, one `error` event with code CONFIG),
 * and the `error` event of a failed call.
 */
import { providedAuth, type ProvidedAuth } from '../wiring'

export type Kind = 'string' | 'number' | 'boolean'
/** name → [type, default]. */
export type PropSpec = Record<string, [Kind, string | number | boolean]>

/** The part of a component instance the helpers use. */
export interface Instance {
  data: Record<string, any>
  setData(data: Record<string, unknown>): void
  triggerEvent(name: string, detail?: unknown): void
}

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? JSON.stringify(v) : typeof v)

/**
 * A value of the wrong type is replaced by the default, with one console warning naming the
 * property. WXML attributes written without `{{ }}` arrive as strings: `max-length="30"` and
 * `realtime="true"` are read as the number and the boolean they spell.
 */
export function properties(tag: string, spec: PropSpec): Record<string, object> {
  const out: Record<string, object> = {}
  for (const name of Object.keys(spec)) {
    const [kind, value] = spec[name]
    out[name] = {
      // `null`: WeChat hands the value over as given (a typed property would coerce it silently).
      type: null,
      value,
      observer(this: Instance, v: unknown) {
        if (typeof v === kind && (kind !== 'number' || isFinite(v as number))) return
        if (kind === 'number' && typeof v === 'string' && /^\d+$/.test(v)) return this.setData({ [name]: Number(v) })
        if (kind === 'boolean' && (v === 'true' || v === 'false' || v === '')) return this.setData({ [name]: v !== 'false' })
        console.warn(`<${tag}>: property ${name} must be a ${kind}, got ${describe(v)}; using the default ${JSON.stringify(value)}.`)
        this.setData({ [name]: value })
      },
    }
  }
  return out
}

/**
 * The instance given to provideAuth, or null after showing nothing (`wired: false`) and firing one
 * `error` event with code CONFIG naming the missing call.
 */
export function wire(tag: string, self: Instance): ProvidedAuth | null {
  const found = providedAuth()
  if (found) {
    self.setData({ wired: true })
    return found
  }
  self.setData({ wired: false })
  self.triggerEvent('error', {
    code: 'CONFIG',
    message: `<${tag}> has no auth instance: call provideAuth(auth) from 'weapp-auth/components' in app.ts (uni-app, Taro: set the App's globalData.weappAuth to the instance).`,
  })
  return null
}

/** The `error` event of a failed call: the typed error's code and message. */
export function report(self: Instance, err: unknown): { code: string; message: string } {
  const e = (err || {}) as { code?: string; message?: string; errMsg?: string }
  const detail = { code: e.code || 'UNKNOWN', message: e.message || e.errMsg || String(err) }
  self.triggerEvent('error', detail)
  return detail
}

/** Network-side failures, shown as the "network error" state. */
export const NETWORK = ['NETWORK_ERROR', 'TIMEOUT', 'HTTP_ERROR', 'BAD_RESPONSE', 'UNAUTHORIZED', 'LOGIN_REJECTED', 'WX_LOGIN_FAILED', 'BAD_LOGIN_RESPONSE']

declare const Component: (options: object) => void

/** Registers the component (the host's `Component` constructor). */
export function define(options: object): void {
  Component(options)
}

export { hostCall } from './host-call'
