/**
 * A fake Douyin mini program server API over real HTTP: point `douyinProvider({ apiBase: fake.url })`
 * at it. It keeps Douyin's rules for code2Session v2,
 * `POST /api/apps/v2/jscode2session`, JSON `{ appid, secret, code?, anonymous_code? }` (at least one
 * code; each works once) → HTTP 200 `{ err_no, err_tips, log_id, data }`; with a `code`, `data` has
 * `session_key`, `openid` and `unionid`; with an `anonymous_code`, `anonymous_openid`
 * (https://developer.open-douyin.com/docs/resource/zh-CN/mini-app/develop/server/log-in/code-2-session,
 * https://partner.open-douyin.com/docs/resource/zh-CN/interaction/develop/server/log-in/code-2-session).
 * err_no: -1 system error, 40015 bad appid, 40017 bad secret, 40018 bad code, 40019 bad
 * anonymous_code, 40014 for empty parameters (the v1 table, https://m.w3cschool.cn/microapp/microapp-jdxg36av.html,
 * says "其它: 参数为空" without a number; 40014 is the fake's pick). Codes last 3 minutes
 * (@douyin-microapp/typings api/login.d.ts, as docs/platforms.md notes). Fields a request did not
 * earn come back as empty strings, and an error's `data` is `{}` (unverified: the fake picks the
 * shape a careless client would trip on). When both codes come, both are checked before either is
 * used up.
 *
 * The phone number (the getPhoneNumber button's older form, which the server decrypts): `encryptPhone`
 * hands out `{ encryptedData, iv }` of `{ phoneNumber, purePhoneNumber, countryCode, watermark }`
 * encrypted with the user's latest session_key (session-encrypt.ts).
 *
 * The open platform, on the same URL (so `apiBase` and `openApiBase` can both point here; the
 * endpoints and shapes of the phone API are UNVERIFIED, see providers/douyin.ts):
 * - `POST /oauth/client_token/` `{ client_key, client_secret, grant_type: 'client_credential' }` →
 *   `{ data: { access_token: 'clt.…', description, error_code: 0, expires_in: 7200 }, message }`;
 *   `data.error_code` 10002 bad parameters, 10003 unknown client_key, 10013 wrong secret. A token
 *   lasts 7200 s; a new one cuts the previous one to 5 more minutes.
 * - `POST /api/apps/v1/get_phonenumber_info/`, header `access-token`, `{ code }` → `{ err_no: 0, err_msg,
 *   log_id, data }`, `data` the base64 RSA ciphertext (PKCS#1 v1.5, or OAEP-SHA-1 with `rsaPadding`,
 *   in blocks when longer than one) of `{ phoneNumber, purePhoneNumber, countryCode, watermark:
 *   { appid, timestamp } }` under the APPLICATION PUBLIC KEY (`appPublicKey`; by default a fresh
 *   RSA-2048 pair whose private half is `appPrivateKey`). err_no 28001003 token invalid, 28001008
 *   token expired, 28001007 for a code that is unknown, used or past its 5 minutes (the fake's pick).
 * - `POST /api/v2/tags/text/antidirt`, header `X-Token` (or `access-token`), `{ tasks: [{ content }] }`
 *   → `{ log_id, data: [{ code: 0, task_id, data_id: null, cached: false, predicts: [{ prob, hit,
 *   model_name: 'antidirt', target: 'default' }], msg: 'ok' }] }`, `prob` 1 and `hit` true when the
 *   content holds one of `riskyWords` (default '违规', 'risky-word'); a bad token → HTTP 401
 *   `{ error_id, code: 401, message: 'Authentication credentials were not provided.', exception }`;
 *   no tasks → HTTP 400 `{ error_id, code: 400, … }`.
 *
 * Test controls: `mintCode(openid, { unionid })`, `mintAnonymousCode(anonymousOpenid)`,
 * `encryptPhone(phoneNumber, { openid?, watermarkAppid? })`, `mintPhoneCode(phoneNumber,
 * { watermarkAppid? })` (single use, 5 minutes), `invalidateAccessTokens()` / `expireAccessTokens()`
 * (every client_token issued so far), `fail(api, code)` (api 'jscode2session' | 'client_token' |
 * 'get_phonenumber_info' | 'antidirt', each answering its own error shape: err_no, data.error_code,
 * err_no, or `{ error_id, code }` with that HTTP status when it is one), `delay`, `html`,
 * `stop`/`start`, `calls`; `acceptAnyCode` adopts any well-formed login code it has not seen
 * (single use from then on; `code-<n>-<nonce>` codes of one fake tt are one user). Over HTTP:
 * `POST /__fake/codes {openid, unionid?} | {anonymousOpenid}` → `{code}`, `POST /__fake/encrypt-phone
 * {phoneNumber, openid?, watermarkAppid?}` → `{encryptedData, iv}`, `POST /__fake/phone-codes
 * {phoneNumber, watermarkAppid?}` → `{code}`, `POST /__fake/invalidate-tokens` → `{ok}`,
 * `GET /__fake/stats`.
 */
