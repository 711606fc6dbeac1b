/**
 * What a host adapter adds to the wx-shaped `Platform`: which host it is, how many network
 * tasks the host runs at once, what it can tell about the session, and which open abilities it
 * has. Types only (no runtime code), so an adapter costs nothing for what it does not use.
 * The facts behind each value, with sources: docs/platforms.md.
 */
import type { Platform } from '../platform'

/** The value the login body carries as `platform`, so one server can route the code. */
export type HostName = 'weixin' | 'qq' | 'douyin' | 'alipay'

/**
 * Open abilities a host may have:
 * - `scopes`: authorize / getSetting / openSetting (or the host's equivalent);
 * - `privacy`: getPrivacySetting / requirePrivacyAuthorize (WeChat's privacy contract);
 * - `phoneNumber`: a phone-number credential for the server to decrypt or exchange;
 * - `avatar`: a chosen avatar as a temp file to upload.
 */
export type OpenAbility = 'scopes' | 'authorize' | 'privacy' | 'phoneNumber' | 'avatar'

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
  /**
   * `'host'`: `checkSession` asks the host whether its login session is still valid.
   * `'unknown'`: the host has no such call (Alipay); `checkSession` is absent, and the SDK relies
   * on token expiry and the server's 401.
   */
  readonly sessionCheck: 'host' | 'unknown'
  readonly abilities: readonly OpenAbility[]
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
