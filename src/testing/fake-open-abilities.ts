/**
 * The fake `wx`'s open abilities: scopes (getSetting / authorize / openSetting), showModal, the
 * privacy APIs, and builders for the events of getPhoneNumber, chooseAvatar and nickname
 * review. Modelled on the platform:
 * - `authorize` on a scope never asked shows a prompt (answered by `userChoices.authorize`); on
 *   a scope denied before it fails at once, with no prompt.
 * - `openSetting` only opens from a tap (`tapGesture`), applies `userChoices.openSetting`, and
 *   reports the new settings.
 * - `requirePrivacyAuthorize` calls the page's `onNeedPrivacyAuthorization` listener when one is
 *   registered (the page shows its own popup), else answers with `userChoices.privacy`. A second
 *   registration replaces the first ("覆盖式注册"). Each call waiting for the user gets its own
 *   `resolve`; an answer `{ event: 'agree', buttonId }` counts only if that
 *   `<button open-type="agreePrivacyAuthorization">` was tapped (`privacyAgreeEvent`), as the base
 *   library checks; otherwise the call fails as a refusal does
 *   (https://developers.weixin.qq.com/miniprogram/dev/api/open-api/privacy/wx.onNeedPrivacyAuthorization.html).
 * - `openPrivacyContract` (WeChat 2.32.3, Douyin 3.19.0:
 *   https://developers.weixin.qq.com/miniprogram/dev/api/open-api/privacy/wx.openPrivacyContract.html,
 *   https://developer.open-douyin.com/docs/resource/zh-CN/mini-app/develop/api/open-interface/privacy/tt-openPrivacyContract),
 *   `navigateTo` and `redirectTo` succeed and are logged in `navigations`.
 */

import { booleans, checked, replaceBooleans, switches } from './settings'

type Callbacks = { success?: (res: any) => void; fail?: (err: any) => void; complete?: (res: any) => void }

function later(fn: () => void): void {
  Promise.resolve().then(fn)
}
function ok(o: Callbacks, res: unknown): void {
  later(() => {
    if (o.success) o.success(res)
    if (o.complete) o.complete(res)
  })
}
function no(o: Callbacks, errMsg: string): void {
  later(() => {
    if (o.fail) o.fail({ errMsg })
    if (o.complete) o.complete({ errMsg })
  })
}

export interface FakeUserChoices {
  /** What the user answers to the authorize prompt. Default 'allow'. */
  authorize: 'allow' | 'deny'
  /** What the user taps in a showModal. Default 'confirm'. */
  modal: 'confirm' | 'cancel'
  /** Switches the user flips in the settings page, e.g. `{ 'scope.camera': true }`. Default none. */
  openSetting: Record<string, boolean>
  /** The answer to the platform's own privacy popup (no page listener). Default 'agree'. */
  privacy: 'agree' | 'disagree'
}

/**
 * The scripting of the open abilities, on every fake (wx, qq, tt, my, uni, Taro). Each switch
 * checks what it is assigned (a wrong value throws a TypeError naming it and the values it
 * takes); `userChoices` and `privacy` can be set field by field or as a whole, fields left out
 * going back to their defaults.
 */
export interface FakeOpenAbilities {
  /** Current authorization state by scope: true, false, or absent (never asked). Assign an object to replace it. */
  get scopes(): Record<string, boolean | undefined>
  set scopes(v: Record<string, boolean | undefined>)
  get userChoices(): FakeUserChoices
  set userChoices(v: Partial<FakeUserChoices>)
  /** Whether the privacy terms still need the user's agreement. Default false. */
  get privacy(): { needAuthorization: boolean }
  set privacy(v: Partial<{ needAuthorization: boolean }>)
  /** Whether the current call comes from a tap (openSetting needs one). Default true. */
  tapGesture: boolean
  /** Every modal shown: title and content. */
  readonly modals: Array<{ title?: string; content?: string }>
  /** Prompts the user saw from authorize. */
  readonly authorizePrompts: string[]
  /** Ids of the agreePrivacyAuthorization buttons tapped (see `privacyAgreeEvent`). */
  readonly privacyAgreeTaps: string[]
  /** openPrivacyContract, navigateTo and redirectTo calls, in order. */
  readonly navigations: Array<{ api: 'openPrivacyContract' | 'navigateTo' | 'redirectTo'; url?: string }>
}

/** What the open abilities' calls read and write. */
interface OpenState {
  scopes: Record<string, boolean | undefined>
  userChoices: FakeUserChoices
  privacy: { needAuthorization: boolean }
  tapGesture: boolean
  modals: Array<{ title?: string; content?: string }>
  authorizePrompts: string[]
  privacyAgreeTaps: string[]
  navigations: Array<{ api: 'openPrivacyContract' | 'navigateTo' | 'redirectTo'; url?: string }>
}

