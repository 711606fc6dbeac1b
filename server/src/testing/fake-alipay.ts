/**
 * A fake Alipay open platform gateway over real HTTP: point `alipayProvider({ gateway: fake.gateway })`
 * at it. It serves two methods on `/gateway.do` (parameters from the query string and/or a
 * form-encoded POST body), told apart by `method`: `alipay.system.oauth.token` (API
 * 'oauth_token', which also answers every request naming no method it knows) and
 * `alipay.security.risk.content.detect` (API 'content_detect'). Both keep the gateway's rules, in its order:
 *
 * - Common parameters: `method`, `app_id`, `sign`, `sign_type`, `timestamp`, `version` missing →
 *   40001 isv.missing-*; an unknown method → 40002 isv.invalid-method; an unknown app_id → 40002
 *   isv.invalid-app-id; sign_type other than RSA2 → isv.invalid-signature-type; a timestamp not
 *   "yyyy-MM-dd HH:mm:ss" or more than 15 minutes from now in Beijing time →
 *   isv.invalid-timestamp (the 15-minute tolerance is the fake's: Alipay's is not documented where
 *   we read); charset other than utf-8 → isv.invalid-charset.
 * - The request signature: every non-empty parameter except `sign`, sorted, `k=v&…`, checked
 *   SHA256withRSA with the app's public key; a mismatch → 40002 isv.invalid-signature.
 * - oauth.token: `grant_type` other than authorization_code → 40002 isv.grant-type-invalid; a
 *   missing, unknown, used or expired `code` → 40002 isv.code-invalid (an auth code works once).
 * - content.detect (text risk detection, 文本风险识别): `biz_content` must be JSON with a non-empty
 *   string `content`, else 40002 isv.invalid-parameter (the fake's choice: Alipay's code for it is
 *   not documented where we read). A text containing one of `riskyWords` (default `['违规',
 *   'risky-word']`) answers `{"code":"10000","msg":"Success","action":"REJECTED","keywords":[the
 *   words found],"unique_id":"…"}`, any other `action: "PASSED"` with `keywords: []`. Shapes from
 *   the cloud call wrapping this method, https://m.w3cschool.cn/aliminiapp/aliminiapp-ial73blo.html,
 *   and Alipay's Java SDK (github.com/alipay/alipay-sdk-java-all, AlipaySecurityRiskContentDetectResponse:
 *   REJECTED 拦截, PASSED 放过); the Open API page itself was not read. An app without the 文本风险识别
 *   ability is played with `fail('content_detect', 'isv.insufficient-isv-permissions')` (40006).
 *
 * Answers are signed with Alipay's private key over the exact text of the member's value:
 * `{"alipay_system_oauth_token_response":{…},"sign":"…"}` (content.detect:
 * `alipay_security_risk_content_detect_response`) or `{"error_response":{"code","msg",
 * "sub_code","sub_msg"},"sign":"…"}` (unsigned when the app is unknown: there is no key to sign for it).
 * Sources: https://opendocs.alipay.com/open/02xtla (mirror read:
 * https://www.apifox.cn/apidoc/docs-site/3618910/doc-3309658), error codes
 * https://zhifubao.apifox.cn/api-127203914 and https://open.alitrip.com/docs/doc.htm?articleId=105806&docType=1&treeId=262,
 * signing https://juejin.cn/post/6844903816484110349, a code works once and at most 24 hours
 * (https://www.codeprj.com/zh/blog/ed6a341.html, quoting https://opendocs.alipay.com/support/01rg6z;
 * the fake's default is 5 minutes, tests pick their own).
 *
 * The phone number: `phoneResponse(mobile)` is what `my.getPhoneNumber` hands the client as
 * `res.response`: `{"response":"<AES-128-CBC, zero IV, base64>","sign":"…","sign_type":"RSA2",
 * "encrypt_type":"AES","charset":"UTF-8"}`, the plaintext `{"code":"10000","msg":"Success","mobile":…}`
 * encrypted with the app's AES key (`aesKey`), signed with Alipay's private key over the ciphertext in
 * its quotes (https://docs.alipay.com/mini/api/getphonenumber; providers/alipay-phone.ts has the rules
 * and sources). `{ refused: true }` encrypts Alipay's 40003 isv.invalid-auth-relations instead.
 *
 * Test controls: `mintCode(id)` (the user's open_id, or user_id with `identity: 'user_id'`),
 * `phoneResponse(mobile, { refused? })`, `fail(api, subCode)` for 'oauth_token' or 'content_detect',
 * `tamper()` (the next answers carry a signature that does not match their text: a REJECTED verdict
 * turned into PASSED, an id or sub_code changed), `delay`, `html`, `stop`/`start`, `calls` (per API);
 * `acceptAnyCode` adopts any well-formed auth code it has not seen (single use from then on). Over
 * HTTP: `POST /__fake/codes {openid}` → `{code}`, `POST /__fake/phone-response {phoneNumber, refused?}` → `{response}`.
 */
