/**
 * `<auth-profile-form>`: the avatar (`<button open-type="chooseAvatar">`) and the nickname
 * (`<input type="nickname">` in a `<form>`, read at submit as WeChat advises), uploaded with
 * `uploadAvatar` and saved with `updateProfile` through the instance given to `provideAuth`.
 *
 * States (`state` in its data, and the class `auth-profile-form__status--<state>`): idle,
 * uploading, uploaded, saving, saved, review-failed, invalid, error (network). A chooseavatar or
 * a submit while uploading or saving is ignored: never a second request. A closed avatar picker
 * sends no event on WeChat (or one without a path): nothing happens
 * (https://developers.weixin.qq.com/community/develop/doc/0006081d7485507c3dce2cb0551400: "如果用户
 * 点击取消，这个事件不被触发"). The nickname review (`bindnicknamereview`, `{ pass, timeout }`)
 * runs on blur, and a failed check empties the input, hence the value read at submit
 * (https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/userProfile.html).
 *
 * Events: `uploaded` { avatarUrl, response }, `saved` (your server's answer: the user), `error`
 * { code, message }.
 */
import { updateProfile, uploadAvatar } from '../../open'
import { define, properties, report, wire, type Instance } from '../common/define'

const TAG = 'auth-profile-form'
const BUSY = ['uploading', 'saving']

define({
  externalClasses: ['auth-class', 'auth-avatar-class', 'auth-input-class', 'auth-button-class'],
  properties: properties(TAG, {
    avatarUrl: ['string', ''],
    nickName: ['string', ''],
    maxLength: ['number', 20],
    avatarLabel: ['string', '选择头像'],
    nicknameLabel: ['string', '昵称'],
    placeholder: ['string', '请输入昵称'],
    submitText: ['string', '保存'],
    uploadingText: ['string', '头像上传中…'],
    uploadedText: ['string', '头像已上传'],
    savingText: ['string', '保存中…'],
    savedText: ['string', '已保存'],
    reviewFailedText: ['string', '昵称未通过微信的安全检测，请换一个'],
    invalidText: ['string', '请填写昵称，最多 {max} 个字'],
    errorText: ['string', '网络异常，请稍后重试'],
  }),
  data: { wired: false, state: 'idle', status: '', busy: false, reviewFailed: false, defaultAvatar: './default-avatar.png' },
  lifetimes: {
    attached(this: Instance) {
      wire(TAG, this)
    },
  },
  methods: {
    /** Sets the state and its text (`<state>Text`). */
    show(this: Instance, state: string, text?: string) {
      const key = state.replace(/-(\w)/g, (_: string, c: string) => c.toUpperCase()) + 'Text'
      this.setData({ state, busy: BUSY.indexOf(state) >= 0, status: text !== undefined ? text : this.data[key] || '' })
    },
    onChooseAvatar(this: Instance & { show: (s: string, t?: string) => void }, e: { detail?: { avatarUrl?: string } }) {
      const path = e && e.detail && e.detail.avatarUrl
      const wired = this.data.wired ? wire(TAG, this) : null
      if (!wired || !path || this.data.busy) return
      const before = this.data.avatarUrl
      this.setData({ avatarUrl: path })
      this.show('uploading')
      uploadAvatar<{ url?: string; avatarUrl?: string }>(wired.auth, path, wired.options.avatar).then(
        (res) => {
          const url = (res && (res.url || res.avatarUrl)) || path
          this.setData({ avatarUrl: url })
          this.show('uploaded')
          this.triggerEvent('uploaded', { avatarUrl: url, response: res })
        },
        (err) => {
          this.setData({ avatarUrl: before })
          this.show('error')
          report(this, err)
        },
      )
    },
    onNicknameReview(this: Instance & { show: (s: string, t?: string) => void }, e: { detail?: { pass?: boolean; timeout?: boolean } }) {
      const d = (e && e.detail) || {}
      // A timed-out check cleared nothing: the server checks the name again when it is saved.
      const failed = !d.pass && !d.timeout
      this.setData({ reviewFailed: failed })
      if (failed) this.show('review-failed')
      else if (this.data.state === 'review-failed') this.show('idle')
    },
    onSubmit(this: Instance & { show: (s: string, t?: string) => void }, e: { detail?: { value?: { nickName?: unknown } } }) {
      const wired = this.data.wired ? wire(TAG, this) : null
      if (!wired || this.data.busy) return
      if (this.data.reviewFailed) return this.show('review-failed')
      const value = e && e.detail && e.detail.value
      const nickName = value && typeof value.nickName === 'string' ? value.nickName : ''
      const max = this.data.maxLength
      this.show('saving')
      updateProfile(wired.auth, { nickName }, Object.assign({}, wired.options.profile, { maxLength: max })).then(
        (user) => {
          this.setData({ nickName: (user && (user as { nickName?: string }).nickName) || nickName.trim() })
          this.show('saved')
          this.triggerEvent('saved', user)
        },
        (err) => {
          // By code, not instanceof: under uni-app or Taro the instance's errors come from the app's own copy.
          if (err && err.code === 'INVALID_INPUT') this.show('invalid', String(this.data.invalidText).replace('{max}', String(max)))
          else this.show('error')
          report(this, err)
        },
      )
    },
  },
})