/** The open abilities' calls (`api`), and the accessors of their switches to put on a fake (`attach`). */
export function createFakeOpenAbilities(): { api: Record<string, (o: any) => unknown>; attach<T extends object>(fake: T): T & FakeOpenAbilities } {
  const userChoices = switches<FakeUserChoices>(
    'fake.userChoices',
    { authorize: ['allow', 'deny'], modal: ['confirm', 'cancel'], openSetting: 'booleans', privacy: ['agree', 'disagree'] },
    () => ({ authorize: 'allow', modal: 'confirm', openSetting: {}, privacy: 'agree' }),
  )
  const privacy = switches<{ needAuthorization: boolean }>('fake.privacy', { needAuthorization: 'boolean' }, () => ({ needAuthorization: false }))
  const state: OpenState = {
    scopes: booleans('fake.scopes', true),
    userChoices: userChoices.value,
    privacy: privacy.value,
    tapGesture: true,
    modals: [],
    authorizePrompts: [],
    privacyAgreeTaps: [],
    navigations: [],
  }
  let privacyListener: ((resolve: (r: { event: string; buttonId?: string }) => void, info: { referrer: string }) => void) | null = null
  const settings = (): Record<string, boolean> => {
    const out: Record<string, boolean> = {}
    for (const k of Object.keys(state.scopes)) if (state.scopes[k] !== undefined) out[k] = state.scopes[k] as boolean
    return out
  }
  const api: Record<string, (o: any) => unknown> = {
    getSetting(o: Callbacks) {
      ok(o, { authSetting: settings(), errMsg: 'getSetting:ok' })
    },
    authorize(o: Callbacks & { scope: string }) {
      const s = state.scopes[o.scope]
      if (s === true) return ok(o, { errMsg: 'authorize:ok' })
      if (s === false) return no(o, 'authorize:fail auth deny')
      state.authorizePrompts.push(o.scope)
      if (state.userChoices.authorize === 'allow') {
        state.scopes[o.scope] = true
        return ok(o, { errMsg: 'authorize:ok' })
      }
      state.scopes[o.scope] = false
      no(o, 'authorize:fail auth deny')
    },
    openSetting(o: Callbacks) {
      if (!state.tapGesture) return no(o, 'openSetting:fail can only be invoked by user TAP gesture.')
      for (const k of Object.keys(state.userChoices.openSetting)) state.scopes[k] = state.userChoices.openSetting[k]
      ok(o, { authSetting: settings(), errMsg: 'openSetting:ok' })
    },
    showModal(o: Callbacks & { title?: string; content?: string }) {
      state.modals.push({ title: o.title, content: o.content })
      const confirm = state.userChoices.modal === 'confirm'
      ok(o, { confirm, cancel: !confirm, errMsg: 'showModal:ok' })
    },
    getPrivacySetting(o: Callbacks) {
      ok(o, { needAuthorization: state.privacy.needAuthorization, privacyContractName: '《示例小程序隐私保护指引》', errMsg: 'getPrivacySetting:ok' })
    },
    requirePrivacyAuthorize(o: Callbacks) {
      if (!state.privacy.needAuthorization) return ok(o, { errMsg: 'requirePrivacyAuthorize:ok' })
      const answer = (event: string): void => {
        if (event === 'agree') {
          state.privacy.needAuthorization = false
          ok(o, { errMsg: 'requirePrivacyAuthorize:ok' })
        } else no(o, 'requirePrivacyAuthorize:fail privacy permission is not authorized')
      }
      if (privacyListener) {
        let done = false
        privacyListener(
          (r) => {
            // 'exposureAuthorization' only tells the platform the popup is on screen.
            if (done || r.event === 'exposureAuthorization') return
            done = true
            // The base library checks that the agree button named was tapped.
            answer(r.event === 'agree' && !(r.buttonId && state.privacyAgreeTaps.indexOf(r.buttonId) >= 0) ? 'disagree' : r.event)
          },
          { referrer: 'requirePrivacyAuthorize' },
        )
      } else answer(state.userChoices.privacy)
    },
    onNeedPrivacyAuthorization(listener: any) {
      privacyListener = listener
    },
    openPrivacyContract(o: Callbacks) {
      state.navigations.push({ api: 'openPrivacyContract' })
      ok(o, { errMsg: 'openPrivacyContract:ok' })
    },
    navigateTo(o: Callbacks & { url: string }) {
      state.navigations.push({ api: 'navigateTo', url: o.url })
      ok(o, { errMsg: 'navigateTo:ok' })
    },
    redirectTo(o: Callbacks & { url: string }) {
      state.navigations.push({ api: 'redirectTo', url: o.url })
      ok(o, { errMsg: 'redirectTo:ok' })
    },
  }
  const attach = <T extends object>(fake: T): T & FakeOpenAbilities =>
    Object.defineProperties(fake, {
      scopes: { enumerable: true, get: () => state.scopes, set: (v: unknown) => replaceBooleans('fake.scopes', state.scopes, v, true) },
      userChoices: { enumerable: true, get: () => state.userChoices, set: userChoices.assign },
      privacy: { enumerable: true, get: () => state.privacy, set: privacy.assign },
      tapGesture: { enumerable: true, get: () => state.tapGesture, set: (v: unknown) => (state.tapGesture = checked('fake.tapGesture', 'boolean', v as boolean)) },
      modals: { enumerable: true, value: state.modals },
      authorizePrompts: { enumerable: true, value: state.authorizePrompts },
      privacyAgreeTaps: { enumerable: true, value: state.privacyAgreeTaps },
      navigations: { enumerable: true, value: state.navigations },
    }) as T & FakeOpenAbilities
  return { api, attach }
}

