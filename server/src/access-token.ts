/**
 * The shared access_token (the seed's rule 7: cached on the server), WxJava-style: every instance
 * reads one cached value from the store; when less than the margin is left, ONE instance renews it
 * under a lock in the store, and the others poll the cache for the new value instead of calling
 * WeChat themselves. In one process, concurrent callers also share one in-flight renewal.
 *
 * Default: getStableAccessToken, `POST /cgi-bin/stable_token` in normal mode
 * (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getStableAccessToken.html):
 * it answers the current token while more than 5 minutes are left and a new one in the last 5
 * minutes, both usable meanwhile. `accessTokenMode: 'classic'` uses `GET /cgi-bin/token`
 * (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getAccessToken.html).
 *
 * When a call that used the token answers 42001 (expired), `withToken` first renews in normal
 * mode (stable_token without `force_refresh`, which answers a new token once the old one has run
 * out, and spends none of the day's forced refreshes) and retries with it; only when that answers
 * the same token, or the call answers 40001 (invalid credential) or 40014 (invalid access_token),
 * does it force one refresh and retry the call once. WeChat allows
 * `force_refresh: true` 20 times a day (same page) and at least 30 s apart
 * ("连续使用该模式时,请保证调用时间隔至少为30s",
 * https://developers.weixin.qq.com/minigame/dev/api-backend/open-api/access-token/auth.getStableAccessToken.html).
 * The kit keeps both limits in the store, across instances: a `force-gap` lock held for 30 s, and a
 * daily counter per Beijing-time day (`forceQuotaKey`); past 20 it answers 45009 without asking. An instance
 * that finds the gap lock held does not force: another instance just did, so it waits for the
 * cache to hold a token other than the rejected one and retries with that.
 */
import { WechatApiError, UpstreamError } from './errors'
import type { Store } from './stores/store'
import { randomId } from './ids'
import type { AuthServerEvent } from './types'
import type { WechatApi } from './wechat-api'

/** errcodes meaning "this access_token is no good": invalid credential, expired, invalid access_token. */
export const INVALID_TOKEN_ERRCODES: ReadonlySet<number> = new Set([40001, 42001, 40014])

export interface AccessTokensOptions {
  store: Store
  appid: string
  secret: string
  mode: 'stable' | 'classic'
  /** Renew when less than this is left. */
  marginSeconds: number
  wechat: WechatApi
  now: () => number
  emit: (event: AuthServerEvent) => void
  /** How long the renewal lock is held at most. Default 10000 ms. */
  lockTtlMs?: number
  /** How often a waiting instance reads the cache. Default 50 ms. */
  pollMs?: number
  /** WeChat's minimum gap between forced refreshes. Default 30000 ms. */
  forceGapMs?: number
  /** WeChat's daily limit of forced refreshes. Default 20. */
  forceDailyLimit?: number
}

export interface AccessTokens {
  /** The cached token, renewed by one instance when less than the margin is left; `force` as after a 40001. */
  get(options?: { force?: boolean }): Promise<string>
  /** Runs `call` with the token; on 40001/42001/40014 forces one refresh and runs it once more. */
  withToken<T>(call: (token: string) => Promise<T>): Promise<T>
}

interface Cached {
  token: string
  expiresAt: number
}

const BEIJING_OFFSET_MS = 8 * 3600 * 1000
const DAY_MS = 24 * 3600 * 1000

/** The store counter of forced refreshes for `appid` on the Beijing-time day of `nowMs` (WeChat's day). */
export function forceQuotaKey(appid: string, nowMs: number): string {
  return `force:${appid}:${Math.floor((nowMs + BEIJING_OFFSET_MS) / DAY_MS)}`
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export function createAccessTokens(options: AccessTokensOptions): AccessTokens {
  const { store, appid, secret, mode, wechat, now, emit } = options
  const marginMs = options.marginSeconds * 1000
  const lockTtlMs = options.lockTtlMs ?? 10_000
  const pollMs = options.pollMs ?? 50
  const forceGapMs = options.forceGapMs ?? 30_000
  const forceDailyLimit = options.forceDailyLimit ?? 20
  const lockName = `access_token:${appid}`
  const gapName = `force-gap:${appid}`
  const tokenApi = mode === 'stable' ? 'cgi-bin/stable_token' : 'cgi-bin/token'

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
    const answer =
      mode === 'stable'
        ? await wechat.call<{ access_token?: unknown; expires_in?: unknown }>(tokenApi, {
            method: 'POST',
            body: { grant_type: 'client_credential', appid, secret, force_refresh: force },
          })
        : await wechat.call<{ access_token?: unknown; expires_in?: unknown }>(tokenApi, {
            method: 'GET',
            query: { grant_type: 'client_credential', appid, secret },
          })
    const token = answer.access_token
    const expiresIn = answer.expires_in
    if (typeof token !== 'string' || token.length === 0 || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
      throw new UpstreamError('wechat_bad_response', tokenApi, `WeChat ${tokenApi} answered without access_token/expires_in`)
    }
    return { token, expiresAt: now() + expiresIn * 1000 }
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
          const current = await store.getAccessToken(appid)
          const done = ready(current)
          return done !== null ? done : await work(current)
        } finally {
          await store.releaseLock(lockName, owner).catch(() => undefined)
        }
      }
      await sleep(pollMs)
      const done = ready(await store.getAccessToken(appid))
      if (done !== null) return done
      if (Date.now() > deadline) return gaveUp()
    }
  }

  /** Stores a token WeChat just gave for every instance; answers it. */
  async function keep(value: Cached, forced: boolean): Promise<string> {
    await store.setAccessToken(appid, value)
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
    const cached = await store.getAccessToken(appid)
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
    if (mode !== 'stable') return Promise.resolve(null)
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
    const cached = await store.getAccessToken(appid)
    // Someone already replaced the rejected token: use theirs.
    if (rejected !== null && cached && cached.token !== rejected && cached.expiresAt > now()) return cached.token
    const owner = randomId()
    if (!(await store.acquireLock(gapName, owner, forceGapMs))) {
      // Another instance forced within the gap: WeChat would not refresh again anyway ("否则不会刷新").
      if (rejected === null && cached && cached.expiresAt > now()) return cached.token
      return awaitReplacement(rejected)
    }
    // We hold the 30 s gap and never release it early: that IS the gap.
    const { count } = await store.hit(forceQuotaKey(appid, now()), 86_400)
    if (count > forceDailyLimit) {
      throw new WechatApiError(tokenApi, 45009, `reach max api daily quota limit (${forceDailyLimit} forced refreshes today; not forcing again)`)
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
      const current = await store.getAccessToken(appid)
      if (current && current.token !== rejected && current.expiresAt > now()) return current.token
      if (Date.now() > deadline) break
      await sleep(pollMs)
    }
    throw new WechatApiError(tokenApi, 40001, 'access_token was rejected and another instance forced a refresh within 30 s without a new token')
  }

  async function withToken<T>(call: (token: string) => Promise<T>): Promise<T> {
    const token = await get()
    try {
      return await call(token)
    } catch (err) {
      if (!(err instanceof WechatApiError) || !INVALID_TOKEN_ERRCODES.has(err.errcode)) throw err
      // Expired: a normal-mode renewal first; it costs none of the day's 20 forced refreshes.
      const renewed = err.errcode === 42001 ? await renewExpired(token) : null
      return call(renewed ?? (await forceRefresh(token)))
    }
  }

  return { get, withToken }
}
