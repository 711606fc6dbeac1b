/**
 * Scopes (getSetting / authorize / openSetting) as promises with typed outcomes. The user saying
 * no is an answer (`'denied'`), not an exception. No auth instance needed: only the platform.
 */
import { AuthError } from '../errors'
import type { Platform } from '../platform'
import { attempt, call, hostOf, requireApi, type HostOptions } from './host'

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
   * @deprecated WeChat no longer grants user info through a scope. Use `uploadAvatar`
   * (`<button open-type="chooseAvatar">`) and `updateProfile` (`<input type="nickname">`).
   */
  'scope.userInfo': { api: null, label: '用户信息(已废弃)', deprecated: true },
} as const

export type ScopeName = keyof typeof SCOPES
/** Scopes that can still be requested. */
export type Scope = Exclude<ScopeName, 'scope.userInfo'>
/** true: granted; false: denied before; undefined: never asked. */
export type ScopeState = boolean | undefined
export type AuthSettingMap = { [S in ScopeName]?: ScopeState } & Record<string, ScopeState>

export interface EnsureScopeOptions extends HostOptions {
  /** What the modal says when the user denied the scope before. Defaults name the scope. */
  rationale?: { title?: string; content?: string; confirmText?: string; cancelText?: string }
}

type SettingResult = { authSetting: Record<string, boolean | undefined> }

function readSetting(platform: Platform, helper: string): Promise<AuthSettingMap> {
  requireApi(platform, 'getSetting', helper)
  return call<SettingResult>((o) => platform.getSetting!(o as never)).then(
    (res) => Object.assign({}, res.authSetting) as AuthSettingMap,
    (err) => {
      throw new AuthError('UNSUPPORTED', `wx.getSetting failed: ${err.errMsg}`, { errMsg: err.errMsg })
    },
  )
}

/** `{ [scope]: true | false | undefined }` (undefined: never asked). */
export function getAuthSetting(options?: HostOptions): Promise<AuthSettingMap> {
  return attempt(() => readSetting(hostOf(options), 'getAuthSetting()'))
}

/** Denied before: explain in a modal, then open the settings page. */
function askAgain(platform: Platform, scope: string, options: EnsureScopeOptions): Promise<'granted' | 'denied'> {
  requireApi(platform, 'showModal', 'ensureScope()')
  requireApi(platform, 'openSetting', 'ensureScope()')
  const info = (SCOPES as Record<string, { label: string }>)[scope]
  const r = options.rationale || {}
  const modal = {
    title: r.title || '需要你的授权',
    content: r.content || `请在设置中允许使用「${info ? info.label : scope}」。`,
    confirmText: r.confirmText || '去设置',
    cancelText: r.cancelText || '取消',
    showCancel: true,
  }
  return call<{ confirm: boolean }>((o) => platform.showModal!(Object.assign(modal, o) as never))
    .catch(() => ({ confirm: false }))
    .then((answer) => {
      if (!answer.confirm) return 'denied'
      return call<SettingResult>((o) => platform.openSetting!(o as never)).then(
        (res) => (res.authSetting && res.authSetting[scope] === true ? 'granted' : 'denied'),
        (err) => {
          throw new AuthError(
            'OPEN_SETTING_FAILED',
            `wx.openSetting failed (${err.errMsg}). It only opens from a user's tap: call ensureScope() inside a tap handler when the scope may have been denied before.`,
            { errMsg: err.errMsg },
          )
        },
      )
    })
}

/**
 * Granted → no prompt; never asked → wx.authorize; denied before → rationale modal →
 * wx.openSetting. Call it from a tap handler (openSetting only opens from a tap).
 */
export function ensureScope(scope: Scope | (string & {}), options?: EnsureScopeOptions): Promise<'granted' | 'denied'> {
  const opts = options || {}
  return attempt(() => {
    if (scope === 'scope.userInfo') {
      throw new AuthError(
        'SCOPE_DEPRECATED',
        'scope.userInfo is no longer granted by WeChat. Let the user pick an avatar with <button open-type="chooseAvatar"> (uploadAvatar) and type a nickname in <input type="nickname"> (updateProfile).',
      )
    }
    if (typeof scope !== 'string' || scope.indexOf('scope.') !== 0) {
      throw new AuthError('INVALID_INPUT', `ensureScope() needs a scope such as 'scope.writePhotosAlbum', got ${String(scope)}.`)
    }
    const platform = hostOf(opts)
    requireApi(platform, 'authorize', 'ensureScope()')
    return readSetting(platform, 'ensureScope()').then((setting) => {
      const state = setting[scope]
      if (state === true) return 'granted'
      // Never asked: WeChat shows its own prompt. A "no" here is the user's answer: don't nag.
      if (state === undefined) {
        return call((o) => platform.authorize!(Object.assign({ scope }, o) as never)).then(
          () => 'granted' as const,
          () => 'denied' as const,
        )
      }
      // Denied before: authorize would fail at once without a prompt.
      return askAgain(platform, scope, opts)
    })
  })
}
