/**
 * What the open abilities need from the host: the platform (the option, else the global `wx`
 * through the core's one seam, `defaultPlatform`), a check that an API exists, and the promise
 * form of a callback API.
 */
import { AuthError } from '../errors'
import { baseLibraryVersion, defaultPlatform, hasApi, type Platform } from '../platform'

export interface HostOptions {
  /** The `wx`-compatible object to call. Default: the global `wx`. */
  platform?: Platform
}

export function hostOf(options: HostOptions | undefined): Platform {
  return (options && options.platform) || defaultPlatform()
}

/** Minimum base libraries, for UNSUPPORTED messages. */
const MIN_VERSION: Record<string, string> = {
  getSetting: '1.2.0',
  authorize: '1.2.0',
  openSetting: '1.1.0',
  showModal: '1.0.0',
}

export function requireApi(platform: Platform, name: keyof Platform, helper: string): void {
  if (hasApi(platform, name)) return
  const running = baseLibraryVersion(platform)
  throw new AuthError(
    'UNSUPPORTED',
    `${helper} needs wx.${String(name)} (base library ${MIN_VERSION[name as string] || 'newer'} or later)${running ? `; this one is ${running}` : ''}. Ask users to update WeChat, or set a minimum base library in the admin console.`,
  )
}

/** Runs `fn` now; whatever it throws becomes the rejection (promise-returning helpers never throw). */
export function attempt<T>(fn: () => T | PromiseLike<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn()))
}

/** Promise form of a wx callback API. */
export function call<R>(fn: (o: { success: (r: R) => void; fail: (e: { errMsg: string; errno?: number }) => void }) => unknown): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    try {
      fn({ success: resolve, fail: (e) => reject(e || { errMsg: 'fail' }) })
    } catch (err) {
      reject({ errMsg: (err as Error) && (err as Error).message })
    }
  })
}
