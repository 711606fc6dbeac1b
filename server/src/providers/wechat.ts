/**
 * WeChat mini programs, as a provider like the other hosts (createAuthServer builds it from its
 * `appid` and `secret`):
 * - code2Session: `GET /sns/jscode2session`
 *   (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html);
 * - the phone number: the getPhoneNumber button's `code` through `POST /wxa/business/getuserphonenumber`
 *   (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-info/phone-number/getPhoneNumber.html),
 *   or the older `{ encryptedData, iv }` opened with the user's session_key (when the server allows it);
 * - the text check: msg_sec_check v2, `POST /wxa/msg_sec_check`, which takes the user's openid
 *   (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/msgSecCheck.html);
 * - the access_token: getStableAccessToken (`POST /cgi-bin/stable_token`, the default) or the
 *   classic `GET /cgi-bin/token`, shared by every instance through the store (access-token.ts).
 */
import { AuthServerError, UpstreamError } from '../errors'
import { checkWatermark } from '../decrypt'
import { createAccessTokens, tokensPerStore } from '../access-token'
import type { AuthServerEvent, HostSession, PhoneInfo, ProviderContext, SessionProvider, TextCheckResult } from '../types'
import { createWechatApi } from './host-api'
import { decryptedPhone } from './session-key-phone'

export interface WechatProviderOptions {
  appid: string
  secret: string
  /** e.g. https://api.weixin.qq.com, checked by the caller, no trailing slash. */
  base: string
  mode: 'stable' | 'classic'
  marginSeconds: number
  timeoutMs: number
  fetch: typeof fetch
  /** Told of every failed WeChat call (upstream_error). */
  emit: (event: AuthServerEvent) => void
}

export function wechatProvider(options: WechatProviderOptions): SessionProvider {
  const { appid, secret, mode } = options
  const wechat = createWechatApi({ base: options.base, timeoutMs: options.timeoutMs, fetch: options.fetch, emit: options.emit })
  const tokenApi = mode === 'stable' ? 'cgi-bin/stable_token' : 'cgi-bin/token'

  const tokensFor = tokensPerStore(({ store, now, emit }) =>
    createAccessTokens({
      store,
      key: appid,
      api: tokenApi,
      renewsExpired: mode === 'stable',
      marginSeconds: options.marginSeconds,
      now,
      emit,
      async fetchToken(force) {
        const answer =
          mode === 'stable'
            ? await wechat.call<{ access_token?: unknown; expires_in?: unknown }>(tokenApi, {
                method: 'POST',
                body: { grant_type: 'client_credential', appid, secret, force_refresh: force },
              })
            : await wechat.call<{ access_token?: unknown; expires_in?: unknown }>(tokenApi, {
                method: 'GET',
                query: { grant_type: 'client_credential', appid, secret },
              })
        return { token: answer.access_token as string, expiresInSeconds: answer.expires_in as number }
      },
    }),
  )

  async function phoneFromCode(code: string, context: ProviderContext): Promise<PhoneInfo> {
    const api = 'wxa/business/getuserphonenumber'
    const answer = await tokensFor(context).withToken((accessToken) =>
      wechat.call<{ phone_info?: { phoneNumber?: unknown; purePhoneNumber?: unknown; countryCode?: unknown; watermark?: unknown } }>(api, {
        method: 'POST',
        accessToken,
        body: { code },
      }),
    )
    const info = answer.phone_info
    if (!info || typeof info.phoneNumber !== 'string' || typeof info.purePhoneNumber !== 'string') {
      throw new UpstreamError('wechat_bad_response', api, 'WeChat getuserphonenumber answered without phone_info')
    }
    checkWatermark(info.watermark, appid)
    return { phoneNumber: info.phoneNumber, purePhoneNumber: info.purePhoneNumber, countryCode: String(info.countryCode ?? '') }
  }

  return {
    platform: 'weixin',
    appid,

    async code2Session(input): Promise<HostSession> {
      const answer = await wechat.call<{ openid?: unknown; unionid?: unknown; session_key?: unknown }>('sns/jscode2session', {
        method: 'GET',
        query: { appid, secret, js_code: input.code, grant_type: 'authorization_code' },
      })
      if (typeof answer.openid !== 'string' || answer.openid.length === 0 || typeof answer.session_key !== 'string') {
        throw new UpstreamError('wechat_bad_response', 'sns/jscode2session', 'WeChat sns/jscode2session answered without openid/session_key')
      }
      const session: HostSession = { openid: answer.openid, sessionKey: answer.session_key }
      if (typeof answer.unionid === 'string' && answer.unionid.length > 0) session.unionid = answer.unionid
      return session
    },

    phoneNumber(credential, sessionKey, context) {
      if (credential.encryptedData !== undefined) return decryptedPhone('WeChat', appid, credential, sessionKey, context?.nowMs)
      if (!context) throw new AuthServerError('internal_error', 'wechatProvider.phoneNumber needs the server context for its access_token')
      return phoneFromCode(credential.code as string, context)
    },

    async checkText(input, context): Promise<TextCheckResult> {
      const api = 'wxa/msg_sec_check'
      if (!input.openid) {
        throw new AuthServerError('session_key_expired', 'This user has no recent WeChat session (msg_sec_check needs the openid of a user seen within 2 hours); log in again')
      }
      const answer = await tokensFor(context).withToken((accessToken) =>
        wechat.call<{ result?: { suggest?: unknown; label?: unknown }; trace_id?: unknown }>(api, {
          method: 'POST',
          accessToken,
          body: { version: 2, openid: input.openid, scene: input.scene, content: input.text },
        }),
      )
      const suggest = answer.result?.suggest
      if (suggest !== 'pass' && suggest !== 'review' && suggest !== 'risky') {
        throw new UpstreamError('wechat_bad_response', api, 'WeChat msg_sec_check answered without result.suggest')
      }
      const result: TextCheckResult = { suggest, label: Number(answer.result?.label ?? 0) }
      if (typeof answer.trace_id === 'string') result.traceId = answer.trace_id
      return result
    },

    accessToken(context, opts) {
      return tokensFor(context).get(opts)
    },
  }
}
