import { isWeappAuthError } from 'weapp-auth'
import { bindPhoneNumber } from 'weapp-auth/open'
import { getAuth } from '../../auth'

Component({
  data: { phoneNumber: '', status: '' },
  methods: {
    /**
     * The getPhoneNumber button's event: WeChat hands out a `code`, QQ and Douyin `encryptedData`/`iv`;
     * bindPhoneNumber posts whichever it is with the host's name. On Alipay, bind it to
     * `<button open-type="getAuthorize" scope="phoneNumber" onGetAuthorize="onGetPhoneNumber">`: that
     * event carries nothing, and bindPhoneNumber calls my.getPhoneNumber itself.
     */
    async onGetPhoneNumber(e: { detail: { errMsg?: string; code?: string; errno?: number; encryptedData?: string; iv?: string } }) {
      try {
        const res = await bindPhoneNumber<{ phoneNumber: string }>(getAuth(), e)
        this.setData({ phoneNumber: res.phoneNumber, status: '手机号已绑定' })
      } catch (err) {
        if (isWeappAuthError(err, 'PHONE_DENIED')) return this.setData({ status: '你拒绝了授权,可改用短信验证' })
        this.setData({ status: '绑定失败:' + (err as Error).message })
      }
    },
  },
})
