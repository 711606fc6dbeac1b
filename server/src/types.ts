/**
 * The public shapes of weapp-auth-server's core. `createAuthServer(options)` (auth-server.ts)
 * returns an `AuthServer`; adapters (fastify.ts, the bin) only use this interface.
 */
import type { Store } from './stores/store'

/** The mini program host a login code comes from (the SDK sends it as `platform`). */
export type HostPlatform = 'weixin' | 'qq' | 'douyin' | 'alipay'

/** What a host's code exchange yields. `sessionKey` stays on the server, always. */
export interface HostSession {
  openid: string
  unionid?: string
  sessionKey?: string
}

/**
 * What a client posts for the phone number, as the host handed it out (the SDK's `PhoneCredential`):
 * WeChat `{ code }` (or the older `{ encryptedData, iv }`); QQ and Douyin `{ encryptedData, iv }`,
 * encrypted with the user's session_key; Alipay `{ response }`, the whole string my.getPhoneNumber
 * answered (`{"response":"<AES ciphertext>","sign":"…",…}`), signed by Alipay and encrypted with the app's AES key.
 */
export interface PhoneCredential {
  /** Default 'weixin'. */
  platform?: HostPlatform
  code?: string
  encryptedData?: string
  iv?: string
  response?: string
}

/** Exchanges a login code with one host's API (WeChat's jscode2session is built in). */
/**
 * What the server lends a provider for one call: the clock, its store (where a host's access
 * token is shared by every instance) and its event sink.
 */
export interface ProviderContext {
  nowMs: number
  now: () => number
  store: Store
  emit: (event: AuthServerEvent) => void
}

/** A user's text for a host's content check. `openid` is this user's on that host, when a session is kept (WeChat's check needs it). */
export interface TextCheckInput {
  text: string
  scene: 1 | 2 | 3 | 4
  openid?: string
}

/**
 * One mini program host: WeChat (providers/wechat.ts, built from `appid`/`secret`), QQ, Douyin,
 * Alipay, or one of your own. The core knows none of them; it routes on the platform a client
 * names (login) or its session logged in from (phone numbers, text checks).
 */
export interface SessionProvider {
  readonly platform: HostPlatform
  /** The host's AppID: the `watermark.appid` of data encrypted with a session_key this host issued. */
  readonly appid?: string
  code2Session(input: { code: string; anonymousCode?: string }, context?: ProviderContext): Promise<HostSession>
  /**
   * Reads the phone number out of what this host's client posted. `sessionKey` is the user's
   * latest one from this server's store (undefined when none is kept). Absent: this provider
   * reads no phone numbers (the server answers 400 unsupported_platform).
   */
  phoneNumber?(credential: PhoneCredential, sessionKey: string | undefined, context?: ProviderContext): Promise<PhoneInfo> | PhoneInfo
  /**
   * The host's own text check ('risky' → the server answers 422 content_risky). Absent: the host
   * offers none, and text from its users is saved unchecked.
   */
  checkText?(input: TextCheckInput, context: ProviderContext): Promise<TextCheckResult>
  /** The host's shared access token (one renewal for every instance), where it has one. */
  accessToken?(context: ProviderContext, options?: { force?: boolean }): Promise<string>
}

/** The app's own users. The kit hands over openid/unionid once per login and never returns them to a client. */
export interface UserRepository<U extends PublicUser = PublicUser> {
  /** Finds the user for this openid or creates one. Called on every login; must be idempotent under concurrency. */
  findOrCreate(identity: { openid: string; unionid?: string; platform: HostPlatform }): Promise<U> | U
  /** Optional: lets `refresh()` answer with `user` too. */
  findById?(id: string): Promise<U | null | undefined> | U | null | undefined
  /**
   * Optional: removes the user (their fields and identities) for `auth.deleteUser(id)`; answers
   * whether there was such a user. The store-backed default has it.
   */
  deleteUser?(id: string): Promise<boolean> | boolean
}

