import { getAuth } from './auth'

App({
  onLaunch() {
    // Zero requests when a stored token is still good and wx.checkSession agrees.
    getAuth()
      .checkAndLogin()
      .catch((err: { code?: string; message?: string }) => console.warn('[example] login failed', err.code, err.message))
  },
})
