/**
 * The phone number on hosts that encrypt it with the user's session_key (QQ, Douyin, and WeChat's
 * older format): `{ encryptedData, iv }` from the getPhoneNumber button, AES-128-CBC, PKCS#7, the
 * plaintext `{ phoneNumber, purePhoneNumber, countryCode, watermark: { appid, timestamp } }` whose
 * watermark must be this host's AppID (Douyin's decryption rules:
 * https://developer.open-douyin.com/docs/resource/zh-CN/mini-game/develop/api/open-capacity/user-information/info/sensitive-data-process;
 * WeChat's, which QQ follows: https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html).
 * Douyin's newer button code (base library 3.51.0+) is exchanged by Douyin's server API instead
 * (providers/douyin.ts); QQ's button hands out no code, so a body without encryptedData is refused.
 */
import { AuthServerError, BadRequestError } from '../errors'
import { openSessionData } from '../decrypt'
import { phoneInfoFromDecrypted } from '../phone-number'
import type { PhoneCredential, PhoneInfo } from '../types'

/** Every failure to open or read the data is the same 400 decrypt_failed (decrypt.ts: no oracle). */
export function decryptedPhone(host: string, appid: string, credential: PhoneCredential, sessionKey: string | undefined, nowMs: number = Date.now()): PhoneInfo {
  if (!credential.encryptedData || !credential.iv) {
    throw new BadRequestError('code_required', `${host}: encryptedData and iv are required (the getPhoneNumber event's); a phone code is not exchanged on ${host}`)
  }
  if (!sessionKey) throw new AuthServerError('session_key_expired', `No ${host} session_key is kept for this user (a guest, or it expired): log in with ${host} again, then retry`)
  return phoneInfoFromDecrypted(openSessionData({ sessionKey, encryptedData: credential.encryptedData, iv: credential.iv, appid, nowMs }))
}
