/**
 * `createAuthServer(options)`: the framework-free core. A short facade wiring the modules:
 * options.ts (checked once), tokens.ts (JWT), refresh-tokens.ts (rotation and reuse detection),
 * the hosts' providers (providers/: WeChat's built from `appid`/`secret`, the others passed in),
 * decrypt.ts, users.ts (the default user repository), all on one Store. The core knows no host:
 * it routes each call to the provider of the platform a client names or its session came from.
 *
 * Login writes in an order that leaves nothing usable half-written: nothing is stored before
 * code2Session succeeds; then the user, the session_key, the refresh token, and only then is a
 * token signed. A store failure at any step fails the login with 503 and hands out no token.
 */
import { AuthServerError, BadRequestError, RateLimitError, TokenError, UpstreamError } from './errors'
import { createHash } from 'node:crypto'
import { openSessionData } from './decrypt'
import { guardStore } from './stores/guarded'
import { memoryStore } from './stores/memory'
import { HOST_PLATFORMS, resolveOptions } from './options'
import { maskPhoneNumber } from './mask'
import { phoneCredentialFrom } from './phone-number'
import { createRefreshTokens } from './refresh-tokens'
import { randomId } from './ids'
import { createTokenIssuer } from './tokens'
import type {
  AuthServer,
  AuthServerEvent,
  AuthServerOptions,
  Claims,
  HostPlatform,
  HostSession,
  PhoneContext,
  PhoneCredential,
  PhoneInfo,
  ProviderContext,
  PublicUser,
  SessionProvider,
  SessionSummary,
  TextCheckResult,
  TokenSet,
  UserRepository,
} from './types'
import { FIND_BY_ID_READS_STORE, storeUsers, userFromStore, USERS_IN_STORE } from './users'
import type { Store, SubjectState } from './stores/store'
import { wechatProvider } from './providers/wechat'

/** A login or phone code longer than this is refused before anything is called (WeChat's are 32 chars). */
export const MAX_CODE_LENGTH = 128
/** msg_sec_check v2 takes at most 2500 characters of content. */
export const MAX_CHECK_TEXT_LENGTH = 2500
/** Keys never handed to a client, even if an app's repository returns them. */
const SECRET_USER_KEYS = ['openid', 'unionid', 'session_key', 'sessionKey']
/**
 * How long an Alipay phone response stays bound to the first user who presented it. Alipay's
 * response carries no timestamp or nonce (the same number gives the same signed string every
 * time), so it never goes stale by itself: the binding is what keeps a shared or stolen response
 * from verifying a number for somebody else.
 */
export const ALIPAY_RESPONSE_BINDING_SECONDS = 30 * 24 * 3600

function checkCode(code: unknown, field = 'code'): string {
  if (code === undefined || code === null || code === '') throw new BadRequestError('code_required', `${field} is required`)
  if (typeof code !== 'string') throw new BadRequestError('code_required', `${field} must be a string`)
  if (code.length > MAX_CODE_LENGTH) throw new BadRequestError('code_too_long', `${field} is longer than ${MAX_CODE_LENGTH} characters`)
  return code
}

function checkUserId(userId: unknown): string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) throw new BadRequestError('bad_request', 'userId must be a non-empty string')
  return userId
}

/** What a client may see of a user: no openid, unionid or session_key, and the phone number masked. */
function publicUser<U extends PublicUser>(user: U): U {
  const copy = { ...user } as Record<string, unknown>
  for (const key of SECRET_USER_KEYS) delete copy[key]
  if (typeof copy.phoneNumber === 'string' && copy.phoneNumber !== '') copy.phoneNumber = maskPhoneNumber(copy.phoneNumber)
  return copy as U
}

function isHostPlatform(value: unknown): value is HostPlatform {
  return typeof value === 'string' && (HOST_PLATFORMS as readonly string[]).includes(value)
}

