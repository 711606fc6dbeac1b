/**
 * Decrypts what wx.getWeRunData, group share info and the old getPhoneNumber format hand the
 * client: AES-128-CBC with the user's session_key as key and the given iv, PKCS#7 padding, all
 * base64; the plaintext is JSON with `watermark.appid`, which must be this mini program's AppID
 * (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html).
 * Every failure is a typed error (decrypt_failed, watermark_mismatch), never a crash.
 */
import { createDecipheriv } from 'node:crypto'
import { BadRequestError } from './errors'

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
/** Bigger ciphertexts than this are refused before decoding (WeRun's 30 days are a few KB). */
export const MAX_ENCRYPTED_LENGTH = 64 * 1024

function decodeBase64(value: unknown, name: string): Buffer {
  if (typeof value !== 'string' || value.length === 0) throw new BadRequestError('decrypt_failed', `${name} must be a non-empty base64 string`)
  if (value.length > MAX_ENCRYPTED_LENGTH) throw new BadRequestError('decrypt_failed', `${name} is too long`)
  if (!BASE64.test(value)) throw new BadRequestError('decrypt_failed', `${name} is not base64`)
  return Buffer.from(value, 'base64')
}

/** Decrypts and checks the watermark; answers the plaintext object (watermark included). */
export function decryptWechatData(input: { sessionKey: string; encryptedData: unknown; iv: unknown; appid: string }): Record<string, unknown> {
  const key = decodeBase64(input.sessionKey, 'session_key')
  if (key.length !== 16) throw new BadRequestError('decrypt_failed', 'session_key must be 16 bytes')
  const iv = decodeBase64(input.iv, 'iv')
  if (iv.length !== 16) throw new BadRequestError('decrypt_failed', 'iv must be 16 bytes (24 base64 characters)')
  const data = decodeBase64(input.encryptedData, 'encryptedData')
  if (data.length === 0 || data.length % 16 !== 0) throw new BadRequestError('decrypt_failed', 'encryptedData must be a whole number of 16-byte blocks')
  const object = aesJsonObject(key, iv, data, 'encryptedData', 'this session_key and iv (stale session_key? log in again first)')
  checkWatermark(object.watermark, input.appid)
  return object
}

/**
 * AES-128-CBC with PKCS#7 padding (checked by OpenSSL), then a JSON object: what WeChat, QQ and
 * Douyin's encrypted data and Alipay's encrypted `response` all are. Each failure is a 400
 * decrypt_failed naming `what` and, when it does not decrypt, the likely cause (`withKey`).
 */
export function aesJsonObject(key: Buffer, iv: Buffer, data: Buffer, what: string, withKey: string): Record<string, unknown> {
  let plain: string
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, iv)
    plain = Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8')
  } catch {
    throw new BadRequestError('decrypt_failed', `${what} does not decrypt with ${withKey}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(plain)
  } catch {
    throw new BadRequestError('decrypt_failed', `the decrypted ${what} is not JSON (wrong key?)`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BadRequestError('decrypt_failed', `the decrypted ${what} is not a JSON object`)
  return parsed as Record<string, unknown>
}

/** `watermark.appid` must be ours: data encrypted for another mini program is refused. */
export function checkWatermark(watermark: unknown, appid: string): void {
  const wmAppid = watermark !== null && typeof watermark === 'object' ? (watermark as { appid?: unknown }).appid : undefined
  if (wmAppid !== appid) throw new BadRequestError('watermark_mismatch', 'The data\'s watermark appid is not this mini program\'s AppID')
}
