/**
 * The Redis store's key names, in its two layouts (see the key layout in redis.ts). `tagged`: the
 * cluster layout, where the keys one atomic step touches share a hash tag `{…}`; otherwise the
 * historical names of a single Redis.
 */
export interface RedisKeys {
  refreshFamily(hash: string): string
  refresh(family: string, hash: string): string
  family(family: string): string
  familyState(family: string): string
  jti(jti: string): string
  notBefore(kind: 'access' | 'refresh'): string
  session(openid: string): string
  sessionOwner(userId: string): string
  accessToken(appid: string): string
  lock(name: string): string
  hit(key: string): string
  identity(key: string): string
  user(id: string): string
  userIdentities(id: string): string
  userSessions(id: string): string
  userNotBefore(id: string): string
  generation: string
}

export function redisKeys(prefix: string, tagged: boolean): RedisKeys {
  /** The hash tag of an entity in cluster layout; the plain name otherwise. */
  const tag = (id: string) => (tagged ? `{${id}}` : id)
  return {
    refreshFamily: (hash) => `${prefix}refresh-family:${hash}`,
    refresh: (family, hash) => (tagged ? `${prefix}refresh:{${family}}:${hash}` : `${prefix}refresh:${hash}`),
    family: (family) => `${prefix}family-revoked:${tag(family)}`,
    familyState: (family) => `${prefix}family:${tag(family)}`,
    jti: (jti) => `${prefix}jti-revoked:${jti}`,
    notBefore: (kind) => `${prefix}not-before:${kind}`,
    session: (openid) => `${prefix}session:${openid}`,
    sessionOwner: (userId) => `${prefix}session-owner:${tag(userId)}`,
    accessToken: (appid) => `${prefix}access-token:${appid}`,
    lock: (name) => `${prefix}lock:${name}`,
    hit: (key) => `${prefix}hit:${key}`,
    identity: (key) => `${prefix}identity:${key}`,
    user: (id) => `${prefix}user:${tag(id)}`,
    userIdentities: (id) => `${prefix}user-identities:${tag(id)}`,
    userSessions: (id) => `${prefix}user-sessions:${tag(id)}`,
    userNotBefore: (id) => `${prefix}user-not-before:${tag(id)}`,
    generation: `${prefix}generation`,
  }
}
