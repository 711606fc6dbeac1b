/**
 * The phone number: <auth-phone-button> sends what the host hands out to bindPhoneNumber, and shows
 * a deny or a used-up quota without sending anything. On Alipay, which has no such button, call
 * bindPhoneNumber(auth) from `<button open-type="getAuthorize" scope="phoneNumber">` instead: it
 * calls my.getPhoneNumber itself.
 */
Component({
  data: { phoneNumber: '' },
  methods: {
    onBound(e: { detail: { phoneNumber: string } }) {
      this.setData({ phoneNumber: e.detail.phoneNumber })
    },
  },
})
