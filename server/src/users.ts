/**
 * The default UserRepository: users kept in the store, one per `platform:openid`, joined by a
 * unionid when the host answers one (see `storeUsers`). The store's findOrCreateUser is atomic,
 * so two instances logging in the same new user agree on one id.
 * A new user starts as `{ nickName: '微信用户', avatarUrl: '', platform }`, what WeChat itself shows for
 * a user who has not set a profile, and the host the user logs in from ('weixin', 'qq', 'douyin',
 * 'alipay': the nickname check and the phone route follow it). openid and unionid are never stored in the user's fields, so they
 * cannot reach a client through them.
 */
import type { Store, StoredUser } from './stores/store'
import type { HostPlatform, PublicUser, UserRepository } from './types'

export const DEFAULT_USER_FIELDS: Readonly<Record<string, unknown>> = Object.freeze({ nickName: '微信用户', avatarUrl: '' })

export interface StoreUser extends PublicUser {
  id: string
  /** The host the user logs in from (set at creation). */
  platform?: HostPlatform
  nickName?: string
  avatarUrl?: string
  phoneNumber?: string
}

export interface StoreUserRepository extends UserRepository<StoreUser> {
  /** The store these users live in (see USERS_IN_STORE). */
  readonly [USERS_IN_STORE]?: Store
  findOrCreate(identity: { openid: string; unionid?: string; platform: HostPlatform }): Promise<StoreUser>
  findById(id: string): Promise<StoreUser | null>
  /** Merges `patch` into the user's fields (nickName, avatarUrl, phoneNumber, …); null when there is no such user. */
  updateUser(id: string, patch: Record<string, unknown>): Promise<StoreUser | null>
  /** Removes the user's fields and identities (auth.deleteUser does this and more: use that). */
  deleteUser(id: string): Promise<boolean>
}

/**
 * Marks a repository whose users live in the store (its value is that store): createAuthServer
 * then refuses a token whose user no longer exists, at no extra round trip (Store.checkSubject
 * answers it with the generation). Kept by `{ ...storeUsers(store), findOrCreate }` spreads.
 */
export const USERS_IN_STORE: unique symbol = Symbol.for('weapp-auth-server.usersInStore') as never

/** A stored user as the repository answers it: its fields, and its id. */
export function userFromStore(stored: StoredUser): StoreUser {
  return { ...stored.fields, id: stored.id }
}
const toUser = userFromStore

/**
 * Set on the default repository's `findById`: it reads nothing but the store's user record, so
 * the core may answer that record from the token check's round trip instead (Store.checkSubject
 * `withUser`). A `findById` of yours, even on a spread of `storeUsers(store)`, is always called.
 */
export const FIND_BY_ID_READS_STORE: unique symbol = Symbol.for('weapp-auth-server.findByIdReadsStore') as never

/** Two accounts that turn out to be one person (they share a unionid): see `onIdentityConflict`. */
export interface IdentityConflict {
  platform: HostPlatform
  /** The account this login answered: the one the openid already named. */
  kept: string
  /** The account the unionid already named. Nothing was moved or merged. */
  other: string
}

export interface StoreUsersOptions {
  /**
   * Called when a login's openid and unionid name two different accounts (both existed before the
   * app was bound to the open platform, say). Neither is merged or moved: the login answers the
   * account its openid names, and the unionid stays with the other. Merge them here if your app
   * wants to (a listener's error is ignored: it never fails a login).
   */
  onIdentityConflict?: (conflict: IdentityConflict) => void | Promise<void>
}

/**
 * Users kept in the store. An identity is `<platform>:<openid>`; when a host answers a unionid,
 * `<platform>-union:<unionid>` joins it, so the same person in two apps of one open-platform
 * account is one user. unionids are linked within a host only (QQ's are their own space).
 */
export function storeUsers(store: Store, options: StoreUsersOptions = {}): StoreUserRepository {
  return {
    [USERS_IN_STORE]: store,
    async findOrCreate({ openid, unionid, platform }) {
      const linkKey = typeof unionid === 'string' && unionid !== '' ? `${platform}-union:${unionid}` : undefined
      const stored = await store.findOrCreateUser(`${platform}:${openid}`, { ...DEFAULT_USER_FIELDS, platform }, linkKey)
      if (stored.conflict !== undefined && options.onIdentityConflict) {
        try {
          await options.onIdentityConflict({ platform, kept: stored.id, other: stored.conflict })
        } catch {
          // the app's listener must not fail a login
        }
      }
      return toUser({ id: stored.id, fields: stored.fields })
    },
    findById: Object.assign(
      async (id: string) => {
        const stored = await store.getUser(id)
        return stored ? toUser(stored) : null
      },
      { [FIND_BY_ID_READS_STORE]: true },
    ),
    async updateUser(id, patch) {
      const { id: _ignored, openid: _o, unionid: _u, session_key: _s, sessionKey: _k, ...safe } = patch
      const stored = await store.updateUser(id, safe)
      return stored ? toUser(stored) : null
    },
    async deleteUser(id) {
      // The store ends the user's sessions too; the refresh lifetime is not known here, so a year.
      return store.deleteUser(id, 365 * 24 * 3600)
    },
  }
}
