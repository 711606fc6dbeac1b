/**
 * Scopes (getSetting / authorize / openSetting) as promises with typed outcomes. The user saying
 * no is an answer (`'denied'`), not an exception. No auth instance needed: only the host.
 *
 * Per host (docs/platforms.md, "Client: open abilities"):
 * - WeChat, QQ, Douyin: `authorize` / `getSetting` / `openSetting` with `scope.*` keys
 *   (https://q.qq.com/wiki/develop/miniprogram/API/open_port/port_setting.html; Douyin:
 *   @douyin-microapp/typings api/authorize.d.ts, api/setting.d.ts, whose scopes include
 *   `scope.album`, `scope.address`, `scope.userInfo`).
 * - Alipay: `my.getSetting` / `my.openSetting` only; its keys have no `scope.` prefix (`location`,
 *   `album`, `camera`, `userInfo`, `phoneNumber`, `aliaddress`, `alipaysports`,
 *   `writePhotosAlbum`: @mini-types/my lib.my.d.ts IGetSettingAuthSetting). They are reported
 *   and asked for here as `scope.<key>`, `location` as `scope.userLocation`, so one scope name
 *   works on every host. There is no `my.authorize`: Alipay asks the user when the API that needs
 *   the scope is called (https://opendocs.alipay.com/mini/api/xmk3ml).
 */
import { AuthError } from '../base/errors'
import { hasApi } from '../base/platform'
import { attempt, call, callOr, hostOf, label, requireApi, type Host, type HostOptions } from './host'

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

/** The host's settings with `scope.*` keys (Alipay's `location` → `scope.userLocation`, `album` → `scope.album`). */
function scoped(host: Host, res: SettingResult): AuthSettingMap {
  const out: AuthSettingMap = {}
  const setting = res.authSetting
  for (const k in setting) out[host.name === 'alipay' ? 'scope.' + (k === 'location' ? 'userLocation' : k) : k] = setting[k]
  return out
}

function readSetting(host: Host, helper: string): Promise<AuthSettingMap> {
  requireApi(host, 'getSetting', helper)
  return callOr<SettingResult>(host, 'getSetting', 'UNSUPPORTED').then((res) => scoped(host, res))
}

/**
 * `{ [scope]: true | false | undefined }` (undefined: never asked). Keys are `scope.*` on every
 * host (on Alipay: `scope.` + its own key, `location` as `scope.userLocation`).
 */
export function getAuthSetting(options?: HostOptions): Promise<AuthSettingMap> {
  return attempt(() => readSetting(hostOf(options), 'getAuthSetting'))
}

/**
 * Granted → no prompt; never asked → the host's authorize prompt; denied before → rationale
 * modal → the host's openSetting. Call it from a tap handler (openSetting only opens from a tap).
 *
 * Alipay has no `my.authorize`: a granted scope resolves 'granted' and one denied before goes
 * through the modal and `my.openSetting` as elsewhere, but a scope never asked rejects
 * UNSUPPORTED (nothing can prompt for it ahead): call the API that needs it (`my.getLocation`,
 * `my.chooseImage`…), which asks the user itself, or use `<button open-type="getAuthorize">` for
 * `phoneNumber` / `userInfo`. `scope.userInfo` is SCOPE_DEPRECATED on WeChat only; QQ, Douyin
 * and Alipay still grant it.
 */
export function ensureScope(scope: Scope | (string & {}), options?: EnsureScopeOptions): Promise<'granted' | 'denied'> {
  const opts = options || {}
  return attempt(() => {
    const host = hostOf(opts)
    if (scope === 'scope.userInfo' && host.name === 'weixin') {
      throw new AuthError(
        'SCOPE_DEPRECATED',
        'WeChat grants no scope.userInfo: use uploadAvatar (chooseAvatar) and updateProfile.',
      )
    }
    if (typeof scope !== 'string' || scope.indexOf('scope.')) {
      throw new AuthError('INVALID_INPUT', `ensureScope() needs a 'scope.*' name, got ${String(scope)}.`)
    }
    return readSetting(host, 'ensureScope').then((setting) => {
      const state = setting[scope]
      if (state === true) return 'granted'
      // Never asked: the host shows its own prompt. A "no" here is the user's answer: don't nag.
      if (state === undefined) {
        // Alipay never has authorize (elsewhere it came with getSetting: WeChat 1.2.0).
        if (!hasApi(host.api, 'authorize')) {
          throw new AuthError('UNSUPPORTED', `${label(host)} has no authorize: call the API that needs ${scope}, which asks the user.`)
        }
        return call(host.api, 'authorize', { scope }).then(
          () => 'granted' as const,
          () => 'denied' as const,
        )
      }
      // Denied before: authorize would fail at once without a prompt. Explain in a modal, then open the settings page.
      requireApi(host, 'showModal', 'ensureScope')
      requireApi(host, 'openSetting', 'ensureScope')
      const info = (SCOPES as Record<string, { label: string }>)[scope]
      const r = opts.rationale || {}
      return call<{ confirm: boolean }>(host.api, 'showModal', {
        title: r.title || '需要你的授权',
        content: r.content || `请在设置中允许使用「${info ? info.label : scope}」。`,
        confirmText: r.confirmText || '去设置',
        cancelText: r.cancelText, // the host's default: 取消
        showCancel: true,
      })
        .catch(() => ({ confirm: false }))
        .then((answer) =>
          answer.confirm
            ? callOr<SettingResult>(host, 'openSetting', 'OPEN_SETTING_FAILED', ': it opens only from a tap: call ensureScope() in a tap handler.').then((res) =>
                scoped(host, res)[scope] === true ? 'granted' : 'denied',
              )
            : 'denied',
        )
    })
  })
}
