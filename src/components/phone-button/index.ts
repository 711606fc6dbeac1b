/**
 * `<auth-phone-button>`: `<button open-type="getPhoneNumber">` (or `getRealtimePhoneNumber`
 * with the `realtime` property: WeChat's real-time verification, whose event is
 * `getrealtimephonenumber`), whose event goes to `bindPhoneNumber` through the instance given to
 * `provideAuth`.
 *
 * States: idle, binding, bound, denied, quota, error. A deny or a used-up quota (errno 1400001)
 * shows its state and sends nothing. An event while binding is ignored: never a second request.
 *
 * Events: `bound` (your server's answer), `denied` { errMsg }, `error` { code, message }.
 */
import { bindPhoneNumber } from '../../open'
import { define, properties, report, wire, type Instance } from '../common/define'

const TAG = 'auth-phone-button'

type Self = Instance & { show: (s: string) => void }

define({
  externalClasses: ['auth-class', 'auth-button-class'],
  properties: properties(TAG, {
    realtime: ['boolean', false],
    text: ['string', '使用微信手机号'],
    bindingText: ['string', '正在验证…'],
    boundText: ['string', '手机号已绑定'],
    deniedText: ['string', '你拒绝了授权，可改用短信验证'],
    quotaText: ['string', '手机号验证次数已用完，请改用短信验证'],
    errorText: ['string', '绑定失败，请稍后重试'],
  }),
  data: { wired: false, state: 'idle', status: '', busy: false, phoneNumber: '' },
  lifetimes: {
    attached(this: Instance) {
      wire(TAG, this)
    },
  },
  methods: {
    show(this: Instance, state: string) {
      this.setData({ state, busy: state === 'binding', status: state === 'idle' ? '' : this.data[state + 'Text'] || '' })
    },
    onPhone(this: Self, e: { detail?: { errMsg?: string } }) {
      const wired = this.data.wired ? wire(TAG, this) : null
      if (!wired || this.data.busy) return
      this.show('binding')
      bindPhoneNumber<{ phoneNumber?: string; purePhoneNumber?: string }>(wired.auth, e, wired.options.phone).then(
        (res) => {
          this.setData({ phoneNumber: (res && (res.phoneNumber || res.purePhoneNumber)) || '' })
          this.show('bound')
          this.triggerEvent('bound', res)
        },
        (err) => {
          // By code, not instanceof: under uni-app or Taro the errors come from the app's own copy.
          const code = err && err.code
          if (code === 'PHONE_DENIED') {
            this.show('denied')
            return this.triggerEvent('denied', { errMsg: err.errMsg })
          }
          this.show(code === 'PHONE_QUOTA' ? 'quota' : 'error')
          report(this, err)
        },
      )
    },
  },
})
