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
 * Test controls: `mintCode(openid, { unionid })`, `mintAnonymousCode(anonymousOpenid)`,
 * `encryptPhone(phoneNumber, { openid?, watermarkAppid? })`, `fail('jscode2session', errNo)`,
 * `delay`, `html`, `stop`/`start`, `calls`; `acceptAnyCode` adopts any well-formed code it has not
 * seen (single use from then on; `code-<n>-<nonce>` codes of one fake tt are one user). Over HTTP:
 * `POST /__fake/codes {openid, unionid?} | {anonymousOpenid}` → `{code}`, `POST /__fake/encrypt-phone
 * {phoneNumber, openid?, watermarkAppid?}` → `{encryptedData, iv}`, `GET /__fake/stats`.
 */
import { createHash, randomBytes } from 'node:crypto'
import { startFakeHost, type FakeAppSecretHostOptions, type FakeHostControls, type HostAnswer } from './fake-host'
import { encryptWithSessionKey, phonePlaintext } from './session-encrypt'
import { accountOfAnyCode, singleUseCodes } from './single-use-codes'

export type FakeDouyinApi = 'jscode2session'

/** Defaults: appid 'ttfakeappid000001', secret 'fake-douyin-app-secret-0000000000', codeTtlMs 180000 (3 minutes, for codes and anonymous codes). */
export type FakeDouyinOptions = FakeAppSecretHostOptions

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
}

const ERR_TIPS: Record<number, string> = { [-1]: 'system error', 40014: 'bad params', 40015: 'bad appid', 40017: 'bad secret', 40018: 'bad code', 40019: 'bad anonymous code' }

function douyinError(errNo: number): HostAnswer {
  return { json: { err_no: errNo, err_tips: ERR_TIPS[errNo] ?? 'fake failure', log_id: randomBytes(10).toString('hex').toUpperCase(), data: {} } }
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

  const host = await startFakeHost<FakeDouyinApi, number>({
    name: 'createFakeDouyin',
    apis: ['jscode2session'],
    port: options.port,
    route: (path) => (path === '/api/apps/v2/jscode2session' ? 'jscode2session' : undefined),
    checkFailure(errNo): asserts errNo is number {
      if (!Number.isInteger(errNo) || errNo === 0) throw new TypeError('createFakeDouyin.fail: err_no must be a non-zero integer')
    },
    failure: (_api, errNo) => douyinError(errNo),
    answer: (_api, request) => (request.method === 'POST' ? code2Session(request.body) : { status: 405, json: { err_no: 40014, err_tips: 'method not allowed', data: {} } }),
    mintFromControl: (body) =>
      body.anonymousOpenid !== undefined
        ? { code: mintAnonymousCode(body.anonymousOpenid as string) }
        : { code: mintCode(body.openid as string, { unionid: body.unionid as string | undefined }) },
    controls: {
      'encrypt-phone': (body) => encryptPhone(body.phoneNumber as string, { openid: body.openid as string | undefined, watermarkAppid: body.watermarkAppid as string | undefined }),
    },
  })

  return Object.assign(host, { appid, secret, mintCode, mintAnonymousCode, encryptPhone, sessionKeyOf: (openid: string) => sessionKeys.get(openid) })
}
