/**
 * Avatar and nickname: <auth-profile-form> uploads the avatar (uploadAvatar), takes the nickname
 * WeChat reviewed and saves it (updateProfile). <auth-privacy-popup> answers the privacy prompt
 * the nickname input and the avatar picker may raise.
 */
Component({
  data: { nickName: '' },
  methods: {
    onSaved(e: { detail: { nickName: string } }) {
      this.setData({ nickName: e.detail.nickName })
    },
  },
})
