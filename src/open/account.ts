/**
 * Account deletion: `deleteAccount(auth)` asks your server to delete the user's account
 * (`DELETE /api/user/me` on weapp-auth-server: fields, identities, every session), then forgets
 * the session here as `auth.logout()` does (emits `logout`). China's PIPL (art. 47) and WeChat's
 * review ask apps with accounts to offer this.
 */
import type { Auth } from '../core/auth'
import { AuthError } from '../base/errors'
import { checkInstance, type AuthInstance } from './instance'

export interface DeleteAccountOptions {
  /** Your endpoint. Default `/api/user/me` (the ready-made server's), relative to `baseURL`. */
  url?: string
}

/**
 * Deletes the account on your server, then logs out here. Rejects, and keeps the session, when the
 * server refused or could not be reached: nothing is half-done on this side. A token the server no
 * longer accepts rejects with `UNAUTHORIZED` (log in again, then retry): it never logs in again by
 * itself, since that would create a new account only to delete it.
 */
export function deleteAccount(auth: AuthInstance & Pick<Auth<unknown>, 'logout'>, options: DeleteAccountOptions = {}): Promise<void> {
  checkInstance(auth, 'deleteAccount')
  if (typeof auth.logout !== 'function') return Promise.reject(new AuthError('INVALID_INPUT', 'deleteAccount(auth) needs the createAuth() instance.'))
  return auth.request({ url: options.url || '/api/user/me', method: 'DELETE', retry: false, dataType: 'text' }).then(() => {
    auth.logout()
  })
}
