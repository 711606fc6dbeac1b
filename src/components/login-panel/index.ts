/**
 * `<auth-login-panel>`: for apps that must ask before they log in. A consent line ("我已阅读并同意
 * 《用户协议》《隐私政策》", links set by the app) must be ticked before anything is sent; then the
 * login button runs the silent login (`wx.login` → your server, `auth.login()`), and the optional
 * phone quick login (`phone-login`) logs in, then binds the number (`bindPhoneNumber`).
 *
 * States: idle, need-consent, logging-in, done, denied, quota, error. A tap while logging in is
 * ignored. Without consent the phone button is a plain button (no open-type): WeChat shows no
 * prompt and nothing is sent.
 *
 * Events: `login` { user, phone? } (phone: your server's answer to the phone binding), `denied`,
 * `link` { kind: 'user-agreement' | 'privacy-policy' }, `error` { code, message }.
 */
import { bindPhoneNumber } from '../../open'
import { define, hostCall, properties, report, wire, type Instance } from '../common/define'

const TAG = 'auth-login-panel'
type Self = Instance & { show: (s: string) => void; link: (kind: string, url: string) => void }

define({
  externalClasses: ['auth-class', 'auth-button-class'],
  properties: properties(TAG, {
    title: ['string', ''],
    agreementPrefix: ['string', '我已阅读并同意'],
    userAgreementTitle: ['string', '《用户协议》'],
    userAgreementUrl: ['string', ''],
    privacyPolicyTitle: ['string', '《隐私政策》'],
    privacyPolicyUrl: ['string', ''],
    loginText: ['string', '微信登录'],
    phoneLogin: ['boolean', false],
    phoneLoginText: ['string', '手机号快捷登录'],
    needConsentText: ['string', '请先阅读并勾选协议'],
    loggingInText: ['string', '登录中…'],
    doneText: ['string', '已登录'],
    deniedText: ['string', '你拒绝了授权，可改用微信登录'],
    quotaText: ['string', '手机号验证次数已用完，请改用微信登录'],
    errorText: ['string', '登录失败，请稍后重试'],
  }),
  data: { wired: false, agreed: false, state: 'idle', status: '', busy: false },
  lifetimes: {
    attached(this: Instance) {
      wire(TAG, this)
    },
  },
  methods: {
    show(this: Instance, state: string) {
      const key = state.replace(/-(\w)/g, (_: string, c: string) => c.toUpperCase()) + 'Text'
      this.setData({ state, busy: state === 'logging-in', status: state === 'idle' ? '' : this.data[key] || '' })
    },
    onToggle(this: Self) {
      if (this.data.busy) return
      this.setData({ agreed: !this.data.agreed })
      if (this.data.state === 'need-consent') this.show('idle')
    },
    link(this: Self, kind: string, url: string) {
      this.triggerEvent('link', { kind })
      const wired = this.data.wired ? wire(TAG, this) : null
      if (!wired) return
      const api = wired.auth.platform
      // Without a page of its own, the privacy policy is the one filed with WeChat.
      if (!url && kind === 'user-agreement') return
      const done = url ? hostCall(api, 'navigateTo', { url }) : hostCall(api, 'openPrivacyContract')
      done.catch((e: { errMsg?: string }) => report(this, { code: 'CONFIG', message: `${url ? 'navigateTo(' + url + ')' : 'openPrivacyContract'} failed (${e && e.errMsg})` }))
    },
    onUserAgreement(this: Self) {
      this.link('user-agreement', this.data.userAgreementUrl)
    },
    onPrivacyPolicy(this: Self) {
      this.link('privacy-policy', this.data.privacyPolicyUrl)
    },
    onLogin(this: Self) {
      const wired = this.data.wired ? wire(TAG, this) : null
      if (!wired || this.data.busy) return
      if (!this.data.agreed) return this.show('need-consent')
      this.show('logging-in')
      wired.auth.login().then(
        (session) => {
          this.show('done')
          this.triggerEvent('login', { user: session.user })
        },
        (err) => {
          this.show('error')
          report(this, err)
        },
      )
    },
    /** The phone button tapped: without consent it has no open-type, so this is all that happens. */
    onPhoneTap(this: Self) {
      if (!this.data.agreed && !this.data.busy) this.show('need-consent')
    },
    onPhone(this: Self, e: { detail?: { errMsg?: string } }) {
      const wired = this.data.wired ? wire(TAG, this) : null
      if (!wired || this.data.busy || !this.data.agreed) return
      const errMsg = e && e.detail && e.detail.errMsg
      this.show('logging-in')
      // A refusal rejects in bindPhoneNumber before anything is sent: don't log in for it.
      const refused = typeof errMsg === 'string' && !/:ok$/.test(errMsg)
      const login = refused ? Promise.resolve(null) : wired.auth.login()
      let user: unknown
      login
        .then((session) => {
          user = session && session.user
          return bindPhoneNumber(wired.auth, e, wired.options.phone)
        })
        .then(
          (phone) => {
            this.show('done')
            this.triggerEvent('login', { user, phone })
          },
          (err) => {
            const code = err && err.code
            this.show(code === 'PHONE_DENIED' ? 'denied' : code === 'PHONE_QUOTA' ? 'quota' : 'error')
            if (code === 'PHONE_DENIED') this.triggerEvent('denied', { errMsg: err.errMsg })
            else report(this, err)
          },
        )
    },
  },
})
