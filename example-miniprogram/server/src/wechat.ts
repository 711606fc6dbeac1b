/**
 * The two WeChat server APIs the example needs: code2Session and getuserphonenumber (with a
 * cached access_token). With WX_APPID and WX_SECRET set they call WeChat; otherwise a built-in
 * mock keeps WeChat's rules: a code works once and for 5 minutes (errcode 40163 when reused,
 * 40029 when unknown or expired).
 */
import { createHash } from 'node:crypto'

export interface Code2Session {
  openid: string
  session_key: string
  unionid?: string
}
export class WechatError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`WeChat errcode ${errcode}: ${errmsg}`)
  }
}

export interface Wechat {
  code2Session(code: string): Promise<Code2Session>
  phoneNumber(code: string): Promise<{ phoneNumber: string; purePhoneNumber: string; countryCode: string }>
  readonly mocked: boolean
}

const CODE_TTL_MS = 5 * 60 * 1000

/** Offline stand-in for WeChat. Codes look like those of wx.login (any non-empty token of 6–128 safe characters). */
export function createMockWechat(now: () => number = Date.now): Wechat {
  const seen = new Map<string, number>()
  return {
    mocked: true,
    async code2Session(code) {
      if (!/^[A-Za-z0-9_-]{6,128}$/.test(code)) throw new WechatError(40029, 'invalid code')
      if (seen.has(code)) throw new WechatError(40163, 'code been used')
      seen.set(code, now())
      // A code minted more than 5 minutes ago would be expired; the mock only sees first use.
      for (const [c, at] of seen) if (now() - at > CODE_TTL_MS) seen.delete(c)
      // One user per WeChat account: the mock derives a stable openid from the code's account part.
      const account = code.replace(/-[^-]*$/, '').replace(/^code-\d+$/, 'demo')
      const openid = 'o' + createHash('sha256').update('openid:' + account).digest('hex').slice(0, 27)
      return { openid, session_key: createHash('sha256').update('sk:' + code).digest('base64').slice(0, 24) }
    },
    async phoneNumber(code) {
      if (!/^[A-Za-z0-9_-]{4,128}$/.test(code)) throw new WechatError(40029, 'invalid code')
      const digits = createHash('sha256').update(code).digest('hex').replace(/[a-f]/g, '').padEnd(8, '7')
      const pure = '138' + digits.slice(0, 8)
      return { phoneNumber: pure, purePhoneNumber: pure, countryCode: '86' }
    },
  }
}

/** The real WeChat APIs (needs network access to api.weixin.qq.com). */
export function createRealWechat(appid: string, secret: string): Wechat {
  let accessToken: { value: string; expiresAt: number } | null = null
  async function getJson(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
    const res = await fetch(url, init)
    return (await res.json()) as Record<string, unknown>
  }
  function check(data: Record<string, unknown>): void {
    if (typeof data.errcode === 'number' && data.errcode !== 0) throw new WechatError(data.errcode, String(data.errmsg || ''))
  }
  async function token(): Promise<string> {
    // Rule 7: access_token is cached on the server, refreshed 5 minutes before it expires.
    if (accessToken && accessToken.expiresAt > Date.now() + 300_000) return accessToken.value
    const data = await getJson(`https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`)
    check(data)
    accessToken = { value: String(data.access_token), expiresAt: Date.now() + Number(data.expires_in) * 1000 }
    return accessToken.value
  }
  return {
    mocked: false,
    async code2Session(code) {
      const q = new URLSearchParams({ appid, secret, js_code: code, grant_type: 'authorization_code' })
      const data = await getJson('https://api.weixin.qq.com/sns/jscode2session?' + q)
      check(data)
      return data as unknown as Code2Session
    },
    async phoneNumber(code) {
      const data = await getJson(`https://api.weixin.qq.com/wxa/business/getuserphonenumber?access_token=${await token()}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      })
      check(data)
      return data.phone_info as { phoneNumber: string; purePhoneNumber: string; countryCode: string }
    },
  }
}
