import { getAuth, type User } from '../../auth'

Component({
  data: { loggedIn: false, user: null as User | null, status: '' },
  lifetimes: {
    attached() {
      this.load()
    },
  },
  methods: {
    /** Waits for the launch login if it is still running, then shows the user. */
    async load() {
      try {
        const user = await getAuth().get<User>('/api/user/me')
        this.setData({ user, loggedIn: getAuth().isLoggedIn(), status: '' })
      } catch (err) {
        this.setData({ status: '加载失败:' + (err as Error).message, loggedIn: getAuth().isLoggedIn() })
      }
    },
    /** Several requests at once: after a token expiry they share one re-login. */
    async reloadMany() {
      try {
        const all = await Promise.all([1, 2, 3, 4, 5].map(() => getAuth().get<User>('/api/user/me')))
        this.setData({ user: all[0], loggedIn: true, status: `已刷新 ${all.length} 次` })
      } catch (err) {
        this.setData({ status: '刷新失败:' + (err as Error).message })
      }
    },
    onLogout() {
      getAuth().logout()
      this.setData({ loggedIn: false, user: null, status: '已退出' })
    },
  },
})