import { constants, createHash, createPublicKey, generateKeyPairSync, KeyObject, publicEncrypt, randomBytes, randomUUID } from 'node:crypto'
import { startFakeHost, type FakeAppSecretHostOptions, type FakeHostControls, type HostAnswer, type HostRequest } from './fake-host'
import { encryptWithSessionKey, phonePlaintext } from './session-encrypt'
import { accountOfAnyCode, singleUseCodes } from './single-use-codes'

export type FakeDouyinApi = 'jscode2session' | 'client_token' | 'get_phonenumber_info' | 'antidirt'

export const FAKE_DOUYIN_APIS: readonly FakeDouyinApi[] = ['jscode2session', 'client_token', 'get_phonenumber_info', 'antidirt']

/** Defaults: appid 'ttfakeappid000001', secret 'fake-douyin-app-secret-0000000000', codeTtlMs 180000 (3 minutes, for codes and anonymous codes). */
export interface FakeDouyinOptions extends FakeAppSecretHostOptions {
  /** The application public key (PEM or KeyObject) phone numbers are encrypted with. Default: a fresh RSA-2048 pair (see `appPrivateKey`). */
  appPublicKey?: string | KeyObject
  /** How the phone number is RSA-encrypted: 'pkcs1' (PKCS#1 v1.5, default) or 'oaep' (SHA-1). */
  rsaPadding?: 'pkcs1' | 'oaep'
  /** Text holding any of these is risky. Default ['违规', 'risky-word']. */
  riskyWords?: string[]
  /** How long a getPhoneNumber code works, in ms. Default 300000 (5 minutes). */
  phoneCodeTtlMs?: number
}

export interface FakeDouyin extends FakeHostControls<FakeDouyinApi, number> {
  readonly appid: string
  readonly secret: string
  /** A new single-use login code (what `tt.login` hands a logged-in user as `code`). */
  mintCode(openid: string, options?: { unionid?: string }): string
  /** A new single-use anonymous code (what `tt.login` hands as `anonymousCode`, also to a guest). */
  mintAnonymousCode(anonymousOpenid: string): string
  sessionKeyOf(openid: string): string | undefined
  /**
   * `{ encryptedData, iv }` of this phone number, as the getPhoneNumber button hands it out, encrypted
   * with the user's latest session_key. `openid` defaults to the user of the latest code2Session;
   * `watermarkAppid` (default this app's) forges another app's data.
   */
  encryptPhone(phoneNumber: string, options?: { openid?: string; watermarkAppid?: string }): { encryptedData: string; iv: string }
  /** The private half (PKCS#8 PEM) of the key pair the fake made when it was given no `appPublicKey`; else undefined. */
  readonly appPrivateKey: string | undefined
  /** A new single-use getPhoneNumber code (what the button hands out, base library 3.51.0+) for this number; `watermarkAppid` forges another app's. */
  mintPhoneCode(phoneNumber: string, options?: { watermarkAppid?: string }): string
  /** Every client_token issued so far stops working (28001003; 401 on antidirt), as a revoked token would. */
  invalidateAccessTokens(): void
  /** Every client_token issued so far is past its time (28001008; 401 on antidirt). */
  expireAccessTokens(): void
}

const ERR_TIPS: Record<number, string> = { [-1]: 'system error', 40014: 'bad params', 40015: 'bad appid', 40017: 'bad secret', 40018: 'bad code', 40019: 'bad anonymous code' }
const OPEN_ERR_MSG: Record<number, string> = {
  [-1]: 'system error',
  28001003: 'access_token无效',
  28001005: '系统内部错误,请重试',
  28001007: '参数不合法',
  28001008: 'access_token过期,请刷新或重新授权',
  10002: '参数错误',
  10003: 'client_key 不存在',
  10013: 'client_key 或者 client_secret 报错',
}
const TOKEN_TTL_MS = 7200_000
/** A new client_token leaves the previous one valid for this long. */
const TOKEN_OVERLAP_MS = 5 * 60_000
const NOT_AUTHENTICATED = 'Authentication credentials were not provided.'

const logId = () => randomBytes(10).toString('hex').toUpperCase()

