/**
 * Scopes (getSetting / authorize / openSetting) and the privacy agreement, as promises with
 * typed outcomes. The user saying no is an answer (`'denied'`), not an exception.
 */
import { AuthError } from './errors'
import { baseLibraryVersion, hasApi, type Platform } from './platform'

/** The scopes from WeChat's authorization table, with the API each one guards. */
export const SCOPES = {
  'scope.userLocation': { api: 'wx.getLocation', label: '精确地理位置' },
  'scope.userFuzzyLocation': { api: 'wx.getFuzzyLocation', label: '模糊地理位置' },
  'scope.record': { api: 'wx.startRecord', label: '麦克风' },
  'scope.camera': { api: '<camera>', label: '摄像头' },
  'scope.writePhotosAlbum': { api: 'wx.saveImageToPhotosAlbum', label: '保存到相册' },
  'scope.bluetooth': { api: 'wx.openBluetoothAdapter', label: '蓝牙' },
  'scope.addPhoneContact': { api: 'wx.addPhoneContact', label: '添加到联系人' },
  'scope.addPhoneCalendar': { api: 'wx.addPhoneCalendar', label: '添加到日历' },
  'scope.werun': { api: 'wx.getWeRunData', label: '微信运动步数' },
  /**
   * @deprecated WeChat no longer grants user info through a scope. Use `auth.uploadAvatar`
   * (`<button open-type="chooseAvatar">`) and `auth.updateProfile` (`<input type="nickname">`).
   */
  'scope.userInfo': { api: null, label: '用户信息(已废弃)', deprecated: true },
} as const

export type ScopeName = keyof typeof SCOPES
/** Scopes that can still be requested. */
export type Scope = Exclude<ScopeName, 'scope.userInfo'>
/** true: granted; false: denied before; undefined: never asked. */
export type ScopeState = boolean | undefined
export type AuthSettingMap = { [S in ScopeName]?: ScopeState } & Record<string, ScopeState>

export interface EnsureScopeOptions {
  /** What the modal says when the user denied the scope before. Defaults name the scope. */
  rationale?: { title?: string; content?: string; confirmText?: string; cancelText?: string }
}

export interface PrivacyRequest {
  /** The user agreed in your popup (pass the id of the `agreePrivacyAuthorization` button). */
  agree(buttonId?: string): void
  /** The user declined. */
  disagree(): void
  /** What triggered the request, e.g. the API name. */
  referrer?: string
}

/** Minimum base libraries, for UNSUPPORTED messages. */
const MIN_VERSION: Record<string, string> = {
  getSetting: '1.2.0',
  authorize: '1.2.0',
  openSetting: '1.1.0',
  showModal: '1.0.0',
  getPrivacySetting: '2.32.3',
  requirePrivacyAuthorize: '2.32.3',
  onNeedPrivacyAuthorization: '2.32.3',
}