import { createCipheriv, createHash, createPrivateKey, createPublicKey, createSign, createVerify, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto'
import { startFakeHost, type FakeHostControls, type HostAnswer, type HostFaultOptions, type HostRequest } from './fake-host'
import { accountOfAnyCode, singleUseCodes } from './single-use-codes'

/** 'oauth_token': alipay.system.oauth.token (and any method the gateway does not know); 'content_detect': alipay.security.risk.content.detect. */
export type FakeAlipayApi = 'oauth_token' | 'content_detect'

export interface FakeAlipayOptions {
  /** Default '2021000000000001'. */
  appId?: string
  /** The app's public key (PEM), as uploaded to the open platform: requests must verify with it. */
  appPublicKey: string | KeyObject
  /** Alipay's private key (PEM) for signing answers. Default: a new RSA-2048 pair; read `alipayPublicKey`. */
  alipayPrivateKey?: string | KeyObject
  /** Which id the response carries: 'open_id' (default, apps on the OpenID scheme) or 'user_id' (2088…). */
  identity?: 'open_id' | 'user_id'
  /** 'pretty' writes the body with indentation, so only a verifier that signs the exact text passes. Default 'compact'. */
  format?: 'compact' | 'pretty'
  port?: number
  now?: () => number
  /** How long an auth code works. Default 300000. */
  codeTtlMs?: number
  /** The app's AES key (base64 of 16 bytes) the phone number is encrypted with. Default: a random one; read `aesKey`. */
  aesKey?: string
  /** Adopt any well-formed auth code not minted here (for the example's end-to-end run). Default false. */
  acceptAnyCode?: boolean
  /** Texts containing any of these are REJECTED by content.detect. Default ['违规', 'risky-word']. */
  riskyWords?: string[]
}

export interface FakeAlipay extends FakeHostControls<FakeAlipayApi, string> {
  /** `url + '/gateway.do'`: what `alipayProvider({ gateway })` takes. */
  readonly gateway: string
  readonly appId: string
  /** Alipay's public key (PEM, SPKI): what `alipayProvider({ alipayPublicKey })` takes. */
  readonly alipayPublicKey: string
  /** A new single-use auth code (what `my.getAuthCode` hands the client) for this user id. */
  mintCode(id: string): string
  /** The next answers carry a signature that does not match their text (a tampered answer). */
  tamper(options?: HostFaultOptions): void
  /** The app's AES key (base64): what `alipayProvider({ aesKey })` takes. */
  readonly aesKey: string
  /** What my.getPhoneNumber answers as `res.response` for this number (or, `refused`, for a user who did not authorize it). */
  phoneResponse(mobile: string, options?: { refused?: boolean }): string
}

const MESSAGES: Record<string, string> = {
  'isv.missing-method': '缺少方法名参数',
  'isv.missing-app-id': '缺少appId参数',
  'isv.missing-signature': '缺少签名参数',
  'isv.missing-signature-type': '缺少签名类型参数',
  'isv.missing-timestamp': '缺少时间戳参数',
  'isv.missing-version': '缺少版本参数',
  'isv.invalid-method': '不存在的方法名',
  'isv.invalid-app-id': '无效的AppID参数',
  'isv.invalid-signature-type': '无效的签名类型',
  'isv.invalid-timestamp': '非法的时间戳参数',
  'isv.invalid-charset': '字符集错误',
  'isv.invalid-signature': '无效签名',
  'isv.grant-type-invalid': 'grant_type参数不正确',
  'isv.code-invalid': '授权码code无效',
  'isv.invalid-parameter': '参数无效',
  'isv.insufficient-isv-permissions': 'ISV权限不足，建议在开发者中心检查对应功能是否已经添加',
  'isp.unknow-error': '服务暂不可用',
  'aop.unknow-error': '服务暂不可用',
}

function gatewayCode(subCode: string): { code: string; msg: string } {
  if (subCode === 'isp.unknow-error' || subCode === 'aop.unknow-error') return { code: '20000', msg: 'Service Currently Unavailable' }
  if (subCode.startsWith('isv.missing-')) return { code: '40001', msg: 'Missing Required Arguments' }
  if (subCode.startsWith('isv.insufficient-')) return { code: '40006', msg: 'Insufficient Permissions' }
  if (subCode.startsWith('isv.')) return { code: '40002', msg: 'Invalid Arguments' }
  return { code: '40004', msg: 'Business Failed' }
}

const METHODS: Record<FakeAlipayApi, string> = { oauth_token: 'alipay.system.oauth.token', content_detect: 'alipay.security.risk.content.detect' }

/** The request's parameters: the query string, then a form-encoded POST body over it. */
function gatewayParams(request: HostRequest): URLSearchParams {
  const params = new URLSearchParams(request.query)
  if (request.method === 'POST' && request.contentType.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(request.body)) params.set(k, v)
  }
  return params
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/
const BEIJING_OFFSET_MS = 8 * 3600 * 1000
const TIMESTAMP_TOLERANCE_MS = 15 * 60 * 1000

export async function createFakeAlipay(options: FakeAlipayOptions): Promise<FakeAlipay> {
  if (options === null || typeof options !== 'object') throw new TypeError('createFakeAlipay: options with appPublicKey are required')
  const appId = options.appId ?? '2021000000000001'
  const appPublicKey = options.appPublicKey instanceof KeyObject ? createPublicKey(options.appPublicKey) : createPublicKey(options.appPublicKey)
  const given = options.alipayPrivateKey
  const alipayPrivateKey = given === undefined ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : given instanceof KeyObject ? given : createPrivateKey(given)
  if (alipayPrivateKey.type !== 'private') throw new TypeError('createFakeAlipay: alipayPrivateKey must be a private key')
  const alipayPublicKey = createPublicKey(alipayPrivateKey).export({ format: 'pem', type: 'spki' }).toString()
  const identity = options.identity ?? 'open_id'
  const pretty = options.format === 'pretty'
  const now = options.now ?? Date.now
  const ttlMs = options.codeTtlMs ?? 300_000
  if (identity !== 'open_id' && identity !== 'user_id') throw new TypeError("createFakeAlipay: identity must be 'open_id' or 'user_id'")
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('createFakeAlipay: codeTtlMs must be a positive number')
  const aesKey = options.aesKey ?? randomBytes(16).toString('base64')
  if (typeof aesKey !== 'string' || Buffer.from(aesKey, 'base64').length !== 16) throw new TypeError('createFakeAlipay: aesKey must be the base64 of 16 bytes')
  const adopt = options.acceptAnyCode
    ? (code: string) => {
        const account = accountOfAnyCode(code)
        return account === undefined ? undefined : (identity === 'open_id' ? '0' : '2088') + createHash('sha256').update(`alipay:${appId}:${account}`).digest('hex').slice(0, 12).replace(/[a-f]/g, (c) => String(c.charCodeAt(0) % 10))
      }
    : undefined
  const codes = singleUseCodes<string>({ ttlMs, now, adopt })
  const riskyWords = options.riskyWords ?? ['违规', 'risky-word']
  if (!Array.isArray(riskyWords) || riskyWords.some((w) => typeof w !== 'string' || w === '')) throw new TypeError('createFakeAlipay: riskyWords must be non-empty strings')
  let tampered: { remaining: number | null } | null = null

  function mintCode(id: string): string {
    if (typeof id !== 'string' || id === '') throw new TypeError('mintCode: id must be a non-empty string')
    return codes.mint(id)
  }

  /** `{"<key>":<value text>,"sign":"…"}` with the signature over exactly `<value text>`. */
  function signed(key: string, value: Record<string, unknown>, sign: boolean): HostAnswer {
    const valueText = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)
    if (!sign) return { text: pretty ? `{\n  "${key}": ${valueText}\n}` : `{"${key}":${valueText}}` }
    let signature = createSign('RSA-SHA256').update(valueText, 'utf8').sign(alipayPrivateKey, 'base64')
    let sent = valueText
    if (tampered) {
      if (tampered.remaining !== null && --tampered.remaining <= 0) tampered = null
      // The signature of the original text, over a text someone changed on the way: a refusal
      // turned into a pass, else an id or sub_code changed.
      sent = valueText.replace(/"action": ?"REJECTED"/, '"action":"PASSED"')
      if (sent === valueText) sent = valueText.replace(/"(open_id|user_id|sub_code|action)": ?"([^"]*)"/, (_m, k: string, v: string) => `"${k}":"${v}x"`)
      if (sent === valueText) signature = signature.slice(0, -4) + (signature.endsWith('AAA=') ? 'BBB=' : 'AAA=')
    }
    const text = pretty ? `{\n  "${key}": ${sent},\n  "sign": "${signature}"\n}` : `{"${key}":${sent},"sign":"${signature}"}`
    return { text, contentType: 'text/html;charset=utf-8' }
  }

  function errorResponse(subCode: string, sign = true): HostAnswer {
    const { code, msg } = gatewayCode(subCode)
    return signed('error_response', { code, msg, sub_code: subCode, sub_msg: MESSAGES[subCode] ?? '业务处理失败' }, sign)
  }

  function beijingMs(timestamp: string): number | null {
    const m = TIMESTAMP.exec(timestamp)
    if (!m) return null
    const [, y, mo, d, h, mi, s] = m.map(Number)
    const ms = Date.UTC(y, mo - 1, d, h, mi, s)
    const back = new Date(ms)
    if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null
    return ms - BEIJING_OFFSET_MS
  }

  /** The gateway's checks every method shares (common parameters, the request signature), or null when they pass. */
  function gatewayRefusal(p: URLSearchParams, method: string): HostAnswer | null {
    const get = (k: string) => p.get(k) ?? ''
    if (!get('method')) return errorResponse('isv.missing-method', false)
    if (!get('app_id')) return errorResponse('isv.missing-app-id', false)
    if (get('app_id') !== appId) return errorResponse('isv.invalid-app-id', false)
    if (get('method') !== method) return errorResponse('isv.invalid-method')
    if (!get('sign')) return errorResponse('isv.missing-signature')
    if (!get('sign_type')) return errorResponse('isv.missing-signature-type')
    if (get('sign_type') !== 'RSA2') return errorResponse('isv.invalid-signature-type')
    if (!get('timestamp')) return errorResponse('isv.missing-timestamp')
    const at = beijingMs(get('timestamp'))
    if (at === null || Math.abs(at - now()) > TIMESTAMP_TOLERANCE_MS) return errorResponse('isv.invalid-timestamp')
    if (!get('version')) return errorResponse('isv.missing-version')
    if (get('charset') && get('charset').toLowerCase() !== 'utf-8') return errorResponse('isv.invalid-charset')
    const content = [...new Set(p.keys())]
      .filter((k) => k !== 'sign' && get(k) !== '')
      .sort()
      .map((k) => `${k}=${get(k)}`)
      .join('&')
    let ok = false
    try {
      ok = createVerify('RSA-SHA256').update(content, 'utf8').verify(appPublicKey, get('sign'), 'base64')
    } catch {
      ok = false
    }
    if (!ok) return errorResponse('isv.invalid-signature')
    return null
  }

  function oauthToken(p: URLSearchParams): HostAnswer {
    const get = (k: string) => p.get(k) ?? ''
    const refused = gatewayRefusal(p, METHODS.oauth_token)
    if (refused) return refused
    if (get('grant_type') !== 'authorization_code') return errorResponse('isv.grant-type-invalid')
    const redeemed = codes.redeem(get('code'))
    if (!redeemed.ok) return errorResponse('isv.code-invalid')
    const t = now()
    const token = () => 'authusrB' + randomBytes(16).toString('hex')
    const idField = identity === 'open_id' ? { open_id: redeemed.value } : { user_id: redeemed.value }
    return signed(
      'alipay_system_oauth_token_response',
      {
        access_token: token(),
        auth_start: new Date(t + BEIJING_OFFSET_MS).toISOString().replace('T', ' ').slice(0, 19),
        expires_in: 1296000,
        re_expires_in: 2592000,
        refresh_token: token(),
        ...idField,
      },
      true,
    )
  }

  function contentDetect(p: URLSearchParams): HostAnswer {
    const refused = gatewayRefusal(p, METHODS.content_detect)
    if (refused) return refused
    let content: unknown
    try {
      content = (JSON.parse(p.get('biz_content') ?? '') as { content?: unknown } | null)?.content
    } catch {
      content = undefined
    }
    if (typeof content !== 'string' || content === '') return errorResponse('isv.invalid-parameter')
    const keywords = riskyWords.filter((w) => content.includes(w))
    return signed(
      'alipay_security_risk_content_detect_response',
      { code: '10000', msg: 'Success', action: keywords.length > 0 ? 'REJECTED' : 'PASSED', keywords, unique_id: randomBytes(15).toString('hex') },
      true,
    )
  }

  function phoneResponse(mobile: string, opts: { refused?: boolean } = {}): string {
    if (typeof mobile !== 'string' || !/^[0-9]{5,20}$/.test(mobile)) throw new TypeError('phoneResponse: mobile must be 5–20 digits')
    const plain = opts.refused
      ? { code: '40003', msg: 'Insufficient Conditions', subCode: 'isv.invalid-auth-relations', subMsg: '无效的授权关系' }
      : { code: '10000', msg: 'Success', mobile }
    const cipher = createCipheriv('aes-128-cbc', Buffer.from(aesKey, 'base64'), Buffer.alloc(16))
    const content = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]).toString('base64')
    const valueText = JSON.stringify(content) // the ciphertext in its quotes: what Alipay signs
    const sign = createSign('RSA-SHA256').update(valueText, 'utf8').sign(alipayPrivateKey, 'base64')
    return `{"response":${valueText},"sign":"${sign}","sign_type":"RSA2","encrypt_type":"AES","charset":"UTF-8"}`
  }

  const host = await startFakeHost<FakeAlipayApi, string>({
    name: 'createFakeAlipay',
    apis: ['oauth_token', 'content_detect'],
    port: options.port,
    route: (path, request) => (path !== '/gateway.do' ? undefined : gatewayParams(request).get('method') === METHODS.content_detect ? 'content_detect' : 'oauth_token'),
    checkFailure(subCode): asserts subCode is string {
      if (typeof subCode !== 'string' || !/^[a-z]+\.[a-z0-9.-]+$/i.test(subCode)) throw new TypeError("createFakeAlipay.fail: a sub_code like 'isv.code-invalid' or 'isp.unknow-error'")
    },
    failure: (_api, subCode) => errorResponse(subCode),
    answer: (api, request) => (api === 'content_detect' ? contentDetect(gatewayParams(request)) : oauthToken(gatewayParams(request))),
    mintFromControl: (body) => ({ code: mintCode(body.openid as string) }),
    controls: {
      'phone-response': (body) => ({ response: phoneResponse(body.phoneNumber as string, { refused: body.refused === true }) }),
    },
  })

  return Object.assign(host, {
    get gateway() {
      return host.url + '/gateway.do'
    },
    appId,
    alipayPublicKey,
    aesKey,
    phoneResponse,
    mintCode,
    tamper(opts: HostFaultOptions = {}) {
      if (opts.times !== undefined && (!Number.isInteger(opts.times) || opts.times < 1)) throw new TypeError('createFakeAlipay.tamper: times must be a positive integer')
      tampered = { remaining: opts.times ?? null }
    },
  })
}