function douyinError(errNo: number): HostAnswer {
  return { json: { err_no: errNo, err_tips: ERR_TIPS[errNo] ?? 'fake failure', log_id: logId(), data: {} } }
}

function tokenError(errorCode: number): HostAnswer {
  return { json: { data: { description: OPEN_ERR_MSG[errorCode] ?? 'fake failure', error_code: errorCode }, message: 'error' } }
}

function phoneError(errNo: number, message?: string): HostAnswer {
  return { json: { err_no: errNo, err_msg: message ?? OPEN_ERR_MSG[errNo] ?? 'fake failure', log_id: logId() } }
}

function antidirtError(code: number, message: string): HostAnswer {
  return { status: code >= 400 && code <= 599 ? code : 200, json: { error_id: randomUUID(), code, message, exception: message } }
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const body: unknown = JSON.parse(text)
    return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function header(request: HostRequest, name: string): string {
  const value = request.headers[name]
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '')
}

export async function createFakeDouyin(options: FakeDouyinOptions = {}): Promise<FakeDouyin> {
  const appid = options.appid ?? 'ttfakeappid000001'
  const secret = options.secret ?? 'fake-douyin-app-secret-0000000000'
  const now = options.now ?? Date.now
  const ttlMs = options.codeTtlMs ?? 180_000
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('createFakeDouyin: codeTtlMs must be a positive number')
  const idFor = (kind: string, account: string) => createHash('sha256').update(`${kind}:${appid}:${account}`).digest('hex').slice(0, 32)
  const adopt = <T>(make: (account: string) => T) => (options.acceptAnyCode ? (code: string) => {
    const account = accountOfAnyCode(code)
    return account === undefined ? undefined : make(account)
  } : undefined)
  const codes = singleUseCodes<{ openid: string; unionid?: string }>({ ttlMs, now, adopt: adopt((a) => ({ openid: '_000' + idFor('openid', a) })) })
  const anonymousCodes = singleUseCodes<string>({ ttlMs, now, adopt: adopt((a) => idFor('anonymous', a)) })
  const sessionKeys = new Map<string, string>()
  let latestOpenid: string | undefined

  const riskyWords = options.riskyWords ?? ['违规', 'risky-word']
  if (!Array.isArray(riskyWords) || riskyWords.some((w) => typeof w !== 'string' || w === '')) throw new TypeError('createFakeDouyin: riskyWords must be non-empty strings')
  const rsaPadding = options.rsaPadding ?? 'pkcs1'
  if (rsaPadding !== 'pkcs1' && rsaPadding !== 'oaep') throw new TypeError("createFakeDouyin: rsaPadding must be 'pkcs1' or 'oaep'")
  const phoneTtlMs = options.phoneCodeTtlMs ?? 300_000
  if (!Number.isFinite(phoneTtlMs) || phoneTtlMs <= 0) throw new TypeError('createFakeDouyin: phoneCodeTtlMs must be a positive number')
  let appPrivateKey: string | undefined
  let appPublicKey: KeyObject
  if (options.appPublicKey === undefined) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
    appPublicKey = pair.publicKey
    appPrivateKey = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
  } else {
    appPublicKey = createPublicKey(options.appPublicKey)
  }
  if (appPublicKey.asymmetricKeyType !== 'rsa') throw new TypeError('createFakeDouyin: appPublicKey must be an RSA public key')
  const blockBytes = Math.ceil((appPublicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8)
  const chunkBytes = blockBytes - (rsaPadding === 'pkcs1' ? 11 : 42)
  const phoneCodes = singleUseCodes<{ phoneNumber: string; watermarkAppid: string }>({ ttlMs: phoneTtlMs, now })

  /** client_tokens: when each stops working, and whether it was revoked. */
  const tokens = new Map<string, { expiresAt: number; revoked: boolean }>()
  let latestToken: string | undefined

  function issueToken(): string {
    const at = now()
    const previous = latestToken === undefined ? undefined : tokens.get(latestToken)
    if (previous) previous.expiresAt = Math.min(previous.expiresAt, at + TOKEN_OVERLAP_MS)
    const token = 'clt.' + randomBytes(24).toString('hex')
    tokens.set(token, { expiresAt: at + TOKEN_TTL_MS, revoked: false })
    latestToken = token
    return token
  }

  function tokenState(token: string): 'ok' | 'invalid' | 'expired' {
    const entry = tokens.get(token)
    if (!entry || entry.revoked) return 'invalid'
    return now() >= entry.expiresAt ? 'expired' : 'ok'
  }

  function encryptForApp(plaintext: Record<string, unknown>): string {
    const bytes = Buffer.from(JSON.stringify(plaintext), 'utf8')
    const padding = rsaPadding === 'pkcs1' ? constants.RSA_PKCS1_PADDING : constants.RSA_PKCS1_OAEP_PADDING
    const blocks: Buffer[] = []
    for (let at = 0; at < bytes.length; at += chunkBytes) blocks.push(publicEncrypt({ key: appPublicKey, padding, oaepHash: 'sha1' }, bytes.subarray(at, at + chunkBytes)))
    return Buffer.concat(blocks).toString('base64')
  }

  function mintPhoneCode(phoneNumber: string, opts: { watermarkAppid?: string } = {}): string {
    phonePlaintext(phoneNumber, appid, now()) // checks the number
    if (opts.watermarkAppid !== undefined && (typeof opts.watermarkAppid !== 'string' || opts.watermarkAppid === '')) throw new TypeError('mintPhoneCode: watermarkAppid must be a non-empty string')
    return phoneCodes.mint({ phoneNumber, watermarkAppid: opts.watermarkAppid ?? appid })
  }

  function clientToken(text: string): HostAnswer {
    const b = jsonObject(text)
    if (!b || typeof b.client_key !== 'string' || b.client_key === '' || typeof b.client_secret !== 'string' || b.client_secret === '' || b.grant_type !== 'client_credential') return tokenError(10002)
    if (b.client_key !== appid) return tokenError(10003)
    if (b.client_secret !== secret) return tokenError(10013)
    return { json: { data: { access_token: issueToken(), description: '', error_code: 0, expires_in: TOKEN_TTL_MS / 1000 }, message: 'success' } }
  }

  function phoneNumberInfo(request: HostRequest): HostAnswer {
    const state = tokenState(header(request, 'access-token'))
    if (state === 'invalid') return phoneError(28001003)
    if (state === 'expired') return phoneError(28001008)
    const b = jsonObject(request.body)
    if (!b || typeof b.code !== 'string' || b.code === '') return phoneError(28001007, 'code is required')
    const redeemed = phoneCodes.redeem(b.code)
    if (!redeemed.ok) return phoneError(28001007, `code ${redeemed.reason === 'unknown' ? 'invalid' : redeemed.reason}`)
    const { phoneNumber, watermarkAppid } = redeemed.value
    return { json: { err_no: 0, err_msg: '', log_id: logId(), data: encryptForApp(phonePlaintext(phoneNumber, watermarkAppid, now())) } }
  }

  function antidirt(request: HostRequest): HostAnswer {
    const token = header(request, 'x-token') || header(request, 'access-token')
    if (tokenState(token) !== 'ok') return antidirtError(401, NOT_AUTHENTICATED)
    const b = jsonObject(request.body)
    const tasks = b?.tasks
    if (!Array.isArray(tasks) || tasks.length === 0) return antidirtError(400, 'tasks must be a non-empty list')
    if (tasks.some((t) => t === null || typeof t !== 'object' || typeof (t as { content?: unknown }).content !== 'string')) return antidirtError(400, 'each task needs a content string')
    const data = tasks.map((t) => {
      const risky = riskyWords.some((w) => (t as { content: string }).content.includes(w))
      return { code: 0, task_id: randomUUID(), data_id: null, cached: false, predicts: [{ prob: risky ? 1 : 0, hit: risky, model_name: 'antidirt', target: 'default' }], msg: 'ok' }
    })
    return { json: { log_id: logId(), data } }
  }

  function markTokens(change: (entry: { expiresAt: number; revoked: boolean }) => void): void {
    for (const entry of tokens.values()) change(entry)
  }

  function encryptPhone(phoneNumber: string, opts: { openid?: string; watermarkAppid?: string } = {}): { encryptedData: string; iv: string } {
    const openid = opts.openid ?? latestOpenid
    const sessionKey = openid === undefined ? undefined : sessionKeys.get(openid)
    if (!openid || !sessionKey) throw new TypeError(`encryptPhone: ${openid ? openid + ' has' : 'there is'} no session_key yet (no code2Session with a code)`)
    return encryptWithSessionKey(sessionKey, phonePlaintext(phoneNumber, opts.watermarkAppid ?? appid, now()))
  }

  function mintCode(openid: string, opts: { unionid?: string } = {}): string {
    if (typeof openid !== 'string' || openid === '') throw new TypeError('mintCode: openid must be a non-empty string')
    if (opts.unionid !== undefined && (typeof opts.unionid !== 'string' || opts.unionid === '')) throw new TypeError('mintCode: unionid must be a non-empty string')
    return codes.mint({ openid, unionid: opts.unionid })
  }
  function mintAnonymousCode(anonymousOpenid: string): string {
    if (typeof anonymousOpenid !== 'string' || anonymousOpenid === '') throw new TypeError('mintAnonymousCode: anonymousOpenid must be a non-empty string')
    return anonymousCodes.mint(anonymousOpenid)
  }

  function code2Session(text: string): HostAnswer {
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return douyinError(40014)
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return douyinError(40014)
    const b = body as Record<string, unknown>
    const str = (v: unknown) => (typeof v === 'string' ? v : '')
    if (str(b.appid) === '' || str(b.secret) === '') return douyinError(40014)
    if (b.appid !== appid) return douyinError(40015)
    if (b.secret !== secret) return douyinError(40017)
    const code = str(b.code)
    const anonymousCode = str(b.anonymous_code)
    if (code === '' && anonymousCode === '') return douyinError(40014)
    if (code !== '' && !codes.check(code).ok) return douyinError(40018)
    if (anonymousCode !== '' && !anonymousCodes.check(anonymousCode).ok) return douyinError(40019)
    const data = { session_key: '', openid: '', anonymous_openid: '', unionid: '' }
    if (code !== '') {
      const redeemed = codes.redeem(code)
      if (!redeemed.ok) return douyinError(40018)
      data.openid = redeemed.value.openid
      data.unionid = redeemed.value.unionid ?? ''
      data.session_key = randomBytes(16).toString('base64')
      sessionKeys.set(data.openid, data.session_key)
      latestOpenid = data.openid
    }
    if (anonymousCode !== '') {
      const redeemed = anonymousCodes.redeem(anonymousCode)
      if (!redeemed.ok) return douyinError(40019)
      data.anonymous_openid = redeemed.value
    }
    return { json: { err_no: 0, err_tips: 'success', log_id: randomBytes(10).toString('hex').toUpperCase(), data } }
  }

  const routes: Record<string, FakeDouyinApi> = {
    '/api/apps/v2/jscode2session': 'jscode2session',
    '/oauth/client_token/': 'client_token',
    '/api/apps/v1/get_phonenumber_info/': 'get_phonenumber_info',
    '/api/v2/tags/text/antidirt': 'antidirt',
  }
  const invalidateAccessTokens = () => markTokens((entry) => void (entry.revoked = true))
  const expireAccessTokens = () => markTokens((entry) => void (entry.expiresAt = Math.min(entry.expiresAt, now())))

  const host = await startFakeHost<FakeDouyinApi, number>({
    name: 'createFakeDouyin',
    apis: FAKE_DOUYIN_APIS,
    port: options.port,
    route: (path) => (Object.prototype.hasOwnProperty.call(routes, path) ? routes[path] : undefined),
    checkFailure(errNo): asserts errNo is number {
      if (!Number.isInteger(errNo) || errNo === 0) throw new TypeError('createFakeDouyin.fail: the error code must be a non-zero integer')
    },
    failure: (api, code) =>
      api === 'client_token' ? tokenError(code) : api === 'get_phonenumber_info' ? phoneError(code) : api === 'antidirt' ? antidirtError(code, 'fake failure') : douyinError(code),
    answer(api, request) {
      if (request.method !== 'POST') return { status: 405, json: { err_no: 40014, err_tips: 'method not allowed', data: {} } }
      if (api === 'client_token') return clientToken(request.body)
      if (api === 'get_phonenumber_info') return phoneNumberInfo(request)
      if (api === 'antidirt') return antidirt(request)
      return code2Session(request.body)
    },
    mintFromControl: (body) =>
      body.anonymousOpenid !== undefined
        ? { code: mintAnonymousCode(body.anonymousOpenid as string) }
        : { code: mintCode(body.openid as string, { unionid: body.unionid as string | undefined }) },
    controls: {
      'encrypt-phone': (body) => encryptPhone(body.phoneNumber as string, { openid: body.openid as string | undefined, watermarkAppid: body.watermarkAppid as string | undefined }),
      'phone-codes': (body) => ({ code: mintPhoneCode(body.phoneNumber as string, { watermarkAppid: body.watermarkAppid as string | undefined }) }),
      'invalidate-tokens': () => {
        invalidateAccessTokens()
        return { ok: true }
      },
    },
  })

  return Object.assign(host, {
    appid,
    secret,
    appPrivateKey,
    mintCode,
    mintAnonymousCode,
    encryptPhone,
    mintPhoneCode,
    invalidateAccessTokens,
    expireAccessTokens,
    sessionKeyOf: (openid: string) => sessionKeys.get(openid),
  })
}
