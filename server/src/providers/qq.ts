/**
 * QQ mini programs' code exchange: `GET https://api.q.qq.com/sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code`
 * → `{ openid, session_key, unionid? }`, or `{ errcode, errmsg }` with -1 busy, 40029 invalid
 * code, 45011 rate limited (100 per user per minute). The shapes are WeChat's, so this provider
 * reuses the WeChat call path (createWechatApi) with 'QQ' in its messages, and QQ's errcodes map
 * as WeChat's do: 40029 → wechat_invalid_code (400), 45011 → wechat_rate_limited (429),
 * -1 → wechat_busy (503). QQ documents no separate "code used" errcode: a used code is 40029.
 * Source: https://q.qq.com/wiki/develop/miniprogram/server/open_port/port_login.html
 * (mirror read: https://m.w3cschool.cn/qqxiaochengxu/qqxiaochengxu-c5fl3875.html).
 */
import { BadRequestError, UpstreamError } from '../errors'
import type { HostSession, SessionProvider } from '../types'
import { createWechatApi } from './host-api'
import { decryptedPhone } from './session-key-phone'
import { appSecretOptions, type ProviderHttpOptions } from './provider-options'

export interface QqProviderOptions extends ProviderHttpOptions {
  /** The QQ mini program's AppID. */
  appid: string
  /** Its AppSecret (stays on the server). */
  secret: string
  /** Default 'https://api.q.qq.com'; point it at `createFakeQq().url` in tests. */
  apiBase?: string
}

const API = 'sns/jscode2session'

/** A SessionProvider for `platform: 'qq'`: pass it as `createAuthServer({ providers: { qq: qqProvider({ appid, secret }) } })`. */
export function qqProvider(options: QqProviderOptions): SessionProvider {
  const { appid, secret, base, timeoutMs, fetch } = appSecretOptions('qqProvider', options, 'https://api.q.qq.com')
  const qq = createWechatApi({ base, timeoutMs, fetch, emit: () => {}, host: 'QQ' })

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
  }
}
