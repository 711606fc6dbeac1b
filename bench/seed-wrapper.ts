/**
 * A transcription of the seed document's `utils/request.ts` and `login()`, kept as the baseline
 * the benchmark compares against. Two changes only, both needed for it to run at all:
 * `wx.login` and `wx.request` are wrapped in promises (the seed awaits `wx.request(...)`, which
 * returns a RequestTask, so its login could never read `res.data`), and `wx` is passed in.
 * Its behaviour is otherwise as written: a new login for every 401, a retry with no limit, and
 * `login().then(...)` with no rejection handler, so a failed re-login never settles the request.
 */
type Wx = Record<string, any>

export function createSeedWrapper(wx: Wx, base: string) {
  const wxLogin = () => new Promise<{ code: string }>((resolve, reject) => wx.login({ success: resolve, fail: reject }))
  const wxRequest = (o: Record<string, unknown>) =>
    new Promise<{ statusCode: number; data: any }>((resolve, reject) => wx.request({ ...o, success: resolve, fail: reject }))

  async function login() {
    const { code } = await wxLogin()
    const res = await wxRequest({ url: base + '/api/auth/login', method: 'POST', data: { code } })
    if (res.data && res.data.token) {
      wx.setStorageSync('token', res.data.token)
      return res.data
    } else {
      throw new Error('登录失败')
    }
  }

  function request(options: { url: string; method?: string; data?: unknown; header?: Record<string, string> }): Promise<any> {
    const token = wx.getStorageSync('token')
    return new Promise((resolve, reject) => {
      wx.request({
        ...options,
        url: base + options.url,
        header: {
          'Content-Type': 'application/json',
          Authorization: token ? `Bearer ${token}` : '',
          ...options.header,
        },
        success(res: { statusCode: number; data: unknown }) {
          if (res.statusCode === 401) {
            wx.removeStorageSync('token')
            login().then(() => {
              request(options).then(resolve).catch(reject)
            })
            return
          }
          if (res.statusCode >= 200 && res.statusCode < 300) resolve(res.data)
          else reject(res)
        },
        fail: reject,
      })
    })
  }
  return { login, request }
}