export function requireApi(platform: Platform, name: keyof Platform, helper: string): void {
  if (hasApi(platform, name)) return
  const running = baseLibraryVersion(platform)
  throw new AuthError(
    'UNSUPPORTED',
    `${helper} needs wx.${String(name)} (base library ${MIN_VERSION[name as string] || 'newer'} or later)${running ? `; this one is ${running}` : ''}. Ask users to update WeChat, or set a minimum base library in the admin console.`,
  )
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

export interface ScopeApi {
  getAuthSetting(): Promise<AuthSettingMap>
  ensureScope(scope: Scope | (string & {}), options?: EnsureScopeOptions): Promise<'granted' | 'denied'>
  ensurePrivacyAuthorized(): Promise<void>
  onNeedPrivacyAuthorization(handler: (request: PrivacyRequest) => void): void
}

export function createScopeApi(platform: Platform): ScopeApi {
  function getAuthSetting(): Promise<AuthSettingMap> {
    try {
      requireApi(platform, 'getSetting', 'getAuthSetting()')
    } catch (err) {
      return Promise.reject(err)
    }
    return call<{ authSetting: Record<string, boolean | undefined> }>((o) => platform.getSetting!(o as never)).then(
      (res) => Object.assign({}, res.authSetting) as AuthSettingMap,
      (err) => {
        throw new AuthError('UNSUPPORTED', `wx.getSetting failed: ${err.errMsg}`, { errMsg: err.errMsg })
      },
    )
  }

  function openSettings(scope: string): Promise<'granted' | 'denied'> {
    return call<{ authSetting: Record<string, boolean | undefined> }>((o) => platform.openSetting!(o as never)).then(
      (res) => (res.authSetting && res.authSetting[scope] === true ? 'granted' : 'denied'),
      (err) => {
        throw new AuthError(
          'OPEN_SETTING_FAILED',
          `wx.openSetting failed (${err.errMsg}). It only opens from a user's tap: call ensureScope() inside a tap handler when the scope may have been denied before.`,
          { errMsg: err.errMsg },
        )
      },
    )
  }

  async function ensureScope(scope: string, options: EnsureScopeOptions = {}): Promise<'granted' | 'denied'> {
    if (scope === 'scope.userInfo') {
      throw new AuthError(
        'SCOPE_DEPRECATED',
        'scope.userInfo is no longer granted by WeChat. Let the user pick an avatar with <button open-type="chooseAvatar"> (auth.uploadAvatar) and type a nickname in <input type="nickname"> (auth.updateProfile).',
      )
    }
    if (typeof scope !== 'string' || scope.indexOf('scope.') !== 0) {
      throw new AuthError('INVALID_INPUT', `ensureScope() needs a scope such as 'scope.writePhotosAlbum', got ${String(scope)}.`)
    }
    requireApi(platform, 'getSetting', 'ensureScope()')
    requireApi(platform, 'authorize', 'ensureScope()')
    const state = (await getAuthSetting())[scope]
    if (state === true) return 'granted'
    if (state === undefined) {
      // Never asked: WeChat shows its own prompt. A "no" here is the user's answer: don't nag.
      return call((o) => platform.authorize!(Object.assign({ scope }, o) as never)).then(
        () => 'granted' as const,
        () => 'denied' as const,
      )
    }
    // Denied before: authorize would fail at once without a prompt. Explain, then open settings.
    requireApi(platform, 'showModal', 'ensureScope()')
    requireApi(platform, 'openSetting', 'ensureScope()')
    const info = (SCOPES as Record<string, { label: string }>)[scope]
    const r = options.rationale || {}
    const answer = await call<{ confirm: boolean; cancel: boolean }>((o) =>
      platform.showModal!(
        Object.assign(
          {
            title: r.title || '需要你的授权',
            content: r.content || `请在设置中允许使用「${info ? info.label : scope}」。`,
            confirmText: r.confirmText || '去设置',
            cancelText: r.cancelText || '取消',
            showCancel: true,
          },
          o,
        ) as never,
      ),
    ).catch(() => ({ confirm: false, cancel: true }))
    if (!answer.confirm) return 'denied'
    return openSettings(scope)
  }

  function ensurePrivacyAuthorized(): Promise<void> {
    // Base libraries before 2.32.3 have no privacy API and nothing to agree to.
    if (!hasApi(platform, 'getPrivacySetting') || !hasApi(platform, 'requirePrivacyAuthorize')) return Promise.resolve()
    return call<{ needAuthorization: boolean }>((o) => platform.getPrivacySetting!(o as never))
      .catch(() => ({ needAuthorization: true }))
      .then((setting) => {
        if (!setting.needAuthorization) return undefined
        return call<unknown>((o) => platform.requirePrivacyAuthorize!(o as never)).then(
          () => undefined,
          (err) => {
            throw new AuthError('PRIVACY_DENIED', `The user did not agree to the privacy terms (${err.errMsg}). APIs covered by them will fail until they do.`, {
              errMsg: err.errMsg,
            })
          },
        )
      })
  }

  function onNeedPrivacyAuthorization(handler: (request: PrivacyRequest) => void): void {
    if (typeof handler !== 'function') throw new AuthError('INVALID_INPUT', 'onNeedPrivacyAuthorization(handler) needs a function.')
    if (!hasApi(platform, 'onNeedPrivacyAuthorization')) return
    platform.onNeedPrivacyAuthorization!((resolve: (r: { event: string; buttonId?: string }) => void, eventInfo?: { referrer?: string }) => {
      let answered = false
      const once = (r: { event: string; buttonId?: string }): void => {
        if (answered) return
        answered = true
        resolve(r)
      }
      handler({
        agree: (buttonId) => once(buttonId ? { event: 'agree', buttonId } : { event: 'agree' }),
        disagree: () => once({ event: 'disagree' }),
        referrer: eventInfo && eventInfo.referrer,
      })
    })
  }

  return {
    getAuthSetting,
    ensureScope,
    ensurePrivacyAuthorized,
    onNeedPrivacyAuthorization,
  }
}
