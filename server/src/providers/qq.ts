/**
 * QQ mini programs, as a provider (`createAuthServer({ providers: { qq: qqProvider({ appid, secret }) } })`):
 *
 * - code2Session: `GET https://api.q.qq.com/sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code`
 *   → `{ openid, session_key, unionid? }`, or `{ errcode, errmsg }` with -1 busy, 40029 invalid
 *   code, 45011 rate limited (100 per user per minute). The shapes are WeChat's, so this provider
 *   reuses the WeChat call path (createWechatApi) with 'QQ' in its messages, and QQ's errcodes map
 *   as WeChat's do: 40029 → wechat_invalid_code (400), 45011 → wechat_rate_limited (429),
 *   -1 → wechat_busy (503). QQ documents no separate "code used" errcode: a used code is 40029.
 *   Source: https://q.qq.com/wiki/develop/miniprogram/server/open_port/port_login.html
 *   (mirror read: https://m.w3cschool.cn/qqxiaochengxu/qqxiaochengxu-c5fl3875.html).
 * - the phone number: the getPhoneNumber button's `{ encryptedData, iv }`, opened with the user's session_key.
 * - the access_token: `GET https://api.q.qq.com/api/getToken?grant_type=client_credential&appid=&secret=`
 *   → `{ access_token, expires_in: 7200 }`, or `{ errcode, errmsg }`: -1 busy, 40001 wrong AppSecret,
 *   40002 wrong grant_type, 40013 wrong AppID. "重复获取将导致上次获取的 access_token 失效": every
 *   call invalidates the previous token, so the kit shares ONE token through the store (key
 *   `qq:<appid>`, never WeChat's) and one instance renews it for all (access-token.ts).
 *   Source: https://q.qq.com/wiki/develop/miniprogram/server/open_port/port_use.html
 *   (and https://q.qq.com/wiki/develop/game/server/open-port/getAccessToken.html).
 * - the text check: security.msgSecCheck, `POST https://api.q.qq.com/api/json/security/MsgSecCheck?access_token=`,
 *   JSON `{ appid, content }` (no openid, no scene) → `{ errCode: 0, errMsg: 'ok' }`, or
 *   `{ errCode: 87014, errMsg: 'risky content' }`. Note the camelCase `errCode`: createWechatApi
 *   reads only `errcode`, so this provider reads `errCode` itself. 4000 calls a minute per appId.
 *   Source: https://q.qq.com/wiki/develop/miniprogram/server/open_port/port_safe.html
 *   (and https://q.qq.com/wiki/develop/game/server/open-port/content-safe.html).
 *   The page lists no token errors. ASSUMED (as WeChat, whose API QQ's copies): errCode or errcode
 *   40001 / 40014 / 42001 mean "this access_token is no good" (renewed once, and the check retried
 *   once); any other non-zero code is a WechatApiError with host 'QQ' (-1 → wechat_busy 503,
 *   45011 → wechat_rate_limited 429, others → wechat_error 502).
 */
import { BadRequestError, ConfigError, UpstreamError, WechatApiError } from '../errors'
import { createAccessTokens, tokensPerStore, type TokenFailure } from '../access-token'
import type { AuthServerEvent, HostSession, SessionProvider, TextCheckResult } from '../types'
import { createWechatApi, redactUrl } from './host-api'
import { decryptedPhone } from './session-key-phone'
import { appSecretOptions, type ProviderHttpOptions } from './provider-options'

export interface QqProviderOptions extends ProviderHttpOptions {
  /** The QQ mini program's AppID. */
  appid: string
  /** Its AppSecret (stays on the server). */
  secret: string
  /** Default 'https://api.q.qq.com'; point it at `createFakeQq().url` in tests. */
  apiBase?: string
  /** Renew the shared access_token when less than this many seconds are left. Default 300 (QQ's lasts 7200). */
  accessTokenMarginSeconds?: number
}

const API = 'sns/jscode2session'
const TOKEN_API = 'api/getToken'
const CHECK_API = 'api/json/security/MsgSecCheck'
/** security.msgSecCheck's verdict for risky content. */
const QQ_RISKY_ERRCODE = 87014
/** Assumed (QQ documents none for MsgSecCheck): WeChat's "access_token no good" codes. */
const QQ_TOKEN_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001])

/**
 * How a failed QQ call reads for the shared token. QQ's getToken has no normal/forced modes (each
 * call hands out a new token), so 'expired' and 'invalid' both end in one new token.
 */
function qqTokenFailure(err: unknown): TokenFailure {
  if (!(err instanceof WechatApiError) || err.host !== 'QQ' || !QQ_TOKEN_ERRCODES.has(err.errcode)) return null
  return err.errcode === 42001 ? 'expired' : 'invalid'
}

function numeric(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value)
  return undefined
}

