import { isWeappAuthError } from 'weapp-auth'
import { updateProfile, uploadAvatar } from 'weapp-auth/open'
import { getAuth } from '../../auth'

Component({
  data: { avatarUrl: '/images/default-avatar.png', nickName: '', nicknameOk: false, status: '' },
  methods: {
    async onChooseAvatar(e: { detail: { avatarUrl: string } }) {
      this.setData({ avatarUrl: e.detail.avatarUrl, status: '上传中…' })
      try {
        const { url } = await uploadAvatar<{ url: string }>(getAuth(), e)
        this.setData({ avatarUrl: url, status: '头像已上传' })
      } catch (err) {
        this.setData({ status: '上传失败:' + (err as Error).message })
      }
    },
    /** WeChat's content check ran on blur; a failed check has already emptied the input. */
    onNicknameReview(e: { detail: { pass: boolean; timeout: boolean } }) {
      this.setData({ nicknameOk: e.detail.pass, status: e.detail.pass ? '' : '昵称未通过检测,请换一个' })
    },
    /** The value comes from the form submit, as WeChat advises for type="nickname". */
    async onSave(e: { detail: { value: { nickName: string } } }) {
      if (!this.data.nicknameOk) return this.setData({ status: '请先填写昵称' })
      try {
        const user = await updateProfile<{ nickName: string }>(getAuth(), { nickName: e.detail.value.nickName })
        this.setData({ nickName: user.nickName, status: '昵称已保存' })
      } catch (err) {
        this.setData({ status: isWeappAuthError(err, 'INVALID_INPUT') ? '昵称不能为空或过长' : '保存失败:' + (err as Error).message })
      }
    },
  },
})