/** What a client may see of a user. `id` becomes the token's `sub`. Never include openid, unionid or session_key. */
export interface PublicUser {
  id: string | number
  [field: string]: unknown
}

export interface JwtKey {
  /** Key id, written to the token header; verification picks the key by it. */
  kid: string
  /** HS256 secret, at least 32 bytes. */
  secret: string | Uint8Array
}

export interface AuthServerOptions<U extends PublicUser = PublicUser> {
  /** Mini program AppID and AppSecret (code2Session, access_token). */
  appid: string
  secret: string
  /**
   * More WeChat mini programs served by this server, each with its own secret and access_token.
   * A login then names its app (`appid` in the body: the SDK sends it); one without, while
   * several are served, is refused (400 unknown_app), never guessed.
   */
  apps?: Array<{ appid: string; secret: string }>
  /**
   * HS256 (pinned). `secret` alone means one key with kid "default"; `keys` rotates: the first
   * signs, all verify. `verifyCacheSize`: how many tokens that verified are remembered with their
   * claims, so a client's next request with the same token skips the signature check (never the
   * expiry or the revocation checks). Default 10000 (about 6 MB); 0 remembers none.
   */
  jwt: { secret?: string | Uint8Array; keys?: JwtKey[]; issuer?: string; audience?: string; verifyCacheSize?: number }
  /** Access-token lifetime. Default 7 days: a reasonable expiry, with a refresh token to renew it. */
  tokenTtlSeconds?: number
  /** Refresh-token lifetime; each rotation starts a new one. Default 30 days. */
  refreshTtlSeconds?: number
  /** How long a session_key is kept per openid (for decrypt). Default 3 days. */
  sessionKeyTtlSeconds?: number
  /**
   * Where everything is kept. Default `memoryStore()` (one process). Use `redisStore(url)` for many
   * instances; `redisStore({ cluster: [{ host, port }, …] })` (or an ioredis `Cluster` client) for a
   * Redis Cluster, `redisStore({ sentinels: [{ host, port }, …], name })` for Redis with Sentinel.
   */
  store?: Store
  /** The app's users. Default: users kept in the store (id, nickName, avatarUrl, phoneNumber). */
  users?: UserRepository<U>
  /** Every WeChat call goes here. Default `process.env.WX_API_BASE` or `https://api.weixin.qq.com`. */
  wxApiBase?: string
  /** 'stable' (default): POST /cgi-bin/stable_token. 'classic': GET /cgi-bin/token. */
  accessTokenMode?: 'stable' | 'classic'
  /** Renew the cached access_token when less than this is left. Default 300 s. */
  accessTokenMarginSeconds?: number
  /** Check a revocation list (token ids, families, a global not-before) in `verify`. Default false: verify is stateless. */
  revocation?: boolean
  /** Time limit for each call to WeChat. Default 5000 ms. */
  upstreamTimeoutMs?: number
  /** Other hosts' providers (QQ, Douyin, Alipay): code exchange, phone numbers, text checks. WeChat's is built from `appid` and `secret`; `providers.weixin` replaces it. */
  providers?: Partial<Record<HostPlatform, SessionProvider>>
  /** Per-client login limit, kept in the store. Default { max: 30, windowSeconds: 60 }; false turns it off. */
  loginRateLimit?: { max: number; windowSeconds: number } | false
  /**
   * A session's absolute lifetime, counted from its login: past it the refresh token is refused
   * (401 refresh_token_expired) however often it was rotated, and the SDK logs in again silently.
   * Default 90 days; at least `tokenTtlSeconds`.
   */
  sessionMaxSeconds?: number
  /**
   * WeChat's older encrypted phone format (`{ encryptedData, iv }` from getPhoneNumber before base
   * library 2.21.2). Off by default: the `code` the button hands out since 2.21.2 is exchanged by
   * the server and cannot be forged, while encrypted data is only as safe as the session_key.
   */
  legacyPhone?: boolean
  /** Per-user limit on phone-number and decrypt calls, kept in the store. Default { max: 10, windowSeconds: 3600 }; false turns it off. */
  phoneRateLimit?: { max: number; windowSeconds: number } | false
  /**
   * Per-user budget of encrypted data that fails to open, kept in the store: when it runs out the
   * user's session_key is dropped (log in again for a new one) and further attempts are refused
   * with 429 until the window ends. Default { max: 5, windowSeconds: 86400 }.
   */
  decryptFailureLimit?: { max: number; windowSeconds: number }
  /** Told of what happens (for metrics and logs). Never receives a token or a session_key. */
  onEvent?: (event: AuthServerEvent) => void
  /**
   * Called by `deleteUser(id)` once the kit has removed the user and ended their sessions: remove
   * the app's own data of this user here. `deleteUser` waits for it, and rejects if it rejects.
   */
  onUserDeleted?: (userId: string) => void | Promise<void>
  /**
   * With the default users: a login whose openid and unionid name two different accounts. Nothing
   * is merged or moved (the login answers the openid's account); merge here if your app wants to.
   */
  onIdentityConflict?: (conflict: { platform: HostPlatform; kept: string; other: string }) => void | Promise<void>
  /** Clock, for tests. Default Date.now. */
  now?: () => number
  /** fetch, for tests. Default the global fetch. */
  fetch?: typeof fetch
}

