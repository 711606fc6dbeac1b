/**
 * Alipay's phone number, on the server. `my.getPhoneNumber` (after the user taps
 * `<button open-type="getAuthorize" scope="phoneNumber">`) answers `{ response }`, a string the client
 * posts as is: `{"response":"<base64 ciphertext>","sign":"<base64>","sign_type":"RSA2","encrypt_type":"AES","charset":"UTF-8"}`
 * (https://docs.alipay.com/mini/api/getphonenumber: "res.response为完整的报文数据,前端需要将该报文发送到开发者服务端做验签和解密处理").
 *
 * 1. Verify: `sign` is SHA256withRSA by Alipay over the exact JSON text of the `response` member's
 *    value — the ciphertext inside its double quotes (the Java SDK's sample adds the quotes back:
 *    `signContent = "\"" + content + "\""`, https://blog.csdn.net/weixin_33748493/article/details/115981839),
 *    checked with Alipay's public key. The text is taken from the string as posted, never re-serialised.
 * 2. Decrypt: AES-128-CBC, key = base64-decoded AES key of the app ("接口内容加密方式"), IV = 16 zero
 *    bytes, PKCS#5/7 padding (https://cnblogs.com/xiager/p/14450931.html).
 * 3. The plaintext: `{"code":"10000","msg":"Success","mobile":"1597671905"}`, or an error such as
 *    `{"code":"40003","msg":"Insufficient Conditions","subCode":"isv.invalid-auth-relations","subMsg":"无效的授权关系"}`
 *    or `{"code":"20000",…,"subCode":"aop.unknow-error"}` (the getPhoneNumber page's 返回结果说明, mirror
 *    read: https://5851388.com/m01r2q7/pathhash=4f5d671d.html).
 *
 * Errors: not the expected JSON / bad base64 / does not decrypt → 400 decrypt_failed; a signature that
 * does not verify → 400 signature_invalid (tampered, or the wrong Alipay public key: nothing is
 * decrypted); 40003 → 403 phone_not_authorized; 20000 → 503 wechat_busy (host 'Alipay'); any other
 * code → 502 wechat_error with Alipay's code.
 */
import { createVerify, type KeyObject } from 'node:crypto'
import { aesJsonObject } from '../decrypt'
import { AuthServerError, BadRequestError, WechatApiError } from '../errors'
import type { PhoneInfo } from '../types'
import { topLevelMemberSpans } from './json-value-span'

const API = 'my.getPhoneNumber'
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
/** A response is a few hundred bytes; anything much bigger is not Alipay's. */
export const MAX_ALIPAY_RESPONSE_LENGTH = 8 * 1024

/** The app's AES key ("接口内容加密方式", base64 of 16 bytes) as a Buffer, or null when it is not one. */
export function alipayAesKey(value: string): Buffer | null {
  const compact = value.trim()
  if (!BASE64.test(compact)) return null
  const key = Buffer.from(compact, 'base64')
  return key.length === 16 ? key : null
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : ''
}

export function decryptAlipayPhone(input: { response: unknown; aesKey: Buffer; alipayPublicKey: KeyObject }): PhoneInfo {
  const text = input.response
  if (typeof text !== 'string' || text === '') throw new BadRequestError('decrypt_failed', 'response must be the non-empty string my.getPhoneNumber answered')
  if (text.length > MAX_ALIPAY_RESPONSE_LENGTH) throw new BadRequestError('decrypt_failed', 'response is too long to be my.getPhoneNumber\'s')
  let parsed: unknown
  let spans: ReturnType<typeof topLevelMemberSpans>
  try {
    parsed = JSON.parse(text)
    spans = topLevelMemberSpans(text)
  } catch {
    throw new BadRequestError('decrypt_failed', 'response is not the JSON my.getPhoneNumber answered (post res.response as is)')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BadRequestError('decrypt_failed', 'response is not a JSON object')
  if (spans.duplicated.size > 0) throw new BadRequestError('decrypt_failed', `response has duplicated members (${[...spans.duplicated].join(', ')})`)
  const body = parsed as Record<string, unknown>
  const content = body.response
  const span = spans.spans.get('response')
  if (typeof content !== 'string' || content === '' || !span) throw new BadRequestError('decrypt_failed', 'response carries no encrypted "response" string')
  if (typeof body.sign !== 'string' || body.sign === '') throw new BadRequestError('signature_invalid', 'response carries no sign: an unsigned phone number is not believed')
  if (body.sign_type !== undefined && body.sign_type !== 'RSA2') throw new BadRequestError('signature_invalid', `sign_type ${JSON.stringify(str(body.sign_type))} is not RSA2`)
  if (body.encrypt_type !== undefined && body.encrypt_type !== 'AES') throw new BadRequestError('decrypt_failed', `encrypt_type ${JSON.stringify(str(body.encrypt_type))} is not AES`)

  let verified = false
  try {
    verified = createVerify('RSA-SHA256').update(text.slice(span.start, span.end), 'utf8').verify(input.alipayPublicKey, body.sign, 'base64')
  } catch {
    verified = false
  }
  if (!verified) throw new BadRequestError('signature_invalid', "response's sign does not verify with Alipay's public key (tampered, or the server has the wrong alipayPublicKey)")

  if (!BASE64.test(content)) throw new BadRequestError('decrypt_failed', 'the encrypted response is not base64')
  const cipherText = Buffer.from(content, 'base64')
  if (cipherText.length === 0 || cipherText.length % 16 !== 0) throw new BadRequestError('decrypt_failed', 'the encrypted response is not a whole number of 16-byte blocks')
  // Alipay's content encryption: AES-128-CBC with a zero IV.
  const r = aesJsonObject(input.aesKey, Buffer.alloc(16), cipherText, 'response', "this app's AES key (is aesKey the one set under 接口内容加密方式?)")
  const code = str(r.code)
  if (code !== '10000') {
    const subCode = str(r.subCode ?? r.sub_code)
    const detail = [code, subCode, str(r.subMsg ?? r.sub_msg) || str(r.msg)].filter(Boolean).join(' ')
    if (code === '40003' || subCode === 'isv.invalid-auth-relations') {
      throw new AuthServerError('phone_not_authorized', `Alipay did not hand over the phone number (${detail}): the user has not authorized it, or the app lacks the 获取会员手机号 permission`)
    }
    const errcode = Number(code)
    throw new WechatApiError(API, Number.isFinite(errcode) ? errcode : 0, [subCode, str(r.subMsg ?? r.sub_msg) || str(r.msg)].filter(Boolean).join(' '), {
      host: 'Alipay',
      code: code === '20000' ? 'wechat_busy' : 'wechat_error',
    })
  }
  const mobile = str(r.mobile)
  if (!/^\+?[0-9]{5,20}$/.test(mobile)) throw new BadRequestError('decrypt_failed', 'the decrypted response has no mobile number')
  // Alipay gives the number alone; it states no country code.
  return { phoneNumber: mobile, purePhoneNumber: mobile, countryCode: '' }
}
