/**
 * One answer for the host's privacy prompts, whatever the number of `<auth-privacy-popup>`s.
 *
 * WeChat keeps one `onNeedPrivacyAuthorization` listener (a new registration replaces the old
 * one: "覆盖式注册监听", https://developers.weixin.qq.com/community/develop/article/doc/000c0690728730511d40ba9056ac13),
 * and every privacy call waiting for the user gets its own `resolve`, pending until answered
 * (https://developers.weixin.qq.com/miniprogram/dev/api/open-api/privacy/wx.onNeedPrivacyAuthorization.html).
 * So the popups do not register one each: the first one attached registers this hub's listener,
 * the prompts queue here, and the popup of the page on screen (the last shown; else the last
 * attached) shows them. Agree or disagree answers every waiting prompt once; a popup removed while
 * prompts wait hands them to another popup, and the last one answers them 'disagree': nothing is
 * left pending.
 */
import { onNeedPrivacyAuthorization, type PrivacyRequest } from '../../open'
import type { Platform } from '../../core'

export interface Popup {
  /** Its page is on screen. */
  visible: boolean
  open(referrer?: string): void
  close(): void
}

const popups: Popup[] = []
let pending: PrivacyRequest[] = []
let listeningOn: Platform | undefined | null = null

/** The popup that shows the prompts: the last one on screen, else the last attached. */
function front(): Popup | undefined {
  for (let i = popups.length - 1; i >= 0; i--) if (popups[i].visible) return popups[i]
  return popups[popups.length - 1]
}

function present(referrer?: string): void {
  const shown = front()
  if (!shown) {
    answer('disagree')
    return
  }
  for (const p of popups) if (p !== shown) p.close()
  shown.open(referrer)
}

export function attachPopup(popup: Popup, platform?: Platform): void {
  popups.push(popup)
  if (listeningOn !== platform) {
    listeningOn = platform
    onNeedPrivacyAuthorization(
      (request) => {
        pending.push(request)
        present(request.referrer)
      },
      platform ? { platform } : undefined,
    )
  } else if (pending.length) present()
}

export function detachPopup(popup: Popup): void {
  const i = popups.indexOf(popup)
  if (i >= 0) popups.splice(i, 1)
  if (pending.length) present()
}

/** Its page was shown or hidden: the prompts move to the popup on screen. */
export function popupVisible(popup: Popup, visible: boolean): void {
  popup.visible = visible
  if (pending.length && visible) present()
}

/** Answers every waiting prompt once and closes every popup. */
export function answer(event: 'agree' | 'disagree', buttonId?: string): number {
  const all = pending
  pending = []
  for (const r of all) {
    if (event === 'agree') r.agree(buttonId)
    else r.disagree()
  }
  for (const p of popups) p.close()
  return all.length
}
