import { provideAuth } from 'weapp-auth/components'
import { getAuth } from './auth'

// The one line that wires <auth-profile-form>, <auth-phone-button>, <auth-privacy-popup> and
// <auth-login-panel> (and guardPage) to the app's instance.
provideAuth(getAuth())

App({
  onLaunch() {
    // Zero requests when a stored token is still good and wx.checkSession agrees.
    getAuth()
      .checkAndLogin()
      .catch((err: { code?: string; message?: string }) => console.warn('[example] login failed', err.code, err.message))
  },
})
