/**
 * The phone number per host, on the server: what a `POST /phone` body may carry (`phoneCredentialFrom`)
 * and the phone object inside decrypted data (`phoneInfoFromDecrypted`).
 *
 * Bodies, as the SDK posts what each host hands out (docs/platforms.md, "Client: open abilities"):
 * - WeChat: `{ code }` (getPhoneNumber button, base library 2.21.2+), or the older `{ encryptedData, iv }`;
 * - Douyin: `{ code, platform: 'douyin' }` (getPhoneNumber button, base library 3.51.0+, exchanged
 *   by Douyin's server API: providers/douyin.ts), or the older `{ encryptedData, iv, platform }`;
 * - QQ / Douyin: `{ encryptedData, iv, platform }` from the getPhoneNumber button, AES-128-CBC with the
 *   user's session_key (Douyin: https://developer.open-douyin.com/docs/resource/zh-CN/mini-game/develop/api/open-capacity/user-information/info/sensitive-data-process,
 *   the button: https://programbbs.com/tutorial/microapp/microapp-jidl3652.html; QQ: as WeChat,
 *   https://w3cschool.cn/qqxiaochengxu/qqxiaochengxu-fdup37yk.html);
 * - Alipay: `{ response, platform: 'alipay' }`, the whole string my.getPhoneNumber answered
 *   (https://docs.alipay.com/mini/api/getphonenumber), read by providers/alipay-phone.ts.
 */
import { BadRequestError } from './errors'
import { sealedDataFailure } from './decrypt'
import { HOST_PLATFORMS } from './options'
import type { HostPlatform, PhoneCredential, PhoneInfo } from './types'
/** Longest field accepted in a phone body (an Alipay response is a few hundred bytes; WeChat's encryptedData under 1 KB). */
export const MAX_PHONE_FIELD_LENGTH = 8 * 1024

function field(body: Record<string, unknown>, name: keyof PhoneCredential): string | undefined {
  const v = body[name]
  if (v === undefined || v === null || v === '') return undefined
  if (typeof v !== 'string') throw new BadRequestError('bad_request', `${name} must be a string`)
  if (v.length > MAX_PHONE_FIELD_LENGTH) throw new BadRequestError('bad_request', `${name} is longer than ${MAX_PHONE_FIELD_LENGTH} characters`)
  return v
}

/**
 * The credential in a phone body, checked: a known `platform` (default 'weixin') and the fields that
 * host hands out. Anything missing or of the wrong type is a 400 naming the field and the host.
 */
export function phoneCredentialFrom(body: Record<string, unknown>): PhoneCredential {
  const platformValue = field(body, 'platform')
  if (platformValue !== undefined && !HOST_PLATFORMS.includes(platformValue as HostPlatform)) {
    throw new BadRequestError('unsupported_platform', `platform must be one of ${HOST_PLATFORMS.join(', ')}, got ${JSON.stringify(platformValue.slice(0, 32))}`)
  }
  const platform = (platformValue ?? 'weixin') as HostPlatform
  const credential: PhoneCredential = { platform }
  for (const name of ['code', 'encryptedData', 'iv', 'response'] as const) {
    const v = field(body, name)
    if (v !== undefined) credential[name] = v
  }
  if (platform === 'alipay') {
    if (!credential.response) throw new BadRequestError('code_required', 'response is required on Alipay: the string my.getPhoneNumber answered')
    return credential
  }
  if (credential.encryptedData !== undefined || credential.iv !== undefined) {
    if (!credential.encryptedData || !credential.iv) throw new BadRequestError('code_required', 'encryptedData and iv come together: both from the getPhoneNumber event')
    return credential
  }
  if (!credential.code) {
    throw new BadRequestError(
      'code_required',
      platform === 'weixin'
        ? 'code is required: the code from the getPhoneNumber button event'
        : platform === 'douyin'
          ? 'code (base library 3.51.0+) or encryptedData and iv are required on douyin: from the getPhoneNumber button event'
          : `encryptedData and iv are required on ${platform}: both from the getPhoneNumber button event`,
    )
  }
  return credential
}

/**
 * `{ phoneNumber, purePhoneNumber, countryCode }` out of data opened with a session_key (its
 * watermark already checked by openSessionData). A plaintext without a phone number is the same
 * sealed-data failure as any other (no oracle).
 */
export function phoneInfoFromDecrypted(data: Record<string, unknown>): PhoneInfo {
  const { phoneNumber, purePhoneNumber, countryCode } = data
  if (typeof phoneNumber !== 'string' || phoneNumber === '') throw sealedDataFailure()
  return {
    phoneNumber,
    purePhoneNumber: typeof purePhoneNumber === 'string' && purePhoneNumber !== '' ? purePhoneNumber : phoneNumber,
    countryCode: countryCode === undefined || countryCode === null ? '' : String(countryCode),
  }
}
