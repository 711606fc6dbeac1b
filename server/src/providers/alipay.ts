/**
 * Alipay mini programs' code exchange: `my.getAuthCode({ scopes: 'auth_base' })` hands the client
 * an `authCode`; the server calls `alipay.system.oauth.token` on the gateway
 * (`https://openapi.alipay.com/gateway.do`) with the common parameters `app_id, method, format=JSON,
 * charset=utf-8, sign_type=RSA2, timestamp ("yyyy-MM-dd HH:mm:ss", Beijing time), version=1.0, sign`
 * and the business ones `grant_type=authorization_code, code`, and gets
 * `{ "alipay_system_oauth_token_response": { user_id | open_id, access_token, expires_in,
 * refresh_token, re_expires_in, auth_start }, "sign": "…" }`, or `{ "error_response": { code, msg,
 * sub_code, sub_msg }, "sign": "…" }`. Alipay has no session_key: this provider returns no `sessionKey`.
 * Sources: https://opendocs.alipay.com/open/02xtla (alipay.system.oauth.token; mirror read:
 * https://www.apifox.cn/apidoc/docs-site/3618910/doc-3309658), its error codes (isv.code-invalid
 * "授权码(auth_code) 错误、状态不对或过期", isv.unmatched-app-id, isv.grant-type-invalid):
 * https://zhifubao.apifox.cn/api-127203914; the gateway's common codes (20000 isp/aop.unknow-error,
 * 40001 isv.missing-*, 40002 isv.invalid-* incl. isv.invalid-signature):
 * https://open.alitrip.com/docs/doc.htm?articleId=105806&docType=1&treeId=262.
 *
 * Signing (https://opendocs.alipay.com/common/02kf5q; read at
 * https://juejin.cn/post/6844903816484110349): every non-empty parameter except `sign`, sorted by
 * key, joined `k=v&…` unencoded, SHA256withRSA with the app's private key, base64. Verifying the
 * answer: Alipay's `sign` covers the exact text of the `…_response` member's value in the body
 * (https://docs.open.alipay.com/200/106120, as implemented by
 * https://github.com/fzlee/alipay/commit/0be81bdeb92216db11b299d4627305b75d410194), checked with
 * Alipay's public key. node:crypto does all of it.
 *
 * Errors (WechatApiError, host 'Alipay', errcode = the numeric `code`, errmsg = `sub_code sub_msg`):
 * isv.code-invalid / isv.unmatched-app-id → wechat_invalid_code (400: a bad, used, expired or foreign
 * auth code; the client logs in again); 20000 (isp./aop.unknow-error) → wechat_busy (503);
 * isv.invalid-signature, isv.invalid-app-id and the other gateway complaints about this server's
 * request (40001, 40002, 40006 insufficient permissions) → wechat_invalid_credential (502: fix the
 * keys or the app id); others → wechat_error. An answer whose signature does not verify, or that
 * is unsigned when it claims success, is UpstreamError wechat_bad_response. An unsigned
 * `error_response` is believed: it can only make a login fail (or a text check), never let one through.
 *
 * The text check (`checkText`, for nicknames: the 文本风险识别 ability) calls
 * `alipay.security.risk.content.detect` through the same gateway, same signing and verification,
 * with `biz_content` = `{"content":"<text>"}`, and reads `{ "alipay_security_risk_content_detect_response":
 * { code: "10000", msg, action: "REJECTED" | "PASSED", keywords: […], unique_id }, "sign" }`:
 * REJECTED (high risk, must not be published) → `{ suggest: 'risky', label: 0 }`, PASSED (low risk)
 * → 'pass', traceId = unique_id; any other action, or none, is wechat_bad_response (never a silent
 * pass). Alipay gives no label and no 'review'. No access token is involved: every call is signed with
 * the app's private key, which is what WeChat's access_token is to msg_sec_check. An app that has
 * not added the ability gets 40006 isv.insufficient-isv-permissions → wechat_invalid_credential (502)
 * whose message tells the operator to add it. Sources: the cloud call wrapping this method,
 * cloud.security.textRisk.detect (https://m.w3cschool.cn/aliminiapp/aliminiapp-ial73blo.html: the
 * answer above, "使用该API前,请确认你的小程序应用已经添加 文本风险识别 功能"); REJECTED/PASSED as for
 * image risk (https://m.w3cschool.cn/aliminiapp/aliminiapp-mbrg3bp9.html). UNVERIFIED: the Open API
 * page of alipay.security.risk.content.detect (https://opendocs.alipay.com/apis/api_49/alipay.security.risk.content.detect)
 * could not be read; the method name, the `biz_content` field `content` and the answer's fields match
 * Alipay's own Java SDK (github.com/alipay/alipay-sdk-java-all: AlipaySecurityRiskContentDetectModel,
 * AlipaySecurityRiskContentDetectResponse, "REJECTED表示拦截，PASSED表示放过"), not the API page.
 */
