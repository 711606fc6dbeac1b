/**
 * Decrypts what wx.getWeRunData, group share info and the old getPhoneNumber format hand the
 * client (and QQ's and Douyin's phone number): AES-128-CBC with the user's session_key as key and
 * the given iv, PKCS#7 padding, all base64; the plaintext is JSON with `watermark.appid`, which
 * must be this mini program's AppID, and `watermark.timestamp`, which must be recent
 * (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html).
 *
 * No oracle. Whatever goes wrong — bad base64, a wrong length, bad padding, a plaintext that is
 * not JSON or not an object, another AppID's watermark, a stale or missing timestamp — the answer
 * is the same error with the same message (`sealedDataFailure()`), so a client cannot tell a
 * padding failure from anything else (a CBC padding oracle would let it encrypt a plaintext of its
 * choice, a phone number say, under its own session_key without knowing the key). The key-dependent
 * steps do the same work whatever the padding: the whole ciphertext is deciphered without OpenSSL's
 * padding check, the padding is checked without an early exit, and the JSON is parsed in either
 * case. The per-user failure budget in auth-server.ts makes sure no attack gets the thousands of
 * answers it would need anyway.
 */
import { createDecipheriv, timingSafeEqual } from 'node:crypto'
import { BadRequestError } from './errors'

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
/** Bigger ciphertexts than this are refused before decoding (WeRun's 30 days are a few KB). */
export const MAX_ENCRYPTED_LENGTH = 64 * 1024
/** A watermark older than this (or this far in the future) is stale: data handed out now is fresh. */
export const MAX_DATA_AGE_SECONDS = 10 * 60

/** The one message for every failure to open or check encrypted data. */
export const SEALED_DATA_FAILURE = "The encrypted data cannot be read with this user's session: log in again, then ask the user for it again."

export function sealedDataFailure(): BadRequestError {
  return new BadRequestError('decrypt_failed', SEALED_DATA_FAILURE)
}

function base64(value: unknown, bytes?: number): Buffer | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ENCRYPTED_LENGTH || !BASE64.test(value)) return null
  const buf = Buffer.from(value, 'base64')
  return bytes === undefined || buf.length === bytes ? buf : null
}

/** PKCS#7 padding length of `plain` (1–16), or 0 when it is not valid; no early exit on the bytes. */
function paddingLength(plain: Buffer): number {
  const n = plain[plain.length - 1]
  const inRange = n >= 1 && n <= 16 ? 1 : 0
  const tail = Buffer.alloc(16)
  plain.copy(tail, 0, plain.length - 16)
  const expected = Buffer.alloc(16)
  for (let i = 0; i < 16; i++) expected[i] = 16 - i <= n ? n : tail[i]
  return timingSafeEqual(tail, expected) && inRange ? n : 0
}

/**
 * Opens data sealed with a session_key and checks its watermark (AppID and age). Answers the
 * plaintext object; every failure throws `sealedDataFailure()` and nothing else.
 */
export function openSessionData(input: { sessionKey: string; encryptedData: unknown; iv: unknown; appid: string; nowMs: number }): Record<string, unknown> {
  const key = base64(input.sessionKey, 16)
  const iv = base64(input.iv, 16)
  const data = base64(input.encryptedData)
  if (!key || !iv || !data || data.length === 0 || data.length % 16 !== 0) throw sealedDataFailure()
  const decipher = createDecipheriv('aes-128-cbc', key, iv)
  decipher.setAutoPadding(false)
  const plain = Buffer.concat([decipher.update(data), decipher.final()])
  const pad = paddingLength(plain)
  let parsed: unknown = null
  try {
    parsed = JSON.parse(plain.subarray(0, plain.length - (pad || 0)).toString('utf8'))
  } catch {
    parsed = null
  }
  if (pad === 0 || parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw sealedDataFailure()
  const object = parsed as Record<string, unknown>
  const watermark = object.watermark as { appid?: unknown; timestamp?: unknown } | undefined
  const stamp = watermark && typeof watermark === 'object' ? watermark.timestamp : undefined
  if (
    !watermark ||
    typeof watermark !== 'object' ||
    watermark.appid !== input.appid ||
    typeof stamp !== 'number' ||
    !Number.isFinite(stamp) ||
    Math.abs(input.nowMs / 1000 - stamp) > MAX_DATA_AGE_SECONDS
  ) {
    throw sealedDataFailure()
  }
  return object
}

/**
 * AES-128-CBC with PKCS#7 padding (checked by OpenSSL), then a JSON object: Alipay's encrypted
 * `response`, opened only after Alipay's signature over it verified (so no client can use the
 * difference between these messages as an oracle). Each failure is a 400 decrypt_failed naming
 * `what` and, when it does not decrypt, the likely cause (`withKey`).
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
