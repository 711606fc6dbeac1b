/**
 * `guardPage(options)`: a page that needs a session. Wrap the options you pass to `Page()` (or
 * to `Component()` for a page written as a component): while there is no session, the page's own
 * `onLoad` and `onShow` wait, and the page shows `<auth-login-panel>` (mode 'panel', the default:
 * put `<auth-login-panel wx:if="{{authNeedLogin}}" />` in its template) or goes to your login page
 * (mode 'redirect' or 'navigate'). When a session arrives (the panel's login, your login page's,
 * or any `auth.login()`), the page resumes: its `onLoad` runs with the query it was opened with,
 * then its `onShow` if it is on screen.
 */
import { AuthError } from '../core'
import { MISSING_AUTH, providedAuth } from './wiring'

export interface GuardOptions {
  /**
   * 'panel' (default): set `authNeedLogin: true` in the page's data and wait (the template shows
   * the login panel). 'redirect': `redirectTo(loginPage)`; 'navigate': `navigateTo(loginPage)`,
   * so the user can come back; both add `?redirect=<this page, encoded>`.
   */
  mode?: 'panel' | 'redirect' | 'navigate'
  /** Your login page, e.g. '/pages/login/index'. Needed by 'redirect' and 'navigate'. */
  loginPage?: string
}

/** `this` in the hooks of a guarded page's options: the page, with its data and setData. */
export interface GuardedThis {
  data: Record<string, any>
  setData(data: Record<string, unknown>, callback?: () => void): void
  route?: string
}

type Hook = (this: GuardedPage, arg?: unknown) => unknown
interface GuardedPage {
  route?: string
  setData(data: Record<string, unknown>): void
  __authGuard?: { query: unknown; held: boolean; visible: boolean; off?: () => void }
}
type PageOptions = { onLoad?: Hook; onShow?: Hook; onHide?: Hook; onUnload?: Hook; methods?: PageOptions; data?: Record<string, unknown> }

const MODES = ['panel', 'redirect', 'navigate']

declare const wx: object | undefined

/** `redirectTo` / `navigateTo` on the instance's adapter (which delegates to `wx`), else the global `wx`. */
function navigate(platform: object | undefined, name: string, url: string): Promise<unknown> {
  const api = (platform || (typeof wx == 'object' ? wx : {})) as Record<string, (o: object) => void>
  return new Promise((resolve, reject) => {
    if (typeof api[name] !== 'function') return reject({ errMsg: name + ':fail not supported' })
    api[name]({ url, success: resolve, fail: reject })
  })
}

/**
 * Returns `options` with its onLoad / onShow / onHide / onUnload wrapped (at the top level, or in
 * `methods` when they are there, as in a page built with `Component()`). Throws AuthError CONFIG
 * for an unknown mode, or 'redirect' / 'navigate' without `loginPage`. A page opened while
 * `provideAuth` was never called logs that CONFIG error and stays held.
 */
export function guardPage<T extends object>(options: T & ThisType<T & GuardedThis>, guard: GuardOptions = {}): T {
  const mode = guard.mode || 'panel'
  if (MODES.indexOf(mode) < 0) throw new AuthError('CONFIG', `guardPage(): mode must be 'panel', 'redirect' or 'navigate', got ${JSON.stringify(mode)}.`)
  if (mode !== 'panel' && (typeof guard.loginPage !== 'string' || !guard.loginPage)) throw new AuthError('CONFIG', `guardPage(): mode '${mode}' needs loginPage, e.g. '/pages/login/index'.`)
  const opts = options as PageOptions
  const hooks: PageOptions = opts.methods || opts
  const { onLoad, onShow, onHide, onUnload } = hooks
  opts.data = Object.assign({}, opts.data, { authNeedLogin: false })

  function resume(page: GuardedPage): void {
    const g = page.__authGuard!
    if (!g.held) return
    g.held = false
    if (g.off) g.off()
    page.setData({ authNeedLogin: false })
    if (onLoad) onLoad.call(page, g.query)
    if (g.visible && onShow) onShow.call(page)
  }

  hooks.onLoad = function (this: GuardedPage, query?: unknown) {
    const g = (this.__authGuard = { query, held: true, visible: false } as NonNullable<GuardedPage['__authGuard']>)
    const wired = providedAuth()
    if (wired && wired.auth.isLoggedIn()) return resume(this)
    this.setData({ authNeedLogin: true })
    if (!wired) return console.error(new AuthError('CONFIG', `guardPage() found no auth instance: ${MISSING_AUTH}.`))
    const page = this
    g.off = wired.auth.on('login', () => resume(page))
    if (mode === 'panel') return
    const here = '/' + (this.route || '').replace(/^\//, '')
    const url = guard.loginPage + (guard.loginPage!.indexOf('?') < 0 ? '?' : '&') + 'redirect=' + encodeURIComponent(here)
    navigate(wired.auth.platform, mode === 'redirect' ? 'redirectTo' : 'navigateTo', url).catch((e: { errMsg?: string }) =>
      console.error(new AuthError('CONFIG', `guardPage(): ${mode === 'redirect' ? 'redirectTo' : 'navigateTo'}(${guard.loginPage}) failed (${e && e.errMsg}): is it a page in app.json?`)),
    )
  }
  hooks.onShow = function (this: GuardedPage) {
    const g = this.__authGuard
    if (g) g.visible = true
    return (!g || !g.held) && onShow ? onShow.call(this) : undefined
  }
  hooks.onHide = function (this: GuardedPage) {
    const g = this.__authGuard
    if (g) g.visible = false
    // A held page never showed: its own onHide waits with its onShow.
    return (!g || !g.held) && onHide ? onHide.call(this) : undefined
  }
  hooks.onUnload = function (this: GuardedPage) {
    const g = this.__authGuard
    if (g && g.off) g.off()
    return onUnload && onUnload.call(this)
  }
  return options
}
