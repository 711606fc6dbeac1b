/**
 * The phone credential in a wx-shaped getPhoneNumber event detail (WeChat, QQ, Douyin, and the
 * frameworks on those targets). Its own module because WeChat's tag (weixin.ts), which
 * `weapp-auth/core` carries, needs it and nothing else of the adapters' helpers.
 */
import type { PhoneCredential } from './host'

/** The phone credential of a wx-shaped getPhoneNumber event detail (code, or encryptedData + iv). */
export function wxPhone(platform: 'weixin' | 'qq' | 'douyin', detail: unknown): PhoneCredential | null {
  const d = (detail || {}) as Record<string, unknown>
  /** The field when it is a non-empty string, else ''. */
  const s = (k: string): string => (typeof d[k] === 'string' ? (d[k] as string) : '')
  if (typeof d.errMsg === 'string' && !/:ok$/.test(d.errMsg)) return null
  if (s('code')) return { platform, code: s('code') }
  return s('encryptedData') && s('iv') ? { platform, encryptedData: s('encryptedData'), iv: s('iv') } : null
}
