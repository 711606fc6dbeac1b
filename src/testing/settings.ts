/**
 * The fakes' switches check what a test assigns to them, so a typo or a wrong value fails the test
 * at the line that made it (a TypeError naming the switch and the values it takes) instead of
 * being ignored. An object of switches (`fake.behavior`, `fake.userChoices`, `fake.privacy`) can be
 * set field by field or as a whole: `fake.userChoices = { authorize: 'deny' }` sets the fields
 * given and puts the others back to their defaults.
 */

/** What a switch takes: one of these strings, true/false, a number ≥ 0, or an object of true/false by key. */
export type Check = readonly string[] | 'boolean' | 'ms' | 'booleans'

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : v === undefined ? 'undefined' : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))

function takes(check: Check): string {
  if (check === 'boolean') return 'true or false'
  if (check === 'ms') return 'a number of ms ≥ 0'
  if (check === 'booleans') return 'an object of true/false by scope'
  const names = check.map((s) => `'${s}'`)
  return names.length > 1 ? names.slice(0, -1).join(', ') + ' or ' + names[names.length - 1] : names[0]
}

function ok(check: Check, v: unknown): boolean {
  if (check === 'boolean') return typeof v === 'boolean'
  if (check === 'ms') return typeof v === 'number' && v >= 0 && v < Infinity
  if (check === 'booleans') return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).every((k) => typeof (v as Record<string, unknown>)[k] === 'boolean')
  return typeof v === 'string' && check.indexOf(v) >= 0
}

/** `v` if `check` takes it, else a TypeError: "fake.userChoices.authorize takes 'allow' or 'deny', got 'nope'." */
export function checked<T>(name: string, check: Check, v: T): T {
  if (check === 'booleans' && v && typeof v === 'object' && !Array.isArray(v)) {
    // An object: name the entry that is not true/false.
    for (const k of Object.keys(v as object)) checked(`${name}[${show(k)}]`, 'boolean', (v as Record<string, unknown>)[k])
  }
  if (!ok(check, v)) throw new TypeError(`${name} takes ${takes(check)}, got ${show(v)}.`)
  return v
}

/**
 * A record of true/false by key (`fake.scopes`, `fake.userChoices.openSetting`) that refuses any
 * other value (`undefined` too when `absent` is false; for scopes it means "never asked").
 */
export function booleans(name: string, absent: boolean): Record<string, boolean | undefined> {
  return new Proxy({} as Record<string, boolean | undefined>, {
    set(target, key, value) {
      if (!(absent && value === undefined)) checked(`${name}[${show(String(key))}]`, 'boolean', value)
      target[key as string] = value
      return true
    },
  })
}

/** Replaces the content of a `booleans` record with `v`'s, checked first (the record keeps its identity). */
export function replaceBooleans(name: string, record: Record<string, boolean | undefined>, v: unknown, absent: boolean): void {
  const given = v as Record<string, unknown>
  if (!given || typeof given !== 'object' || Array.isArray(given)) throw new TypeError(`${name} takes an object of true/false by scope, got ${show(v)}.`)
  for (const k of Object.keys(given)) if (!(absent && given[k] === undefined)) checked(`${name}[${show(k)}]`, 'boolean', given[k])
  for (const k of Object.keys(record)) delete record[k]
  for (const k of Object.keys(given)) record[k] = given[k] as boolean | undefined
}

/**
 * An object of switches named `name` (`fake.behavior`): each field checks what it is assigned,
 * a field it does not have cannot be added, and `assign(v)` sets it as a whole (fields left out
 * go back to `defaults`), checking every field before changing any.
 */
export function switches<T extends object>(name: string, checks: { [K in keyof T]: Check }, defaults: () => T): { value: T; assign(v: unknown): void } {
  const keys = Object.keys(checks) as Array<keyof T & string>
  const values = defaults()
  const value = {} as T
  const fieldName = (k: string): string => `${name}.${k}`
  const store = (k: keyof T & string, v: unknown): void => {
    if (checks[k] === 'booleans') replaceBooleans(fieldName(k), values[k] as Record<string, boolean | undefined>, v, false)
    else values[k] = v as T[keyof T & string]
  }
  for (const k of keys) {
    if (checks[k] === 'booleans') {
      const record = booleans(fieldName(k), false)
      replaceBooleans(fieldName(k), record, values[k], false)
      values[k] = record as T[keyof T & string]
    }
    Object.defineProperty(value, k, {
      enumerable: true,
      get: () => values[k],
      set: (v: unknown) => store(k, checked(fieldName(k), checks[k], v)),
    })
  }
  Object.preventExtensions(value)
  return {
    value,
    assign(v: unknown) {
      const given = v as Record<string, unknown>
      const fields = keys.join(', ')
      if (!given || typeof given !== 'object' || Array.isArray(given)) throw new TypeError(`${name} takes an object with some of ${fields}, got ${show(v)}.`)
      for (const k of Object.keys(given)) if (keys.indexOf(k as keyof T & string) < 0) throw new TypeError(`${name} has no ${k}: its fields are ${fields}.`)
      const next = Object.assign(defaults(), given) as Record<string, unknown>
      for (const k of keys) checked(fieldName(k), checks[k], next[k])
      for (const k of keys) store(k, next[k])
    },
  }
}
