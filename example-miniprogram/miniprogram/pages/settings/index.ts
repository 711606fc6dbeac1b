import { ensureScope } from 'weapp-auth/open'

Component({
  data: { scopeState: '', status: '' },
  methods: {
    /** A tap handler: ensureScope may have to open the settings page, which needs a tap. No auth instance needed. */
    async onSaveToAlbum() {
      try {
        const state = await ensureScope('scope.writePhotosAlbum', {
          rationale: { title: '需要相册权限', content: '保存海报需要「保存到相册」权限,请在设置中开启。' },
        })
        this.setData({ scopeState: state, status: state === 'granted' ? '可以保存了' : '未获得相册权限' })
      } catch (err) {
        this.setData({ status: '出错了:' + (err as Error).message })
      }
    },
  },
})
