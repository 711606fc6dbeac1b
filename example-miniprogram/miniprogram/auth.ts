/** The app's one auth instance, created on first use so that config can be set before. */
import { createAuth, type Auth } from 'weapp-auth'
import { config } from './config'

export interface User {
  id: number
  nickName: string
  avatarUrl: string
  phoneNumber?: string
}

let instance: Auth<User> | null = null

export function getAuth(): Auth<User> {
  if (!instance) {
    instance = createAuth<User>({
      baseURL: config.baseURL,
      login: { url: '/api/auth/login' },
      refresh: { url: '/api/auth/refresh' },
      debug: config.debug,
    })
  }
  return instance
}
