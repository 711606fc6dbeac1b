/**
 * The privacy agreement (WeChat base library 2.32.3+): wait for it, or let a page show its own
 * popup. No auth instance needed: only the host. Where the privacy API is absent there is
 * nothing to agree to, and both helpers do nothing: on WeChat base libraries before it, and on
 * hosts without such a contract (QQ, Douyin and Alipay declare none: docs/platforms.md, "Client:
 * open abilities"). A host that gains the calls under wx's names is served as WeChat is.
 */
import { AuthError } from '../base/errors'
import { hasApi } from '../base/platform'
import { attempt, call, callOr, hostOf, type HostOptions } from './host'

export interface PrivacyRequest {
  /** The user agreed in your popup (pass the id of the `agreePrivacyAuthorization` button). */
  agree(buttonId?: string): void
  /** The user declined. */
  disagree(): void
  /** What triggered the request, e.g. the API name. */
  referrer?: string
}

/** Resolves once the privacy terms are agreed (at once when there is nothing to agree to); rejects PRIVACY_DENIED. */
export function ensurePrivacyAuthorized(options?: HostOptions): Promise<void> {
  return attempt(() => {
    const host = hostOf(options)
    if (!hasApi(host.api, 'getPrivacySetting') || !hasApi(host.api, 'requirePrivacyAuthorize')) return undefined
    return call<{ needAuthorization: boolean }>(host.api, 'getPrivacySetting')
      .catch(() => ({ needAuthorization: true }))
      .then((setting) => setting.needAuthorization && callOr(host, 'requirePrivacyAuthorize', 'PRIVACY_DENIED', ': the user declined the privacy terms; covered APIs fail until agreed.'))
      .then(() => undefined)
  })
}

/** Lets a page show its own privacy popup: `handler({ agree, disagree, referrer })`, answered once. */
export function onNeedPrivacyAuthorization(handler: (request: PrivacyRequest) => void, options?: HostOptions): void {
  if (typeof handler !== 'function') throw new AuthError('INVALID_INPUT', 'onNeedPrivacyAuthorization(handler) needs a function.')
  const platform = hostOf(options).api
  if (!hasApi(platform, 'onNeedPrivacyAuthorization')) return
  platform.onNeedPrivacyAuthorization!((resolve: ((r: { event: string; buttonId?: string }) => void) | undefined, eventInfo?: { referrer?: string }) => {
    // Answered once: the first answer goes to the host, later ones are dropped.
    const once = (r: { event: string; buttonId?: string }): void => {
      if (resolve) resolve(r)
      resolve = undefined
    }
    handler({
      agree: (buttonId) => once(buttonId ? { event: 'agree', buttonId } : { event: 'agree' }),
      disagree: () => once({ event: 'disagree' }),
      referrer: eventInfo && eventInfo.referrer,
    })
  })
}