/** A SessionProvider for `platform: 'qq'`: pass it as `createAuthServer({ providers: { qq: qqProvider({ appid, secret }) } })`. */
export function qqProvider(options: QqProviderOptions): SessionProvider {
  const { appid, secret, base, timeoutMs, fetch } = appSecretOptions('qqProvider', options, 'https://api.q.qq.com')
  const marginSeconds = options.accessTokenMarginSeconds ?? 300
  if (typeof marginSeconds !== 'number' || !Number.isFinite(marginSeconds) || marginSeconds < 0 || marginSeconds >= 7200) {
    throw new ConfigError('qqProvider: accessTokenMarginSeconds must be a number of seconds from 0 to below 7200 (the token lasts 7200)')
  }
  const apiFor = (emit: (event: AuthServerEvent) => void) => createWechatApi({ base, timeoutMs, fetch, emit, host: 'QQ' })
  const qq = apiFor(() => {})

  const tokensFor = tokensPerStore(({ store, now, emit }) => {
    const api = apiFor(emit)
    return createAccessTokens({
      store,
      key: `qq:${appid}`,
      api: TOKEN_API,
      host: 'QQ',
      // One getToken call: QQ has no forced mode, every call is a new token (and the old one stops).
      async fetchToken() {
        const answer = await api.call<{ access_token?: unknown; expires_in?: unknown }>(TOKEN_API, {
          method: 'GET',
          query: { grant_type: 'client_credential', appid, secret },
        })
        return { token: answer.access_token as string, expiresInSeconds: answer.expires_in as number }
      },
      tokenFailure: qqTokenFailure,
      // A normal renewal is no cure for an expired token (there is no normal mode): straight to one new token.
      renewsExpired: false,
      // QQ documents no daily cap on getToken.
      forceDailyLimit: Infinity,
      // QQ documents no gap either; the kit keeps one, a little longer than one getToken call, so
      // that instances that see the same rejected token at once fetch ONE new token (a second
      // fetch would invalidate the first one's); the others wait for it in the store.
      forceGapMs: timeoutMs + 1000,
      marginSeconds,
      now,
      emit,
    })
  })

  return {
    platform: 'qq',
    appid,
    phoneNumber(credential, sessionKey, context) {
      return decryptedPhone('QQ', appid, credential, sessionKey, context?.nowMs)
    },
    async code2Session(input): Promise<HostSession> {
      const code = input?.code
      if (typeof code !== 'string' || code === '') throw new BadRequestError('code_required', 'qq: code is required')
      const answer = await qq.call<{ openid?: unknown; session_key?: unknown; unionid?: unknown }>(API, {
        method: 'GET',
        query: { appid, secret, js_code: code, grant_type: 'authorization_code' },
      })
      if (typeof answer.openid !== 'string' || answer.openid === '' || typeof answer.session_key !== 'string' || answer.session_key === '') {
        throw new UpstreamError('wechat_bad_response', API, `QQ ${API} answered without openid/session_key`)
      }
      const session: HostSession = { openid: answer.openid, sessionKey: answer.session_key }
      if (typeof answer.unionid === 'string' && answer.unionid !== '') session.unionid = answer.unionid
      return session
    },

    /** security.msgSecCheck: 87014 → risky (label 87014), 0 → pass (label 0). QQ has no 'review'; `scene` and `openid` are not sent. */
    async checkText(input, context): Promise<TextCheckResult> {
      const failed = (err: unknown): never => {
        if (err instanceof UpstreamError || err instanceof WechatApiError) context.emit({ type: 'upstream_error', api: CHECK_API, code: err.code })
        throw err
      }
      const errCode = await tokensFor(context).withToken(async (accessToken) => {
        let answer: { errCode?: unknown; errMsg?: unknown; errcode?: unknown }
        try {
          answer = await qq.call(CHECK_API, { method: 'POST', accessToken, body: { appid, content: input.text } })
        } catch (err) {
          // A lower-case errcode (WeChat's spelling) comes back from call() as a WechatApiError: read 87014 as the verdict it is.
          if (err instanceof WechatApiError && err.errcode === QQ_RISKY_ERRCODE) return QQ_RISKY_ERRCODE
          return failed(err)
        }
        const code = numeric(answer.errCode ?? answer.errcode)
        if (code === undefined) return failed(new UpstreamError('wechat_bad_response', CHECK_API, `QQ ${CHECK_API} answered without a numeric errCode`))
        if (code !== 0 && code !== QQ_RISKY_ERRCODE) {
          // Thrown inside withToken, so that a token errCode (40001/40014/42001) renews the token once and retries.
          return failed(new WechatApiError(CHECK_API, code, redactUrl(typeof answer.errMsg === 'string' ? answer.errMsg : ''), { host: 'QQ' }))
        }
        return code
      })
      return errCode === QQ_RISKY_ERRCODE ? { suggest: 'risky', label: QQ_RISKY_ERRCODE } : { suggest: 'pass', label: 0 }
    },

    accessToken(context, opts) {
      return tokensFor(context).get(opts)
    },
  }
}
