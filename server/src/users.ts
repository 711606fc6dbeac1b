/**
 * The default UserRepository: users kept in the store, one per `platform:openid` (the store's
 * findOrCreateUser is atomic, so two instances logging in the same new user agree on one id).
 * A new user starts as `{ nickName: '微信用户', avatarUrl: '', platform }`, what WeChat itself shows for
 * a user who has not set a profile, and the host the user logs in from ('weixin', 'qq', 'douyin',
 * 'alipay': WeChat-only checks such as msg_sec_check need to know). openid and unionid are never stored in the user's fields, so they
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

function toUser(stored: StoredUser): StoreUser {
  return { ...stored.fields, id: stored.id }
}

export function storeUsers(store: Store): StoreUserRepository {
  return {
    [USERS_IN_STORE]: store,
    async findOrCreate({ openid, platform }) {
      return toUser(await store.findOrCreateUser(`${platform}:${openid}`, { ...DEFAULT_USER_FIELDS, platform }))
    },
    async findById(id) {
      const stored = await store.getUser(id)
      return stored ? toUser(stored) : null
    },
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
