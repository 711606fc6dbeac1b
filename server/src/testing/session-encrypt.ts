/**
 * What a host's client gets for sensitive data (the phone number on QQ and Douyin, WeChat's older
 * format): the JSON encrypted AES-128-CBC/PKCS#7 with the user's session_key and a random IV, both
 * base64 (https://developer.open-douyin.com/docs/resource/zh-CN/mini-game/develop/api/open-capacity/user-information/info/sensitive-data-process).
 * The fakes use it to hand out `{ encryptedData, iv }` the server can decrypt.
 */
import { createCipheriv, randomBytes } from 'node:crypto'

export function encryptWithSessionKey(sessionKey: string, data: Record<string, unknown>): { encryptedData: string; iv: string } {
  const key = Buffer.from(sessionKey, 'base64')
  if (key.length !== 16) throw new TypeError('a session_key is 16 bytes, base64')
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new TypeError('data must be an object')
  const iv = randomBytes(16)
  const cipher = createCipheriv('aes-128-cbc', key, iv)
  const encrypted = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()])
  return { encryptedData: encrypted.toString('base64'), iv: iv.toString('base64') }
}

/** The phone-number plaintext QQ and Douyin encrypt, watermarked with the host's AppID. */
export function phonePlaintext(phoneNumber: string, appid: string, nowMs: number): Record<string, unknown> {
  if (typeof phoneNumber !== 'string' || !/^[0-9]{5,20}$/.test(phoneNumber)) throw new TypeError('phoneNumber must be 5–20 digits')
  return { phoneNumber, purePhoneNumber: phoneNumber, countryCode: '86', watermark: { appid, timestamp: Math.floor(nowMs / 1000) } }
}