export function createAuthServer<U extends PublicUser = PublicUser>(options: AuthServerOptions<U>): AuthServer<U> {
  const o = resolveOptions(options)
  const ownsStore = o.store === undefined
  const rawStore = o.store ?? memoryStore()
  const store = guardStore(rawStore)
  const users: UserRepository<U> = o.users ?? (storeUsers(store, { onIdentityConflict: o.onIdentityConflict }) as unknown as UserRepository<U>)
  /** Users kept in this store (the default, or storeUsers(store) spread): a token whose user is gone is refused. */
  const usersInStore = o.users === undefined || (o.users as { [USERS_IN_STORE]?: Store })[USERS_IN_STORE] === rawStore
  /** findById is the default one, reading only the store's record: authenticate() takes it from the token check's round trip. */
  const userComesWithCheck = usersInStore && (users.findById as { [FIND_BY_ID_READS_STORE]?: boolean } | undefined)?.[FIND_BY_ID_READS_STORE] === true
  const { now } = o
  const emit = (event: AuthServerEvent): void => {
    if (!o.onEvent) return
    try {
      o.onEvent(event)
    } catch {
      // a listener's bug must not fail a login
    }
  }

  const tokens = createTokenIssuer({ keys: o.keys, issuer: o.issuer, audience: o.audience, ttlSeconds: o.tokenTtlSeconds, now, cacheSize: o.verifyCacheSize })
  const refreshTokens = createRefreshTokens({ store, ttlSeconds: o.refreshTtlSeconds, now, emit })
  const wechat = (app: { appid: string; secret: string }): SessionProvider =>
    wechatProvider({
      appid: app.appid,
      secret: app.secret,
      base: o.wxApiBase,
      mode: o.accessTokenMode,
      marginSeconds: o.accessTokenMarginSeconds,
      timeoutMs: o.upstreamTimeoutMs,
      fetch: o.fetch,
      emit,
    })
  /** WeChat's apps by AppID (several mini programs on one server); the first is the default. */
  const wechatApps = new Map(o.wechatApps.map((app) => [app.appid, wechat(app)] as const))
  const providers: Partial<Record<HostPlatform, SessionProvider>> = { weixin: wechatApps.get(o.wechatApps[0].appid), ...o.providers }
  const serverContext = (): ProviderContext => ({ nowMs: now(), now, store, emit })

  /**
   * The provider of `platform`, for the app `appid` names. Several WeChat apps: the AppID must be
   * one of them, and is required (never guessed). One app per host: an AppID, when given, must be it.
   */
  function providerOf(platform: HostPlatform, appid?: string): SessionProvider {
    if (platform === 'weixin' && !o.providers.weixin && wechatApps.size > 1) {
      if (appid === undefined) throw new BadRequestError('unknown_app', `This server serves ${wechatApps.size} WeChat mini programs: send the app's AppID (appid) with the login`)
      const app = wechatApps.get(appid)
      if (!app) throw new BadRequestError('unknown_app', `This server does not serve the WeChat mini program ${JSON.stringify(appid.slice(0, 40))}`)
      return app
    }
    const provider = providers[platform]
    if (!provider) throw new BadRequestError('unsupported_platform', `No session provider for platform "${platform}" (pass options.providers.${platform})`)
    if (appid !== undefined && provider.appid && appid !== provider.appid) {
      throw new BadRequestError('unknown_app', `This server does not serve the ${hostName(platform)} mini program ${JSON.stringify(appid.slice(0, 40))}`)
    }
    return provider
  }

  /** The refresh record keeps the host and the app as one tag (`weixin@wx…`); these split it. */
  const sessionTag = (platform: HostPlatform, appid: string | undefined): string => (appid ? `${platform}@${appid}` : platform)
  function splitTag(tag: string | undefined): { platform?: HostPlatform; appid?: string } {
    if (tag === undefined) return {}
    const at = tag.indexOf('@')
    const platform = at < 0 ? tag : tag.slice(0, at)
    const appid = at < 0 ? undefined : tag.slice(at + 1)
    return isHostPlatform(platform) ? (appid ? { platform, appid } : { platform }) : {}
  }

  function hostName(platform: HostPlatform): string {
    return ({ weixin: 'WeChat', qq: 'QQ', douyin: 'Douyin', alipay: 'Alipay' } as Record<string, string>)[platform] ?? platform
  }

  /** The AppID a host's encrypted data is watermarked with: WeChat's, or that host's provider's. */
  function hostAppid(platform: HostPlatform): string {
    if (!HOST_PLATFORMS.includes(platform)) throw new BadRequestError('unsupported_platform', `Unknown platform "${String(platform)}" (one of ${HOST_PLATFORMS.join(', ')})`)
    if (!providers[platform]?.appid) {
      throw new BadRequestError('unsupported_platform', `No ${platform} provider with an appid: pass options.providers.${platform}`)
    }
    return sessionAppid(platform)
  }

  /** The AppID a host's sessions are kept under: its provider's (the platform's name when it gives none). */
  function sessionAppid(platform: HostPlatform, appid?: string): string {
    if (appid !== undefined && platform === 'weixin' && wechatApps.has(appid)) return appid
    return providers[platform]?.appid || platform
  }

  /**
   * The user's session_key from `platform`, or null. Keys are kept per host and AppID
   * (`<platform>:<appid>:<openid>`), so the same openid string on another host or another app
   * never reads this one's key.
   */
  async function sessionOn(userId: string, platform: HostPlatform, appid?: string): Promise<{ openid: string; sessionKey: string } | null> {
    const kept = await store.getSession(userId)
    const scope = `${platform}:${sessionAppid(platform, appid)}:`
    if (!kept || !kept.openid.startsWith(scope)) return null
    return { openid: kept.openid.slice(scope.length), sessionKey: kept.sessionKey }
  }

  function noSession(platform: HostPlatform): AuthServerError {
    const host = hostName(platform)
    return new AuthServerError('session_key_expired', `No ${host} session_key is kept for this user any more; log in again from ${host}, then retry`)
  }

  /** Counts one call against `limit` (kept in the store, so it holds across instances); 429 past it. */
  async function spend(key: string, limit: { max: number; windowSeconds: number } | false, what: string): Promise<void> {
    if (!limit) return
    const { count, resetMs } = await store.hit(key, limit.windowSeconds)
    if (count > limit.max) {
      const retryAfter = Math.max(1, Math.ceil(resetMs / 1000))
      throw new RateLimitError(`More than ${limit.max} ${what} within ${limit.windowSeconds} s; retry in ${retryAfter} s`, retryAfter)
    }
  }

  /** One phone-number or decrypt call for the user (phoneRateLimit). */
  const spendPhoneBudget = (userId: string): Promise<void> => spend(`phone:${userId}`, o.phoneRateLimit, 'phone-number or decrypt calls for this user')

  /**
   * Opens data sealed with the user's session_key within the failure budget (decryptFailureLimit,
   * kept in the store so it holds across instances and logins): once it is spent the session_key
   * is dropped and nothing more is opened for this user until the window ends. A padding oracle
   * needs thousands of answers; it gets `max`.
   */
  async function withinSealedBudget<T>(userId: string, open: () => T | Promise<T>): Promise<T> {
    const key = `sealed-failures:${userId}`
    const { max, windowSeconds } = o.decryptFailureLimit
    const spent = await store.getHits(key)
    if (spent.count >= max) {
      const retryAfter = Math.max(1, Math.ceil(spent.resetMs / 1000))
      throw new RateLimitError(`Encrypted data for this user failed to open ${max} times; nothing more is opened for this user for ${retryAfter} s`, retryAfter)
    }
    try {
      return await open()
    } catch (err) {
      if (err instanceof AuthServerError && err.code === 'decrypt_failed') {
        const { count } = await store.hit(key, windowSeconds)
        if (count >= max) {
          await store.deleteSession(userId)
          emit({ type: 'decrypt_budget_spent', userId })
        }
      }
      throw err
    }
  }

  /** The host the caller's session logged in from: the token's `plt`, else the default users' `platform`. */
  async function sessionPlatform(userId: string, context: PhoneContext | undefined): Promise<HostPlatform | undefined> {
    if (context && isHostPlatform(context.platform)) return context.platform
    if (!users.findById) return undefined
    const user = (await users.findById(userId)) as { platform?: unknown } | null | undefined
    return isHostPlatform(user?.platform) ? user?.platform : undefined
  }

  /**
   * Alipay's signed response, accepted only from a session that logged in from Alipay, and bound
   * to the first user who presents it (ALIPAY_RESPONSE_BINDING_SECONDS): the same user may send it
   * again, nobody else can.
   */
  async function alipayPhone(userId: string, provider: SessionProvider, credential: PhoneCredential, context: PhoneContext | undefined): Promise<PhoneInfo> {
    if ((await sessionPlatform(userId, context)) !== 'alipay') {
      throw new AuthServerError('platform_mismatch', 'An Alipay phone response is accepted only from a user logged in from Alipay')
    }
    const info = await (provider.phoneNumber as NonNullable<SessionProvider['phoneNumber']>)(credential, undefined, serverContext())
    const name = `alipay-phone:${createHash('sha256').update(String(credential.response)).digest('hex')}`
    const ttlMs = ALIPAY_RESPONSE_BINDING_SECONDS * 1000
    if (!(await store.acquireLock(name, userId, ttlMs))) {
      // Held: by this user (sending it again) it is renewed; by anyone else it is refused.
      await store.releaseLock(name, userId)
      if (!(await store.acquireLock(name, userId, ttlMs))) {
        throw new AuthServerError('phone_response_used', 'This Alipay phone response was already used by another user')
      }
    }
    return info
  }

  /** A PhoneCredential, routed on its platform (see phone-number.ts for each host's body). */
  async function phoneFromCredential(userId: string, input: PhoneCredential, context: PhoneContext | undefined): Promise<PhoneInfo> {
    const credential = phoneCredentialFrom(input as Record<string, unknown>)
    const platform = credential.platform as HostPlatform
    const legacy = platform === 'weixin' && !(credential.code !== undefined && credential.encryptedData === undefined)
    if (legacy && !o.legacyPhone) {
      throw new BadRequestError(
        'code_required',
        "Send the getPhoneNumber button's code (e.detail.code, base library 2.21.2+): this server does not read WeChat's older encryptedData/iv phone format (legacyPhone)",
      )
    }
    await spendPhoneBudget(userId)
    // The app the session logged in to (the token's `app`), when the credential is for that host.
    const appid = context?.platform === platform ? context.appid : undefined
    const provider = providerOf(platform, appid)
    if (typeof provider.phoneNumber !== 'function') throw new BadRequestError('unsupported_platform', `The ${platform} provider reads no phone numbers`)
    // Alipay's response needs no session_key (it is encrypted with the app's AES key and signed by Alipay).
    if (platform === 'alipay') return alipayPhone(userId, provider, credential, context)
    const phoneNumber = provider.phoneNumber.bind(provider)
    // A code is exchanged by the host's server API: no session_key.
    if (credential.encryptedData === undefined) return phoneNumber(credential, undefined, serverContext())
    // Encrypted with the user's session_key: within the failure budget.
    return withinSealedBudget(userId, async () => phoneNumber(credential, (await sessionOn(userId, platform, provider.appid))?.sessionKey, serverContext()))
  }

  async function userOf(userId: string): Promise<U | undefined> {
    if (!users.findById) return undefined
    const user = await users.findById(userId)
    return user ? publicUser(user) : undefined
  }

  /**
   * The access token checked, then bound to the data it names, in one store round trip: the
   * generation (a store that lost its data never lets an old token open whatever account its id
   * names now), whether the user still exists (default users), whether its session was ended
   * (logout, reuse, deletion) and the user's own not-before (log out everywhere): seen by every
   * instance from the next request. `withUser`: the same round trip answers the user's record.
   */
  async function checkToken(token: string, withUser: boolean): Promise<{ claims: Claims; subject: SubjectState }> {
    const claims = await tokens.verify(token)
    const subject = await store.checkSubject(claims.sub, claims.fam, withUser ? { withUser: true } : undefined)
    if (claims.gen !== subject.generation) {
      throw new TokenError('token_stale', 'Access token was issued against data this server no longer has (its store was reset or replaced); log in again')
    }
    if (usersInStore && !subject.userExists) throw new TokenError('user_not_found', 'Access token belongs to a user who no longer exists; log in again')
    if (subject.sessionEnded === true || (typeof subject.notBefore === 'number' && claims.iat < subject.notBefore)) {
      throw new TokenError('token_revoked', 'This session was ended (logged out, possibly from another device); log in again')
    }
    if (o.revocation && (await store.isRevoked({ jti: claims.jti, fam: claims.fam, iat: claims.iat }))) {
      throw new TokenError('token_revoked', 'Access token was revoked; log in again')
    }
    return { claims, subject }
  }

  const server: AuthServer<U> = {
    users,
    store: rawStore,

    async login(input, context) {
      if (input === null || typeof input !== 'object') throw new BadRequestError('code_required', 'login expects { code }')
      const platform = input.platform ?? 'weixin'
      if (!HOST_PLATFORMS.includes(platform)) throw new BadRequestError('unsupported_platform', `Unknown platform "${String(platform)}" (one of ${HOST_PLATFORMS.join(', ')})`)
      const anonymousCode = input.anonymousCode === undefined ? undefined : checkCode(input.anonymousCode, 'anonymousCode')
      // Douyin hands a user who is not logged in to the Douyin app only an anonymousCode (tt.login
      // with force: false): a guest login, so the code may then be empty.
      const guest = platform === 'douyin' && anonymousCode !== undefined && (input.code === undefined || input.code === '')
      const code = guest ? '' : checkCode(input.code)
      if (context?.client !== undefined) await spend(`login:${String(context.client)}`, o.loginRateLimit, 'logins from this client')

      if (input.appid !== undefined && (typeof input.appid !== 'string' || input.appid === '' || input.appid.length > 64)) throw new BadRequestError('unknown_app', 'appid must be the mini program\'s AppID')
      const provider = providerOf(platform, input.appid)
      const app = provider.appid
      const session = await provider.code2Session(anonymousCode === undefined ? { code } : { code, anonymousCode }, serverContext())
      if (!session || typeof session.openid !== 'string' || session.openid.length === 0) {
        throw new UpstreamError('wechat_bad_response', platform, `The ${platform} session provider answered without an openid`)
      }
      const identity: { openid: string; unionid?: string; platform: HostPlatform } = { openid: session.openid, platform }
      if (session.unionid) identity.unionid = session.unionid
      const user = await users.findOrCreate(identity)
      if (!user || (typeof user.id !== 'string' && typeof user.id !== 'number') || String(user.id).length === 0) {
        throw new AuthServerError('internal_error', 'users.findOrCreate must answer a user with an id (string or number)')
      }
      const userId = String(user.id)
      if (session.sessionKey) await store.putSession(userId, `${platform}:${app || platform}:${session.openid}`, session.sessionKey, o.sessionKeyTtlSeconds)
      const family = randomId()
      const refreshToken = await refreshTokens.issue(userId, family, { platform: sessionTag(platform, app), sessionExpiresAt: now() + o.sessionMaxSeconds * 1000 })
      const { token } = await tokens.sign({ sub: userId, fam: family, gen: await store.generation(), plt: platform, app })
      emit({ type: 'login', userId, platform })
      return { token, expiresIn: o.tokenTtlSeconds, refreshToken, user: publicUser(user) }
    },

    async refresh(refreshToken) {
      const { token: successor, userId, family, platform } = await refreshTokens.rotate(refreshToken)
      const subject = await store.checkSubject(userId)
      if (usersInStore && !subject.userExists) {
        await store.revokeFamily(family, o.refreshTtlSeconds)
        throw new TokenError('user_not_found', 'This refresh token belongs to a user who no longer exists; log in again')
      }
      const tag = splitTag(platform)
      const { token } = await tokens.sign({ sub: userId, fam: family, gen: subject.generation, plt: tag.platform, app: tag.appid })
      emit({ type: 'refresh', userId })
      const result: TokenSet<U> = { token, expiresIn: o.tokenTtlSeconds, refreshToken: successor }
      // The rotation is done: losing the new tokens over an optional `user` would end the session.
      const user = await userOf(userId).catch(() => undefined)
      if (user) result.user = user
      return result
    },

    async verify(token) {
      return (await checkToken(token, false)).claims
    },

    async authenticate(token) {
      const { claims, subject } = await checkToken(token, userComesWithCheck)
      // Users kept in the store came with the check; a repository of yours is asked now.
      if (subject.user !== undefined) return { claims, user: subject.user ? (userFromStore(subject.user) as unknown as U) : null }
      if (!users.findById) return { claims, user: null }
      return { claims, user: (await users.findById(claims.sub)) ?? null }
    },

    async logout(claims: Claims, options?: { all?: boolean; others?: boolean }) {
      if (claims === null || typeof claims !== 'object' || typeof claims.fam !== 'string' || typeof claims.jti !== 'string' || typeof claims.exp !== 'number') {
        throw new BadRequestError('bad_request', 'logout expects the claims verify() answered')
      }
      if (options !== undefined && (options === null || typeof options !== 'object')) throw new BadRequestError('bad_request', 'logout options must be { all?: true } or { others?: true }')
      const all = options?.all === true
      const others = options?.others === true
      if (all && others) throw new BadRequestError('bad_request', 'logout takes all or others, not both')
      const userId = String(claims.sub)
      if (all || others) {
        for (const session of await store.listSessions(userId, now())) {
          if (others && session.id === claims.fam) continue
          await store.revokeFamily(session.id, o.refreshTtlSeconds)
        }
        // A backstop for sessions the list does not hold (logged in before it was kept): every
        // access token of the user issued before this second.
        if (all) await store.setUserNotBefore(userId, Math.floor(now() / 1000), o.tokenTtlSeconds)
      }
      if (!others) await store.revokeFamily(claims.fam, o.refreshTtlSeconds)
      if (o.revocation && !others) {
        const left = claims.exp - Math.floor(now() / 1000)
        if (left > 0) await store.revokeToken(claims.jti, left)
      }
      emit(all || others ? { type: 'logout', userId, scope: all ? 'all' : 'others' } : { type: 'logout', userId })
    },

    async sessions(userId, currentSessionId) {
      checkUserId(userId)
      return (await store.listSessions(userId, now())).map((session): SessionSummary => {
        const summary: SessionSummary = { id: session.id, createdAt: session.createdAt, lastUsedAt: session.lastUsedAt, expiresAt: session.expiresAt, current: session.id === currentSessionId }
        const tag = splitTag(session.platform)
        if (tag.platform) {
          summary.platform = tag.platform
          const appid = tag.appid ?? providers[tag.platform]?.appid
          if (appid) summary.appid = appid
        }
        return summary
      })
    },

    async endSession(userId, sessionId) {
      checkUserId(userId)
      if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 64) throw new AuthServerError('not_found', 'No such session')
      const mine = await store.listSessions(userId, now())
      // Only the user's own: another user's session id is the same 404 as an unknown one.
      if (!mine.some((session) => session.id === sessionId)) throw new AuthServerError('not_found', 'No such session')
      await store.revokeFamily(sessionId, o.refreshTtlSeconds)
      emit({ type: 'session_ended', userId })
    },

    async deleteUser(userId) {
      checkUserId(userId)
      // The store removes its user (default users), session_key and sessions in one atomic step.
      const inStore = await store.deleteUser(userId, o.refreshTtlSeconds)
      const own = !usersInStore && typeof users.deleteUser === 'function' ? (await users.deleteUser(userId)) === true : false
      if (!inStore && !own) throw new AuthServerError('not_found', 'No such user')
      // Every access token of theirs, whichever repository kept them, is refused from now on.
      await store.setUserNotBefore(userId, Math.floor(now() / 1000) + 1, o.tokenTtlSeconds)
      emit({ type: 'user_deleted', userId })
      if (o.onUserDeleted) await o.onUserDeleted(userId)
    },

    async revokeIssuedBefore(epochSeconds, opts) {
      if (typeof epochSeconds !== 'number' || !Number.isInteger(epochSeconds) || epochSeconds <= 0) {
        throw new BadRequestError('bad_request', 'revokeIssuedBefore expects a positive integer epoch in seconds')
      }
      await store.setNotBefore('access', epochSeconds)
      if (opts?.refresh !== false) await store.setNotBefore('refresh', epochSeconds)
    },

    /** getPhoneNumber: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-info/phone-number/getPhoneNumber.html */
    async phoneNumber(userId, input, context) {
      checkUserId(userId)
      if (input !== null && typeof input === 'object') return phoneFromCredential(userId, input, context)
      return phoneFromCredential(userId, { platform: 'weixin', code: checkCode(input) }, context)
    },

    async decrypt<T = Record<string, unknown>>(userId: string, encryptedData: string, iv: string, options?: { platform?: HostPlatform }): Promise<T> {
      checkUserId(userId)
      const platform = options?.platform ?? 'weixin'
      const appid = hostAppid(platform)
      await spendPhoneBudget(userId)
      return withinSealedBudget(userId, async () => {
        const session = await sessionOn(userId, platform)
        if (!session) throw noSession(platform)
        return openSessionData({ sessionKey: session.sessionKey, encryptedData, iv, appid, nowMs: now() }) as T
      })
    },

    accessToken(opts) {
      // Several WeChat apps: `appid` picks one; without it, the first (`options.appid`).
      const provider = providerOf('weixin', opts?.appid ?? o.wechatApps[0].appid)
      if (!provider.accessToken) throw new BadRequestError('unsupported_platform', 'The weixin provider keeps no access_token')
      return provider.accessToken(serverContext(), opts)
    },

    async checkText(userId, text, scene = 2, context) {
      checkUserId(userId)
      if (typeof text !== 'string' || text.length === 0) throw new BadRequestError('bad_request', 'text must be a non-empty string')
      if (text.length > MAX_CHECK_TEXT_LENGTH) throw new BadRequestError('bad_request', `text is longer than ${MAX_CHECK_TEXT_LENGTH} characters`)
      if (scene !== 1 && scene !== 2 && scene !== 3 && scene !== 4) throw new BadRequestError('bad_request', 'scene must be 1 (profile), 2 (comment), 3 (forum) or 4 (social log)')
      const platform = (await sessionPlatform(userId, context)) ?? 'weixin'
      const provider = providerOf(platform, context?.platform === platform ? context.appid : undefined)
      if (typeof provider.checkText !== 'function') throw new BadRequestError('unsupported_platform', `${hostName(platform)} offers no text check this server can call`)
      const session = await sessionOn(userId, platform, provider.appid)
      return provider.checkText({ text, scene, ...(session ? { openid: session.openid } : {}) }, serverContext())
    },

    checksText(platform) {
      return typeof providers[platform]?.checkText === 'function'
    },

    async health() {
      await store.ping()
      return { store: 'ok' }
    },

    async close() {
      if (ownsStore) await rawStore.close()
    },
  }
  return server
}