/** What the caller knows of the request: the host and the app its session logged in to (the access token's `plt` and `app`). */
export interface PhoneContext {
  platform?: HostPlatform
  appid?: string
}

export type AuthServerEvent =
  | { type: 'login'; userId: string; platform: HostPlatform }
  | { type: 'refresh'; userId: string }
  | { type: 'refresh_reuse'; userId: string; family: string }
  | { type: 'logout'; userId: string; scope?: 'all' | 'others' }
  /** A session ended from the sessions list (not the one making the call, or that one). */
  | { type: 'session_ended'; userId: string }
  | { type: 'user_deleted'; userId: string }
  | { type: 'access_token'; forced: boolean }
  | { type: 'upstream_error'; api: string; code: string }
  /** A user's encrypted data failed to open `decryptFailureLimit.max` times: their session_key was dropped. */
  | { type: 'decrypt_budget_spent'; userId: string }

/** What login and refresh answer: the SDK's contract. */
export interface TokenSet<U extends PublicUser = PublicUser> {
  token: string
  /** Seconds. */
  expiresIn: number
  refreshToken: string
  user?: U
}

export interface Claims {
  /** The user id. */
  sub: string
  /** Token id (revocation). */
  jti: string
  /** Refresh family id (logout revokes it). */
  fam: string
  /** The host the session logged in from ('weixin', 'qq', 'douyin', 'alipay'); absent on tokens of older versions. */
  plt?: HostPlatform
  /** The AppID the session logged in to (phone numbers and text checks use that app); absent on tokens of older versions. */
  app?: string
  /**
   * The store's generation when the token was signed (see Store.generation): a token whose
   * generation is not the store's current one names data the store no longer has, and is refused.
   */
  gen: string
  iat: number
  exp: number
  iss?: string
  aud?: string | string[]
}

export interface PhoneInfo {
  phoneNumber: string
  purePhoneNumber: string
  countryCode: string
}

export interface TextCheckResult {
  /** The host's verdict: 'pass', 'review' (WeChat only) or 'risky'. */
  suggest: 'pass' | 'review' | 'risky'
  /** The host's label: WeChat's (100 normal, 10001 ads, 20001 politics, …); 0 where a host gives none. */
  label: number
  traceId?: string
}

/** One session as `sessions()` lists it. Times in ms since epoch. */
export interface SessionSummary {
  /** The session's id (its refresh family): what `endSession` takes. */
  id: string
  platform?: HostPlatform
  /** The AppID it logged in to, where known. */
  appid?: string
  createdAt: number
  lastUsedAt: number
  expiresAt: number
  /** The session of the token making the call. */
  current: boolean
}

