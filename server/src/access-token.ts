/**
 * A host's shared access token (the server keeps it, never a client), WxJava-style: every
 * instance reads one cached value from the store; when less than the margin is left, ONE instance
 * renews it under a lock in the store, and the others poll the cache for the new value instead of
 * calling the host themselves. In one process, concurrent callers also share one in-flight renewal.
 * The host's token call comes from its provider (providers/wechat.ts, qq.ts, douyin.ts); this
 * module knows no host.
 *
 * When a call that used the token fails because of it (`tokenFailure`), `withToken` renews once
 * and retries once. An expired token is first renewed normally when the host can do that
 * (`renewsExpired`: WeChat's stable_token without `force_refresh` answers a new token once the old
 * one has run out, and spends none of the day's forced refreshes); only when that answers the same
 * token, or the token is invalid, does it force one refresh. WeChat allows `force_refresh: true`
 * 20 times a day and at least 30 s apart
 * (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getStableAccessToken.html,
 * "连续使用该模式时,请保证调用时间隔至少为30s",
 * https://developers.weixin.qq.com/minigame/dev/api-backend/open-api/access-token/auth.getStableAccessToken.html).
 * The kit keeps both limits in the store, across instances: a `force-gap` lock held for the gap,
 * and a daily counter per Beijing-time day (`forceQuotaKey`); past the limit it answers 45009
 * without asking. An instance that finds the gap lock held does not force: another instance just
 * did, so it waits for the cache to hold a token other than the rejected one and retries with that.
 */
import { WechatApiError, UpstreamError } from './errors'
import type { Store } from './stores/store'
import { randomId } from './ids'
import type { AuthServerEvent } from './types'

/** WeChat's errcodes meaning "this access_token is no good": invalid credential, expired, invalid access_token. */
export const INVALID_TOKEN_ERRCODES: ReadonlySet<number> = new Set([40001, 42001, 40014])

/** What a failed call says about the token it used: 'expired' (a normal renewal may cure it), 'invalid' (only a new one will), or null (nothing). */
export type TokenFailure = 'expired' | 'invalid' | null

export interface AccessTokensOptions {
  store: Store
  /**
   * The store name of this token, its lock and its force counters. WeChat's is its AppID;
   * another host's is `<platform>:<appid>`, so two hosts never share one.
   */
  key: string
  /** The host's token API, for messages (`cgi-bin/stable_token`, `api/getToken`, …). */
  api: string
  /** The host named in messages. Default 'WeChat'. */
  host?: string
  /**
   * One call to the host's token API. `force`: WeChat's stable_token `force_refresh`; a host
   * without a forced mode fetches a new token either way.
   */
  fetchToken(force: boolean): Promise<{ token: string; expiresInSeconds: number }>
  /** Reads a failed call. Default: WeChat's errcodes (42001 expired; 40001, 40014 invalid). */
  tokenFailure?(err: unknown): TokenFailure
  /** Whether a normal (unforced) renewal can replace an expired token (WeChat's stable_token). Default false. */
  renewsExpired?: boolean
  /** Renew when less than this is left. */
  marginSeconds: number
  now: () => number
  emit: (event: AuthServerEvent) => void
  /** How long the renewal lock is held at most. Default 10000 ms. */
  lockTtlMs?: number
  /** How often a waiting instance reads the cache. Default 50 ms. */
  pollMs?: number
  /** Minimum gap between forced refreshes, across instances. Default 30000 ms (WeChat's). */
  forceGapMs?: number
  /** Daily limit of forced refreshes, across instances. Default 20 (WeChat's); Infinity for a host without one. */
  forceDailyLimit?: number
}

export interface AccessTokens {
  /** The cached token, renewed by one instance when less than the margin is left; `force` as after a 40001. */
  get(options?: { force?: boolean }): Promise<string>
  /** Runs `call` with the token; when its failure is about the token, renews once (normally first if expired) and runs it once more. */
  withToken<T>(call: (token: string) => Promise<T>): Promise<T>
}

interface Cached {
  token: string
  expiresAt: number
}

const BEIJING_OFFSET_MS = 8 * 3600 * 1000
const DAY_MS = 24 * 3600 * 1000

/** The store counter of forced refreshes for `key` (WeChat: the AppID) on the Beijing-time day of `nowMs` (WeChat's day). */
export function forceQuotaKey(key: string, nowMs: number): string {
  return `force:${key}:${Math.floor((nowMs + BEIJING_OFFSET_MS) / DAY_MS)}`
}

