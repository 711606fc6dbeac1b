/**
 * The phone credential in a wx-shaped getPhoneNumber event detail (WeChat, QQ, Douyin, and the
 * frameworks on those targets). Its own module because WeChat's tag (weixin.ts), which
 * `weapp-auth/core` carries, needs it and nothing else of the adapters' helpers.
 */
import type { PhoneCredential } from './host'

/** The phone credential of a wx-shaped getPhoneNumber event detail (code, or encryptedData + iv). */
export function wxPhone(platform: 'weixin' | 'qq' | 'douyin', detail: unknown): PhoneCredential | null {
  const d = (detail || {}) as { code?: unknown; encryptedData?: unknown; iv?: unknown; errMsg?: unknown }
  if (typeof d.errMsg === 'string' && !/:ok$/.test(d.errMsg)) return null
  if (typeof d.code === 'string' && d.code) return { platform, code: d.code }
  if (typeof d.encryptedData === 'string' && d.encryptedData && typeof d.iv === 'string' && d.iv) {
    return { platform, encryptedData: d.encryptedData, iv: d.iv }
  }
  return null
}

