/**
 * What a host adapter adds to the wx-shaped `Platform`: which host it is, how many network
 * tasks the host runs at once, and how to read its phone-number credential. Types only (no
 * runtime code). Which calls a host lacks is told by the calls themselves: an adapter leaves out
 * what its host does not have (no `checkSession` on Alipay, no `authorize` there either), and
 * weapp-auth/open checks for the call it needs. The facts, with sources: docs/platforms.md.
 */
import type { Platform } from '../base/platform'

/** The value the login body carries as `platform`, so one server can route the code. */
export type HostName = 'weixin' | 'qq' | 'douyin' | 'alipay'

/** What the client posts for the phone number: whatever the host hands out, tagged with the host. */
export interface PhoneCredential {
  platform: HostName
  /** WeChat (base library 2.21.2+): a one-time code the server exchanges. */
  code?: string
  /** WeChat (older) / QQ / Douyin: data encrypted with the session key, and its IV. */
  encryptedData?: string
  iv?: string
  /** Alipay: the encrypted `response` string of my.getPhoneNumber. */
  response?: string
}

export interface HostPlatform extends Platform {
  readonly host: HostName
  /** Concurrent network tasks (request + upload + download) the host allows. */
  readonly networkTaskLimit: number
  /** The host's own login call, as messages name it (`tt.login`, `my.getAuthCode`); absent: `wx.login`. */
  readonly loginCall?: string
  /**
   * The phone-number credential in the host's own event or API result (`e.detail` of the
   * getPhoneNumber button, or my.getPhoneNumber's success result on Alipay), or null when it
   * carries none (the user refused, or an error).
   */
  phoneCredential(detail: unknown): PhoneCredential | null
}

/** login's success result on hosts that add an anonymous code (Douyin). */
export interface HostLoginResult {
  code: string
  anonymousCode?: string
  errMsg?: string
}