/** WeChat's reading of a failed call: 42001 expired; 40001 and 40014 invalid. */
export function wechatTokenFailure(err: unknown): TokenFailure {
  if (!(err instanceof WechatApiError) || !INVALID_TOKEN_ERRCODES.has(err.errcode)) return null
  return err.errcode === 42001 ? 'expired' : 'invalid'
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export function createAccessTokens(options: AccessTokensOptions): AccessTokens {
  const { store, key, api: tokenApi, now, emit } = options
  const host = options.host ?? 'WeChat'
  const tokenFailure = options.tokenFailure ?? wechatTokenFailure
  const marginMs = options.marginSeconds * 1000
  const lockTtlMs = options.lockTtlMs ?? 10_000
  const pollMs = options.pollMs ?? 50
  const forceGapMs = options.forceGapMs ?? 30_000
  const forceDailyLimit = options.forceDailyLimit ?? 20
  const lockName = `access_token:${key}`
  const gapName = `force-gap:${key}`

  let renewing: Promise<string> | null = null
  const forcing = new Map<string, Promise<string>>()
  const expiring = new Map<string, Promise<string | null>>()

  const isFresh = (c: Cached | null): c is Cached => c !== null && c.expiresAt - now() >= marginMs
  /** The cached token if it is fresh, or was written by someone after we saw `stale` and is still valid; else null. */
  const renewedSince = (c: Cached | null, stale: Cached | null): string | null => {
    if (c === null) return null
    if (c.expiresAt - now() >= marginMs) return c.token
    if (c.expiresAt > now() && (stale === null || c.token !== stale.token || c.expiresAt > stale.expiresAt)) return c.token
    return null
  }

  async function fetchToken(force: boolean): Promise<Cached> {
    const { token, expiresInSeconds } = await options.fetchToken(force)
    if (typeof token !== 'string' || token.length === 0 || typeof expiresInSeconds !== 'number' || !(expiresInSeconds > 0)) {
      throw new UpstreamError('wechat_bad_response', tokenApi, `${host} ${tokenApi} answered without access_token/expires_in`)
    }
    return { token, expiresAt: now() + expiresInSeconds * 1000 }
  }

  /**
   * One renewal for every instance: the lock winner runs `work` (unless the cache already holds
   * what `ready` accepts); the others poll the cache for it, and take over if the winner gave up.
   * `gaveUp` answers when nobody produced a token in time.
   */
  async function underRenewalLock<T>(ready: (c: Cached | null) => T | null, work: (current: Cached | null) => Promise<T>, gaveUp: () => T): Promise<T> {
    const owner = randomId()
    const deadline = Date.now() + 2 * lockTtlMs
    for (;;) {
      if (await store.acquireLock(lockName, owner, lockTtlMs)) {
        try {
          const current = await store.getAccessToken(key)
          const done = ready(current)
          return done !== null ? done : await work(current)
        } finally {
          await store.releaseLock(lockName, owner).catch(() => undefined)
        }
      }
      await sleep(pollMs)
      const done = ready(await store.getAccessToken(key))
      if (done !== null) return done
      if (Date.now() > deadline) return gaveUp()
    }
  }

  /** Stores a token the host just gave, for every instance; answers it. */
  async function keep(value: Cached, forced: boolean): Promise<string> {
    await store.setAccessToken(key, value)
    emit({ type: 'access_token', forced })
    return value.token
  }

  /** The renewal inside the margin (or of an absent token). */
  function renew(stale: Cached | null): Promise<string> {
    return underRenewalLock(
      (c) => renewedSince(c, stale),
      async (current) => {
        try {
          return await keep(await fetchToken(false), false)
        } catch (err) {
          // Renewal failed but the old token is still valid (it was only inside the margin): keep serving it.
          if (current && current.expiresAt > now()) return current.token
          throw err
        }
      },
      () => {
        throw new UpstreamError('wechat_timeout', tokenApi, `Waited ${2 * lockTtlMs} ms for another instance to renew the access_token`)
      },
    )
  }

  async function get(opts?: { force?: boolean }): Promise<string> {
    if (opts?.force) return forceRefresh(null)
    const cached = await store.getAccessToken(key)
    if (isFresh(cached)) return cached.token
    if (!renewing) {
      renewing = renew(cached).finally(() => {
        renewing = null
      })
    }
    return renewing
  }

  /**
   * After a 42001 for `expired`: one normal-mode renewal for all instances (under the renewal lock).
   * Answers the new token, or null when WeChat answers the same token again (then only a forced
   * refresh helps). Classic mode has no normal/forced distinction: null, and the force path runs.
   */
  function renewExpired(expired: string): Promise<string | null> {
    if (!options.renewsExpired) return Promise.resolve(null)
    let p = expiring.get(expired)
    if (!p) {
      p = doRenewExpired(expired).finally(() => expiring.delete(expired))
      expiring.set(expired, p)
    }
    return p
  }

  function doRenewExpired(expired: string): Promise<string | null> {
    return underRenewalLock<string | null>(
      (c) => (c && c.token !== expired && c.expiresAt > now() ? c.token : null),
      async () => {
        // Normal mode answering the same token: only a forced refresh will help (the caller's next step).
        const value = await fetchToken(false)
        return value.token === expired ? null : keep(value, false)
      },
      () => null,
    )
  }

  /** `rejected`: the token WeChat refused (40001/42001/40014), or null for an explicit `get({ force: true })`. */
  function forceRefresh(rejected: string | null): Promise<string> {
    const key = rejected ?? ''
    let p = forcing.get(key)
    if (!p) {
      p = doForce(rejected).finally(() => forcing.delete(key))
      forcing.set(key, p)
    }
    return p
  }

  async function doForce(rejected: string | null): Promise<string> {
    const cached = await store.getAccessToken(key)
    // Someone already replaced the rejected token: use theirs.
    if (rejected !== null && cached && cached.token !== rejected && cached.expiresAt > now()) return cached.token
    const owner = randomId()
    if (!(await store.acquireLock(gapName, owner, forceGapMs))) {
      // Another instance forced within the gap: WeChat would not refresh again anyway ("否则不会刷新").
      if (rejected === null && cached && cached.expiresAt > now()) return cached.token
      return awaitReplacement(rejected)
    }
    // We hold the 30 s gap and never release it early: that IS the gap.
    const { count } = await store.hit(forceQuotaKey(key, now()), 86_400)
    if (count > forceDailyLimit) {
      throw new WechatApiError(tokenApi, 45009, `reach max api daily quota limit (${forceDailyLimit} forced refreshes today; not forcing again)`, { host })
    }
    // Hold the renewal lock too, so that a normal renewal in flight cannot store an older token after ours.
    const lockDeadline = Date.now() + lockTtlMs
    let locked = await store.acquireLock(lockName, owner, lockTtlMs)
    while (!locked && Date.now() < lockDeadline) {
      await sleep(pollMs)
      locked = await store.acquireLock(lockName, owner, lockTtlMs)
    }
    try {
      return await keep(await fetchToken(true), true)
    } finally {
      if (locked) await store.releaseLock(lockName, owner).catch(() => undefined)
    }
  }

  /** Another instance forced within the gap: wait for its token (bounded), never call WeChat. */
  async function awaitReplacement(rejected: string | null): Promise<string> {
    const deadline = Date.now() + lockTtlMs
    for (;;) {
      const current = await store.getAccessToken(key)
      if (current && current.token !== rejected && current.expiresAt > now()) return current.token
      if (Date.now() > deadline) break
      await sleep(pollMs)
    }
    throw new WechatApiError(tokenApi, 40001, `access_token was rejected and another instance forced a refresh within ${forceGapMs / 1000} s without a new token`, { host })
  }

  async function withToken<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await get()
    try {
      return await call(token)
    } catch (err) {
      const failure = tokenFailure(err)
      if (failure === null) throw err
      // Expired: a normal-mode renewal first; it costs none of the day's 20 forced refreshes.
      const renewed = failure === 'expired' ? await renewExpired(token) : null
      return call(renewed ?? (await forceRefresh(token)))
    }
  }

  return { get, withToken }
}

/**
 * A provider's tokens, one AccessTokens per store: a provider is built before the server that
 * uses it, and learns its store (where every instance meets) from the call's context.
 */
export function tokensPerStore(build: (context: { store: Store; now: () => number; emit: (event: AuthServerEvent) => void }) => AccessTokens) {
  const byStore = new WeakMap<Store, AccessTokens>()
  return (context: { store: Store; now: () => number; emit: (event: AuthServerEvent) => void }): AccessTokens => {
    let tokens = byStore.get(context.store)
    if (!tokens) {
      tokens = build(context)
      byStore.set(context.store, tokens)
    }
    return tokens
  }
}