import { createPrivateKey, createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto'
import { BadRequestError, ConfigError, UpstreamError, WechatApiError, type ErrorCode } from '../errors'
import type { HostSession, SessionProvider, TextCheckResult } from '../types'
import { fetchUpstream } from './host-api'
import { topLevelMemberSpans } from './json-value-span'
import { alipayAesKey, decryptAlipayPhone } from './alipay-phone'
import { baseUrl, checkOptionsObject, httpOptions, requiredString, type ProviderHttpOptions } from './provider-options'

export interface AlipayProviderOptions extends ProviderHttpOptions {
  /** The Alipay mini program's app id (2021…). */
  appId: string
  /** The app's private key: PEM (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY"), or the bare base64 body Alipay's key tool prints. RSA, 2048 bits or more. */
  privateKey: string
  /** Alipay's public key for this app ("支付宝公钥", not the app's own): PEM or bare base64 (SPKI). */
  alipayPublicKey: string
  /** Default 'https://openapi.alipay.com/gateway.do'; point it at `createFakeAlipay().gateway` in tests. */
  gateway?: string
  /** Clock for the request timestamp, for tests. Default Date.now. */
  now?: () => number
  /**
   * The app's AES key ("接口内容加密方式", base64 of 16 bytes): decrypts the phone number my.getPhoneNumber
   * hands out (providers/alipay-phone.ts). Without it the server reads no Alipay phone numbers.
   */
  aesKey?: string
}

const OAUTH_TOKEN = 'alipay.system.oauth.token'
/** Text risk detection (文本风险识别). Method name and biz_content from Alipay's SDK, not its API page: see the header. */
const CONTENT_DETECT = 'alipay.security.risk.content.detect'
const CONTENT_PERMISSION_HINT =
  '(this app lacks the 文本风险识别 (text risk detection) ability: add it to the app in the Alipay open platform console, then try again)'
const BEIJING_OFFSET_MS = 8 * 3600 * 1000
const INVALID_CODE_SUBCODES: ReadonlySet<string> = new Set(['isv.code-invalid', 'isv.unmatched-app-id'])

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving), as the gateway wants it. */
export function alipayTimestamp(ms: number): string {
  const d = new Date(ms + BEIJING_OFFSET_MS)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
}

/** The string Alipay signs: non-empty parameters except `sign`, sorted by key, `k=v` joined by `&`, not encoded. */
export function alipaySignContent(params: Record<string, string | undefined>): string {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&')
}

function base64Body(text: string): Buffer | null {
  const compact = text.replace(/\s+/g, '')
  return /^[A-Za-z0-9+/]+={0,2}$/.test(compact) ? Buffer.from(compact, 'base64') : null
}

function checkRsa(key: KeyObject, name: string): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') throw new ConfigError(`alipayProvider: ${name} is a ${key.asymmetricKeyType ?? 'non-RSA'} key; RSA2 needs an RSA key`)
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
  if (bits < 2048) throw new ConfigError(`alipayProvider: ${name} is RSA-${bits}; RSA2 needs 2048 bits or more`)
  return key
}

function loadPrivateKey(value: unknown): KeyObject {
  const text = requiredString('alipayProvider', 'privateKey', value)
  try {
    if (text.includes('-----BEGIN')) {
      if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) throw new ConfigError('alipayProvider: privateKey is a public key; pass the app\'s private key')
      return checkRsa(createPrivateKey(text), 'privateKey')
    }
    const der = base64Body(text)
    if (!der) throw new ConfigError('alipayProvider: privateKey is neither a PEM nor a base64 key')
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      try {
        return checkRsa(createPrivateKey({ key: der, format: 'der', type }), 'privateKey')
      } catch (err) {
        if (err instanceof ConfigError) throw err
      }
    }
    throw new ConfigError('alipayProvider: privateKey is base64 but not a PKCS#8 or PKCS#1 RSA private key')
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`alipayProvider: privateKey is not a readable private key (${(err as Error).message})`)
  }
}

function loadPublicKey(value: unknown): KeyObject {
  const text = requiredString('alipayProvider', 'alipayPublicKey', value)
  try {
    if (text.includes('-----BEGIN')) {
      if (/PRIVATE KEY-----/.test(text)) throw new ConfigError('alipayProvider: alipayPublicKey is a private key; pass Alipay\'s public key ("支付宝公钥")')
      return checkRsa(createPublicKey(text), 'alipayPublicKey')
    }
    const der = base64Body(text)
    if (!der) throw new ConfigError('alipayProvider: alipayPublicKey is neither a PEM nor a base64 key')
    return checkRsa(createPublicKey({ key: der, format: 'der', type: 'spki' }), 'alipayPublicKey')
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`alipayProvider: alipayPublicKey is not a readable public key (${(err as Error).message})`)
  }
}

