/**
 * The login codes a fake host hands out: random, single use, and expiring after `ttlMs` (each
 * host's own rule), with what each code stands for. Shared by the fakes of QQ, Douyin and Alipay.
 */
import { randomBytes } from 'node:crypto'

export type Redeemed<T> = { ok: true; value: T } | { ok: false; reason: 'unknown' | 'used' | 'expired' }

export interface SingleUseCodes<T> {
  mint(value: T): string
  /** Checks without using the code up. */
  check(code: string): Redeemed<T>
  /** Uses the code up (when `check` said ok). */
  redeem(code: string): Redeemed<T>
}

export function singleUseCodes<T>(options: { ttlMs: number; now: () => number; bytes?: number }): SingleUseCodes<T> {
  const codes = new Map<string, { value: T; mintedAt: number; used: boolean }>()
  function check(code: string): Redeemed<T> {
    const entry = codes.get(code)
    if (!entry) return { ok: false, reason: 'unknown' }
    if (entry.used) return { ok: false, reason: 'used' }
    if (options.now() - entry.mintedAt > options.ttlMs) return { ok: false, reason: 'expired' }
    return { ok: true, value: entry.value }
  }
  return {
    mint(value) {
      const code = randomBytes(options.bytes ?? 16).toString('hex')
      codes.set(code, { value, mintedAt: options.now(), used: false })
      return code
    },
    check,
    redeem(code) {
      const result = check(code)
      if (result.ok) (codes.get(code) as { used: boolean }).used = true
      return result
    },
  }
}