/**
 * Events of `<button open-type="getPhoneNumber">`, as the host delivers them: WeChat (base
 * library 2.21.2+) and Douyin (3.51.0+) hand out a `code`; QQ, Douyin before 3.51.0 and WeChat
 * before 2.21.2 hand out `encryptedData` + `iv` (`encrypted`, `noCode`). Alipay has no such event:
 * its phone number comes from `my.getPhoneNumber` (the fake `my`'s `phoneNumber` switch).
 */
export const phoneEvent = {
  ok: (code = 'phone-code-' + Math.random().toString(36).slice(2, 8)) => ({
    type: 'getphonenumber',
    detail: { errMsg: 'getPhoneNumber:ok', code, encryptedData: 'ENCRYPTED', iv: 'IV' },
  }),
  denied: () => ({ type: 'getphonenumber', detail: { errMsg: 'getPhoneNumber:fail user deny' } }),
  quotaExhausted: () => ({ type: 'getphonenumber', detail: { errMsg: 'getPhoneNumber:fail no permission', errno: 1400001 } }),
  /** WeChat base libraries before 2.21.2: no code, only the legacy encrypted payload. */
  noCode: () => ({ type: 'getphonenumber', detail: { errMsg: 'getPhoneNumber:ok', encryptedData: 'ENCRYPTED', iv: 'IV' } }),
  /** QQ and Douyin before 3.51.0: data encrypted with the session key, and its IV. */
  encrypted: (encryptedData = 'ENCRYPTED', iv = 'IV') => ({ type: 'getphonenumber', detail: { errMsg: 'getPhoneNumber:ok', encryptedData, iv } }),
  /**
   * WeChat's `<button open-type="getRealtimePhoneNumber">` (real-time verification): its own event,
   * `getrealtimephonenumber`, with `{ code, errMsg, errno }`, the same quota errno
   * (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/getRealtimePhoneNumber.html).
   */
  realtime: {
    ok: (code = 'realtime-code-' + Math.random().toString(36).slice(2, 8)) => ({ type: 'getrealtimephonenumber', detail: { errMsg: 'getRealtimePhoneNumber:ok', code } }),
    denied: () => ({ type: 'getrealtimephonenumber', detail: { errMsg: 'getRealtimePhoneNumber:fail user deny' } }),
    quotaExhausted: () => ({ type: 'getrealtimephonenumber', detail: { errMsg: 'getRealtimePhoneNumber:fail no permission', errno: 1400001 } }),
  },
}

/**
 * The user taps `<button id="…" open-type="agreePrivacyAuthorization">`: the fake notes the tap
 * (the base library accepts `resolve({ event: 'agree', buttonId })` only for a tapped button) and
 * the button's `agreeprivacyauthorization` event is returned.
 */
export function privacyAgreeEvent(fake: { privacyAgreeTaps: string[] }, buttonId = 'agree-btn') {
  fake.privacyAgreeTaps.push(buttonId)
  return { type: 'agreeprivacyauthorization', detail: { errMsg: 'agreePrivacyAuthorization:ok' }, target: { id: buttonId } }
}

/** The event of `<button open-type="chooseAvatar">` for a temp file added to the fake. */
export function avatarEvent(fake: { addTempFile(content?: string, ext?: string): string }, content = 'avatar-bytes') {
  return { type: 'chooseavatar', detail: { avatarUrl: fake.addTempFile(content, 'jpeg') } }
}

/** The `bindnicknamereview` event of `<input type="nickname">`. */
export function nicknameReviewEvent(pass: boolean, timeout = false) {
  return { type: 'nicknamereview', detail: { pass, timeout } }
}