function alipayCode(code: string, subCode: string, invalidInput: ReadonlySet<string>): ErrorCode {
  if (invalidInput.has(subCode)) return 'wechat_invalid_code'
  if (code === '20000') return 'wechat_busy'
  if (code === '40001' || code === '40002' || code === '40006' || subCode === 'isv.invalid-signature') return 'wechat_invalid_credential'
  return 'wechat_error'
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : ''
}

/** A SessionProvider for `platform: 'alipay'`: `createAuthServer({ providers: { alipay: alipayProvider({ appId, privateKey, alipayPublicKey }) } })`. */
export function alipayProvider(options: AlipayProviderOptions): SessionProvider {
  checkOptionsObject('alipayProvider', options)
  const appId = requiredString('alipayProvider', 'appId', options.appId)
  const privateKey = loadPrivateKey(options.privateKey)
  const alipayPublicKey = loadPublicKey(options.alipayPublicKey)
  if (createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).equals(alipayPublicKey.export({ format: 'der', type: 'spki' }))) {
    throw new ConfigError("alipayProvider: alipayPublicKey is the app's own public key; pass Alipay's public key (\"支付宝公钥\") from the open platform console")
  }
  const gateway = baseUrl('alipayProvider', 'gateway', options.gateway, 'https://openapi.alipay.com/gateway.do')
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw new ConfigError('alipayProvider: now must be a function')
  const { timeoutMs, fetch } = httpOptions('alipayProvider', options)
  let aesKey: Buffer | null = null
  if (options.aesKey !== undefined) {
    aesKey = alipayAesKey(requiredString('alipayProvider', 'aesKey', options.aesKey))
    if (!aesKey) throw new ConfigError('alipayProvider: aesKey must be the base64 of a 16-byte AES key (接口内容加密方式 in the open platform console)')
  }

  const call = alipayGateway({ appId, privateKey, alipayPublicKey, gateway, now, timeoutMs, fetch })

  return {
    platform: 'alipay',
    appid: appId,
    phoneNumber(credential) {
      if (!aesKey) throw new BadRequestError('unsupported_platform', 'This server reads no Alipay phone numbers: give alipayProvider its aesKey (ALIPAY_AES_KEY)')
      return decryptAlipayPhone({ response: credential.response, aesKey, alipayPublicKey })
    },
    async code2Session(input): Promise<HostSession> {
      const code = input?.code
      if (typeof code !== 'string' || code === '') throw new BadRequestError('code_required', 'alipay: code (the authCode from my.getAuthCode) is required')
      const response = await call(OAUTH_TOKEN, { grant_type: 'authorization_code', code }, { invalidInputSubCodes: INVALID_CODE_SUBCODES })
      const openid = str(response.open_id) || str(response.user_id)
      if (!openid) throw badResponse(OAUTH_TOKEN, 'answered without open_id or user_id')
      return { openid }
    },
    // No access token: the RSA2 signature of every call is the app's credential here.
    async checkText(input): Promise<TextCheckResult> {
      const text = input?.text
      if (typeof text !== 'string' || text === '') throw new BadRequestError('bad_request', 'text must be a non-empty string')
      const response = await call(
        CONTENT_DETECT,
        { biz_content: JSON.stringify({ content: text }) },
        { hint: (code, subCode) => (code === '40006' || subCode === 'isv.insufficient-isv-permissions' ? CONTENT_PERMISSION_HINT : undefined) },
      )
      const action = response.action
      let result: TextCheckResult
      if (action === 'REJECTED') result = { suggest: 'risky', label: 0 }
      else if (action === 'PASSED') result = { suggest: 'pass', label: 0 }
      else throw badResponse(CONTENT_DETECT, `answered ${action === undefined ? 'without an action' : `the action ${JSON.stringify(action)}`}, neither REJECTED nor PASSED`)
      const uniqueId = str(response.unique_id)
      if (uniqueId) result.traceId = uniqueId
      return result
    },
  }
}

function badResponse(method: string, message: string): UpstreamError {
  return new UpstreamError('wechat_bad_response', method, `Alipay ${method} ${message}`)
}