export interface AuthServer<U extends PublicUser = PublicUser> {
  /** code → code2Session → user → tokens. `client` (an IP, say) keys the login rate limit. */
  login(input: { code: string; platform?: HostPlatform; anonymousCode?: string; appid?: string }, context?: { client?: string }): Promise<TokenSet<U> & { user: U }>
  /** Rotation: each refresh token works once; a replayed one revokes its whole family. */
  refresh(refreshToken: string): Promise<TokenSet<U>>
  /** Stateless JWT check (alg pinned, iss/aud, kid), plus the revocation list when `revocation` is on. */
  verify(token: string): Promise<Claims>
  /**
   * `verify(token)`, and the token's user as the users repository answers it (null when it has no
   * such user, or no `findById`). With the default users (kept in the store) the user comes in the
   * same store round trip as the token's revocation checks: a route that needs the user costs no
   * more than one that does not.
   */
  authenticate(token: string): Promise<{ claims: Claims; user: U | null }>
  /**
   * Ends the token's session (its refresh family), which refuses its access tokens on every
   * instance from the next request. `{ all: true }`: every session of the user; `{ others: true }`:
   * every one but this.
   */
  logout(claims: Claims, options?: { all?: boolean; others?: boolean }): Promise<void>
  /** The user's active sessions, one per login (refresh family), oldest first; `current` marks `currentSessionId`'s. Never a token. */
  sessions(userId: string, currentSessionId?: string): Promise<SessionSummary[]>
  /** Ends one session of the user; 404 not_found when the user has no such session (another user's id included). */
  endSession(userId: string, sessionId: string): Promise<void>
  /**
   * Deletes the user: their fields and identities (the default users, or your repository's
   * `deleteUser`), session_key and every session, refuses every token of theirs at once on every
   * instance, then calls `onUserDeleted(id)`. The same person logging in later gets a new account.
   * 404 not_found when there is no such user.
   */
  deleteUser(userId: string): Promise<void>
  /** Every token issued before `epochSeconds` stops working (access tokens need `revocation`; refresh tokens always). */
  revokeIssuedBefore(epochSeconds: number, options?: { refresh?: boolean }): Promise<void>
  /**
   * The user's phone number. A string is a WeChat getPhoneNumber code (getuserphonenumber with the
   * shared access_token). A `PhoneCredential` is routed on its `platform`: WeChat's code or older
   * encryptedData/iv; QQ/Douyin encryptedData/iv decrypted with the user's session_key (watermark
   * = that host's AppID); Alipay's signed, encrypted `response` (the provider's `aesKey`).
   */
  phoneNumber(userId: string, code: string | PhoneCredential, context?: PhoneContext): Promise<PhoneInfo>
  /**
   * AES-128-CBC with the user's cached session_key; checks the watermark appid: WeChat's, or with
   * `platform` ('qq' | 'douyin') that host's provider's AppID.
   */
  decrypt<T = Record<string, unknown>>(userId: string, encryptedData: string, iv: string, options?: { platform?: HostPlatform }): Promise<T>
  /** The shared access_token, renewed by one instance at a time. */
  accessToken(options?: { force?: boolean; appid?: string }): Promise<string>
  /**
   * The content check of the host this user's session logged in from (`context.platform`, the
   * token's `plt`; else the default users' `platform`; else WeChat): WeChat's msg_sec_check v2
   * (scene 1 profile, 2 comment, 3 forum, 4 social log), QQ's MsgSecCheck, Douyin's antidirt,
   * Alipay's content risk detection.
   */
  checkText(userId: string, text: string, scene?: 1 | 2 | 3 | 4, context?: PhoneContext): Promise<TextCheckResult>
  /** Whether this server can check text from users of `platform` (its provider has a content check). */
  checksText(platform: HostPlatform): boolean
  /** The users this server was given (or the store-backed default). */
  readonly users: UserRepository<U>
  readonly store: Store
  /** Store round trip; throws StoreUnavailableError when it is down. */
  health(): Promise<{ store: 'ok' }>
  close(): Promise<void>
}
