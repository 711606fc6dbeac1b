/**
 * Shared setup for the core's tests: the fake WeChat over HTTP, a real store (memory, or a real
 * Redis from startRedis()), and createAuthServer wired to both. `recording(store)` wraps a REAL
 * store and notes which methods were called, so a test can assert "nothing was written" without
 * faking the store.
 */
import { createAuthServer, memoryStore, redisStore, type AuthServer, type AuthServerEvent, type AuthServerOptions, type Store } from 'weapp-auth-server'
import { createFakeWechat, type FakeWechat } from 'weapp-auth-server/testing'
import { startRedis, type RedisHandle } from './redis'

export const APPID = 'wxcoretest0000001'
export const SECRET = 'core-test-app-secret-00000000000'
export const JWT_SECRET = 'core-test-jwt-secret-at-least-32-bytes-long!'

export type StoreKind = 'memory' | 'redis'
export const STORE_KINDS: StoreKind[] = ['memory', 'redis']

export interface Kit {
  fake: FakeWechat
  redis: RedisHandle | null
  /** A new store of `kind` (a new Redis connection to the same server for 'redis'); closed by `close()`. */
  newStore(kind: StoreKind): Store
  /** createAuthServer against the fake and a store; closed by `close()`. */
  server(kind: StoreKind, options?: Partial<AuthServerOptions>, store?: Store): AuthServer
  /** Events every server made by `server()` emitted. */
  events: AuthServerEvent[]
  /** Empties the store(s) between tests. */
  reset(): Promise<void>
  close(): Promise<void>
}

export async function startKit(kinds: StoreKind[] = STORE_KINDS, fakeOptions: Parameters<typeof createFakeWechat>[0] = {}): Promise<Kit> {
  const fake = await createFakeWechat({ appid: APPID, secret: SECRET, ...fakeOptions })
  const redis = kinds.includes('redis') ? await startRedis() : null
  const stores: Store[] = []
  const servers: AuthServer[] = []
  const events: AuthServerEvent[] = []
  const kit: Kit = {
    fake,
    redis,
    events,
    newStore(kind) {
      const store = kind === 'memory' ? memoryStore() : redisStore((redis as RedisHandle).url)
      stores.push(store)
      return store
    },
    server(kind, options = {}, store) {
      const server = createAuthServer({
        appid: APPID,
        secret: SECRET,
        jwt: { secret: JWT_SECRET },
        wxApiBase: fake.url,
        store: store ?? kit.newStore(kind),
        onEvent: (e) => events.push(e),
        ...options,
      })
      servers.push(server)
      return server
    },
    async reset() {
      events.length = 0
      fake.clearFaults()
      fake.resetCalls()
      if (redis) await redis.flushAll()
    },
    async close() {
      for (const s of servers) await s.close()
      for (const s of stores) await s.close().catch(() => undefined)
      await fake.close()
      if (redis) await redis.stop()
    },
  }
  return kit
}

/** A REAL store whose calls are noted by method name (nothing is faked: every call goes through). */
export function recording(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = []
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.push(String(prop))
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { store: proxy, calls }
}

/** Resolves to the error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; status?: number; errcode?: number; retryAfter?: number }> {
  try {
    await promise
  } catch (err) {
    return err as Error & { code?: string; status?: number }
  }
  throw new Error('expected a rejection, but it resolved')
}

/** Decodes a JWT's payload without verifying it (to look at what a client would see). */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'))
}

export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'))
}

/**
 * One kit per test file: started before the file's tests, closed after them, and reset (Redis
 * flushed, fake WeChat counters and faults cleared) before each test. Read `.current` inside tests.
 */
export function useKit(): { readonly current: Kit } {
  const holder = {} as { current: Kit }
  beforeAll(async () => {
    holder.current = await startKit()
  })
  afterAll(async () => {
    await holder.current.close()
  })
  beforeEach(async () => {
    await holder.current.reset()
  })
  return holder
}