/** How one gateway method's failures read, beyond the gateway's common codes. */
interface GatewayCallOptions {
  /** sub_codes that mean the caller's input is bad (oauth.token's auth code): wechat_invalid_code (400). */
  invalidInputSubCodes?: ReadonlySet<string>
  /** A hint for the operator, added to the error's errmsg (and so its message) for this code / sub_code. */
  hint?: (code: string, subCode: string) => string | undefined
}

/**
 * One exchange with the Open API gateway, shared by every method this provider calls: the common
 * parameters plus `business` (oauth.token's `grant_type`/`code`, or a `biz_content` JSON), signed
 * RSA2 with the app's private key, POSTed form-encoded; the answer parsed, its members located in
 * the exact text, `sign` verified over the `<method with _>_response` member (or a signed
 * `error_response`), and a code other than 10000 turned into a WechatApiError. Answers the verified
 * response object. Alipay keeps no access token for these calls: the signature is the credential.
 */
function alipayGateway(config: {
  appId: string
  privateKey: KeyObject
  alipayPublicKey: KeyObject
  gateway: string
  now: () => number
  timeoutMs: number
  fetch: typeof fetch
}): (method: string, business: Record<string, string>, options?: GatewayCallOptions) => Promise<Record<string, unknown>> {
  const { appId, privateKey, alipayPublicKey, gateway, now, timeoutMs, fetch } = config

  function signedParams(method: string, business: Record<string, string>): URLSearchParams {
    const params: Record<string, string> = {
      app_id: appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: alipayTimestamp(now()),
      version: '1.0',
      ...business,
    }
    params.sign = createSign('RSA-SHA256').update(alipaySignContent(params), 'utf8').sign(privateKey, 'base64')
    return new URLSearchParams(params)
  }

  function verified(text: string, span: { start: number; end: number }, sign: unknown): boolean {
    if (typeof sign !== 'string' || sign === '') return false
    return createVerify('RSA-SHA256').update(text.slice(span.start, span.end), 'utf8').verify(alipayPublicKey, sign, 'base64')
  }

  function failure(method: string, value: Record<string, unknown>, options: GatewayCallOptions): WechatApiError {
    const code = str(value.code)
    const subCode = str(value.sub_code)
    const errcode = Number(code)
    const hint = options.hint?.(code, subCode)
    const errmsg = [subCode, str(value.sub_msg) || str(value.msg), hint].filter(Boolean).join(' ')
    const mapped = alipayCode(code, subCode, options.invalidInputSubCodes ?? new Set())
    return new WechatApiError(method, Number.isFinite(errcode) && code !== '' ? errcode : 0, errmsg, { host: 'Alipay', code: mapped })
  }

  return async function call(method, business, options = {}) {
    const responseKey = method.replace(/\./g, '_') + '_response'
    const bad = (message: string) => badResponse(method, message)
    const { status, text } = await fetchUpstream(
      fetch,
      gateway,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8', accept: 'application/json' },
        body: signedParams(method, business).toString(),
      },
      { api: method, host: 'Alipay', timeoutMs },
    )
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw bad(`answered HTTP ${status} with something that is not JSON`)
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad(`answered HTTP ${status} with JSON that is not an object`)
    let members: ReturnType<typeof topLevelMemberSpans>
    try {
      members = topLevelMemberSpans(text)
    } catch {
      throw bad(`answered HTTP ${status} with JSON whose members cannot be located`)
    }
    const { spans, duplicated } = members
    if (duplicated.size > 0) throw bad(`answered a body with duplicated members (${[...duplicated].join(', ')})`)
    const sign = (body as Record<string, unknown>).sign
    const errorSpan = spans.get('error_response')
    const responseSpan = spans.get(responseKey)
    if (!responseSpan) {
      if (!errorSpan) throw bad(`answered HTTP ${status} without ${responseKey} or error_response`)
      if (sign !== undefined && !verified(text, errorSpan, sign)) throw bad('answered an error_response whose signature does not verify with alipayPublicKey')
      const value = JSON.parse(text.slice(errorSpan.start, errorSpan.end)) as unknown
      if (value === null || typeof value !== 'object') throw bad('answered an error_response that is not an object')
      throw failure(method, value as Record<string, unknown>, options)
    }
    if (!verified(text, responseSpan, sign)) {
      throw bad(sign === undefined ? 'answered without a signature' : 'answered a signature that does not verify with alipayPublicKey (tampered, or the wrong alipayPublicKey)')
    }
    // The verified text itself is the source of truth.
    const value = JSON.parse(text.slice(responseSpan.start, responseSpan.end)) as unknown
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(`answered a ${responseKey} that is not an object`)
    const response = value as Record<string, unknown>
    if (response.code !== undefined && str(response.code) !== '10000') throw failure(method, response, options)
    return response
  }
}
