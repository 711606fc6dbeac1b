/**
 * `<auth-privacy-popup>`: the privacy popup every app calling a privacy API has needed since
 * WeChat base library 2.32.3. Put one on each page that calls such an API (or in a page wrapper);
 * it opens when the host asks (`onNeedPrivacyAuthorization`), shows the contract name from
 * `getPrivacySetting` with a link that opens it (`openPrivacyContract`), and answers with
 * `<button open-type="agreePrivacyAuthorization">` (agree) or 'disagree'. However many pages hold
 * one, each prompt is answered once, and none is left pending when the popups go away
 * (common/privacy-hub.ts).
 *
 * Events: `agree`, `disagree`, `open` { referrer }, `error` { code, message }.
 */
import type { Platform } from '../../core'
import { define, hostCall, properties, wire, type Instance } from '../common/define'
import { answer, attachPopup, detachPopup, popupVisible, type Popup } from '../common/privacy-hub'

const TAG = 'auth-privacy-popup'
/** The agree button's id: WeChat checks that the button named in the answer was tapped. */
const AGREE_ID = 'auth-privacy-agree'

type Self = Instance & { __popup?: Popup; __platform?: Platform }

define({
  externalClasses: ['auth-class', 'auth-button-class'],
  properties: properties(TAG, {
    title: ['string', '用户隐私保护提示'],
    intro: ['string', '感谢你使用本小程序。在使用前，请仔细阅读'],
    outro: ['string', '。如你同意，请点击“同意”开始使用。'],
    contractName: ['string', ''],
    agreeText: ['string', '同意'],
    disagreeText: ['string', '拒绝'],
  }),
  data: { wired: false, show: false, contract: '《隐私保护指引》', agreeId: AGREE_ID },
  lifetimes: {
    attached(this: Self) {
      const wired = wire(TAG, this)
      if (!wired) return
      const platform = (this.__platform = wired.auth.platform as Platform | undefined)
      const self = this
      this.__popup = {
        visible: true,
        open(referrer?: string) {
          if (self.data.show) return
          self.setData({ show: true })
          self.triggerEvent('open', { referrer })
          if (self.data.contractName) return self.setData({ contract: self.data.contractName })
          hostCall<{ privacyContractName?: string }>(platform, 'getPrivacySetting').then(
            (res) => res && res.privacyContractName && self.setData({ contract: res.privacyContractName }),
            () => undefined,
          )
        },
        close() {
          if (self.data.show) self.setData({ show: false })
        },
      }
      attachPopup(this.__popup, platform)
    },
    detached(this: Self) {
      if (this.__popup) detachPopup(this.__popup)
    },
  },
  pageLifetimes: {
    show(this: Self) {
      if (this.__popup) popupVisible(this.__popup, true)
    },
    hide(this: Self) {
      if (this.__popup) popupVisible(this.__popup, false)
    },
  },
  methods: {
    onAgree(this: Self) {
      if (!this.data.show) return
      answer('agree', AGREE_ID)
      this.triggerEvent('agree')
    },
    onDisagree(this: Self) {
      if (!this.data.show) return
      answer('disagree')
      this.triggerEvent('disagree')
    },
    onContract(this: Self) {
      hostCall(this.__platform, 'openPrivacyContract').catch((e: { errMsg?: string }) =>
        this.triggerEvent('error', { code: 'UNSUPPORTED', message: `openPrivacyContract failed (${e && e.errMsg})` }),
      )
    },
    noop() {
      return undefined
    },
  },
})
