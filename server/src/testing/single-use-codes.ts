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

/**
 * `adopt`: what an unknown code stands for, or undefined to refuse it. A fake that accepts any
 * well-formed code (the example's end-to-end run, where the SDK's fake host mints its own codes)
 * adopts it at first sight; from then on it is single use like a minted one.
 */
export function singleUseCodes<T>(options: { ttlMs: number; now: () => number; bytes?: number; adopt?: (code: string) => T | undefined }): SingleUseCodes<T> {
  const codes = new Map<string, { value: T; mintedAt: number; used: boolean }>()
  function check(code: string): Redeemed<T> {
    if (!codes.has(code) && options.adopt && typeof code === 'string') {
      const value = options.adopt(code)
      if (value !== undefined) codes.set(code, { value, mintedAt: options.now(), used: false })
    }
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

const ANY_CODE_SHAPE = /^[A-Za-z0-9_-]{6,128}$/

/**
 * The account an adopted code belongs to, as the fake WeChat reads it: the last `-…` segment is the
 * code's nonce, and a numeric counter before it too (the SDK's fakes hand out `code-<n>-<nonce>`), so
 * every login of one fake host is one user. Undefined for a code of the wrong shape.
 */
export function accountOfAnyCode(code: string): string | undefined {
  if (!ANY_CODE_SHAPE.test(code)) return undefined
  return code.replace(/-[^-]*$/, '').replace(/(-\d+)+$/, '') || code
}
