/**
 * One conformance suite for every Store engine: memoryStore() with a controllable clock,
 * sqliteStore() on a real file in a temporary folder (several instances: several connections to
 * the same file, each with its own lock), and redisStore() against a real redis-server
 * (test/helpers/redis.ts), where "several instances" are several stores with their own ioredis
 * connections: with its historical key names, with the hash-tagged ones (`clusterKeys`, as behind
 * a managed cluster's proxy), and on a real Redis Cluster of 3 masters and 3 replicas
 * (test/helpers/redis-topologies.ts). Then the Redis-only faults: Redis stopped, hung and restarted under a live store.
 * SQLite's own faults (foreign files, full and read-only disks, several processes) are in
 * sqlite-store.test.ts.
 */
import Redis from 'ioredis'
import { memoryStore } from '../src/stores/memory'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { redisStore } from '../src/stores/redis'
import { sqliteStore } from '../src/stores/sqlite'
import { StoreUnavailableError, ConfigError } from '../src/errors'
import type { RefreshRecord, RotateResult, Store } from '../src/stores/store'
import { startRedis, type RedisHandle } from './helpers/redis'
import { startRedisCluster, type RedisClusterHandle } from './helpers/redis-topologies'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Subject {
  /** The store under test. */
  store: Store
  /** `n` more stores sharing its data (memory: the same one; Redis: separate connections). */
  instances(n: number): Store[]
  now(): number
  /** Lets `ms` pass (memory: moves the clock; Redis: really waits). */
  advance(ms: number): Promise<void>
}

interface Kind {
  name: 'memory' | 'sqlite' | 'redis' | 'redis cluster' | 'redis with cluster keys'
  setup(): Promise<void>
  create(): Promise<Subject>
  teardown(): Promise<void>
  /** After the suite: stops what setup started. */
  dispose(): Promise<void>
}

const memoryKind = (): Kind => {
  let subject: Subject | undefined
  return {
    name: 'memory',
    async setup() {},
    async create() {
      let t = Date.UTC(2026, 0, 1)
      const store = memoryStore({ now: () => t })
      subject = {
        store,
        instances: (n) => Array.from({ length: n }, () => store),
        now: () => t,
        async advance(ms) {
          t += ms
        },
      }
      return subject
    },
    async teardown() {
      await subject?.store.close()
    },
    async dispose() {},
  }
}

/**
 * One Redis (`clusterKeys: false`), or one Redis with the hash-tagged key names a managed cluster's
 * proxy gets (`REDIS_CLUSTER_PROXY=1`).
 */
const redisKind = (clusterKeys = false): Kind => {
  let redis: RedisHandle | undefined
  let opened: Store[] = []
  return {
    name: clusterKeys ? 'redis with cluster keys' : 'redis',
    async setup() {
      redis = await startRedis()
    },
    async create() {
      await redis!.flushAll()
      const open = () => {
        const s = redisStore(redis!.url, { clusterKeys })
        opened.push(s)
        return s
      }
      return {
        store: open(),
        instances: (n) => Array.from({ length: n }, open),
        now: () => Date.now(),
        advance: async (ms) => {
          await sleep(ms)
        },
      }
    },
    async teardown() {
      await Promise.all(opened.map((s) => s.close()))
      opened = []
    },
    async dispose() {
      await redis?.stop()
    },
  }
}

/**
 * A real Redis Cluster (3 masters, 3 replicas): every atomic step must stay on one slot. A Cluster
 * client takes a while to learn the slot map, so the "other instances" are four stores opened once
 * for the suite, and each test's own store is awaited until it answers.
 */
const redisClusterKind = (): Kind => {
  let cluster: RedisClusterHandle | undefined
  let pool: Store[] = []
  let main: Store | undefined
  const ready = async (store: Store) => {
    const deadline = Date.now() + 15000
    for (;;) {
      try {
        await store.ping()
        return store
      } catch (err) {
        if (Date.now() > deadline) throw err
        await sleep(50)
      }
    }
  }
  return {
    name: 'redis cluster',
    async setup() {
      cluster = await startRedisCluster({ masters: 3, replicas: 1 })
      pool = await Promise.all(Array.from({ length: 4 }, () => ready(redisStore({ cluster: cluster!.seeds }))))
    },
    async create() {
      await cluster!.flushAll()
      main = await ready(redisStore({ cluster: cluster!.seeds }))
      return {
        store: main,
        instances: (n) => {
          if (n > pool.length) throw new Error(`the cluster kind has ${pool.length} other instances, not ${n}`)
          return pool.slice(0, n)
        },
        now: () => Date.now(),
        advance: async (ms) => {
          await sleep(ms)
        },
      }
    },
    async teardown() {
      await main?.close()
    },
    async dispose() {
      await Promise.all(pool.map((s) => s.close()))
      await cluster?.stop()
    },
  }
}

const sqliteKind = (): Kind => {
  let dir = ''
  let opened: Store[] = []
  let n = 0
  return {
    name: 'sqlite',
    async setup() {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-store-'))
    },
    async create() {
      const file = path.join(dir, `conformance-${++n}.db`)
      let t = Date.UTC(2026, 0, 1)
      const open = () => {
        const s = sqliteStore(file, { now: () => t })
        opened.push(s)
        return s
      }
      return {
        store: open(),
        instances: (count) => Array.from({ length: count }, open),
        now: () => t,
        async advance(ms) {
          t += ms
        },
      }
    },
    async teardown() {
      await Promise.all(opened.map((s) => s.close()))
      opened = []
    },
    async dispose() {
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

const kinds = [memoryKind(), sqliteKind(), redisKind(), redisKind(true), redisClusterKind()]

function record(s: Subject, over: Partial<RefreshRecord> = {}): RefreshRecord {
  const issuedAt = s.now()
  return { userId: 'user-1', family: 'fam-1', issuedAt, expiresAt: issuedAt + 60_000, ...over }
}

/** What refresh-tokens.ts passes: the store fills in user and family from the spent record. */
function successor(s: Subject): RefreshRecord {
  return record(s, { userId: '', family: '' })
}

describe.each(kinds)('$name store', (kind) => {
  let s: Subject
  let store: Store
  beforeAll(() => kind.setup())
  afterAll(() => kind.dispose())
  beforeEach(async () => {
    s = await kind.create()
    store = s.store
  })
  afterEach(() => kind.teardown())

  test('kind names the implementation', () => {
    expect(store.kind).toBe(kind.name.startsWith('redis') ? 'redis' : kind.name)
  })

  describe('refresh families', () => {
    test('a saved token rotates once; its successor inherits user and family and rotates in turn', async () => {
      const first = record(s)
      await store.putRefresh('h1', first, 60)
      const r1 = await store.rotateRefresh('h1', 'h2', successor(s), 60, s.now())
      expect(r1).toEqual({ status: 'rotated', record: first })
      const r2 = await store.rotateRefresh('h2', 'h3', successor(s), 60, s.now())
      expect(r2.status).toBe('rotated')
      expect(r2.status !== 'unknown' && r2.record).toMatchObject({ userId: 'user-1', family: 'fam-1' })
      expect(await store.isRevoked({ jti: 'j', fam: 'fam-1', iat: Math.floor(s.now() / 1000) })).toBe(false)
    })

    test('replaying a spent token is reuse: the family is revoked and the legitimate successor dies too', async () => {
      await store.putRefresh('stolen', record(s), 60)
      expect((await store.rotateRefresh('stolen', 'legit', successor(s), 60, s.now())).status).toBe('rotated')
      const replay = await store.rotateRefresh('stolen', 'attacker', successor(s), 60, s.now())
      expect(replay).toMatchObject({ status: 'reused', record: { userId: 'user-1', family: 'fam-1' } })
      expect((await store.rotateRefresh('legit', 'next', successor(s), 60, s.now())).status).toBe('revoked')
      // the attacker's would-be successor was never saved
      expect(await store.rotateRefresh('attacker', 'x', successor(s), 60, s.now())).toEqual({ status: 'unknown' })
      // the access tokens of that family are revoked as well
      expect(await store.isRevoked({ jti: 'any', fam: 'fam-1', iat: Math.floor(s.now() / 1000) })).toBe(true)
      // other families are untouched
      await store.putRefresh('other', record(s, { family: 'fam-2' }), 60)
      expect((await store.rotateRefresh('other', 'other2', successor(s), 60, s.now())).status).toBe('rotated')
    })

    test('unknown, expired by its record, and gone with its key', async () => {
      expect(await store.rotateRefresh('never-saved', 'n2', successor(s), 60, s.now())).toEqual({ status: 'unknown' })
      // The record says expired while the key still lives (another instance's clock ran ahead).
      const stale = record(s, { expiresAt: s.now() - 1 })
      await store.putRefresh('stale', stale, 60)
      expect(await store.rotateRefresh('stale', 's2', successor(s), 60, s.now())).toEqual({ status: 'expired', record: stale })
      expect(await store.rotateRefresh('s2', 's3', successor(s), 60, s.now())).toEqual({ status: 'unknown' })
      // The key's own TTL: gone afterwards.
      await store.putRefresh('short', record(s), 0.2)
      await s.advance(300)
      expect(await store.rotateRefresh('short', 'short2', successor(s), 60, s.now())).toEqual({ status: 'unknown' })
    })

    test('a spent marker lives as long as the token would have, so a late replay is still caught', async () => {
      await store.putRefresh('a', record(s), 0.6)
      expect((await store.rotateRefresh('a', 'b', successor(s), 60, s.now())).status).toBe('rotated')
      await s.advance(300)
      expect((await store.rotateRefresh('a', 'c', successor(s), 60, s.now())).status).toBe('reused')
      expect((await store.rotateRefresh('b', 'd', successor(s), 60, s.now())).status).toBe('revoked')
    })

    test('revokeFamily (logout) kills every token of the family, for the given time', async () => {
      await store.putRefresh('t1', record(s), 60)
      await store.revokeFamily('fam-1', 0.3)
      expect((await store.rotateRefresh('t1', 't2', successor(s), 60, s.now())).status).toBe('revoked')
      await s.advance(400)
      expect((await store.rotateRefresh('t1', 't2', successor(s), 60, s.now())).status).toBe('rotated')
    })

    test('the refresh not-before revokes tokens issued before it, and only those', async () => {
      const nowS = Math.floor(s.now() / 1000)
      await store.putRefresh('old', record(s, { issuedAt: (nowS - 10) * 1000 }), 60)
      await store.putRefresh('new', record(s, { issuedAt: (nowS + 1) * 1000, family: 'fam-new' }), 60)
      await store.setNotBefore('refresh', nowS)
      expect((await store.rotateRefresh('old', 'old2', successor(s), 60, s.now())).status).toBe('revoked')
      expect((await store.rotateRefresh('new', 'new2', successor(s), 60, s.now())).status).toBe('rotated')
      // The access not-before is separate.
      expect(await store.isRevoked({ jti: 'j', fam: 'f', iat: nowS - 10 })).toBe(false)
    })

    test('200 concurrent rotations of one token, over 4 instances: exactly one rotated, and its successor dies with the family', async () => {
      await store.putRefresh('hot', record(s), 60)
      const instances = s.instances(4)
      const results: RotateResult[] = await Promise.all(
        Array.from({ length: 200 }, (_, i) => instances[i % 4].rotateRefresh('hot', `succ-${i}`, successor(s), 60, s.now())),
      )
      const counts = results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {})
      expect(counts.rotated).toBe(1)
      expect(counts.reused).toBeGreaterThanOrEqual(1)
      expect((counts.reused ?? 0) + (counts.revoked ?? 0)).toBe(199)
      const winner = results.findIndex((r) => r.status === 'rotated')
      expect((await store.rotateRefresh(`succ-${winner}`, 'after', successor(s), 60, s.now())).status).toBe('revoked')
      // No loser's successor was written.
      const loser = (winner + 1) % 200
      expect(await store.rotateRefresh(`succ-${loser}`, 'after2', successor(s), 60, s.now())).toEqual({ status: 'unknown' })
    })

    test('a chain of 50 sequential rotations stays in one family', async () => {
      await store.putRefresh('c0', record(s), 60)
      for (let i = 0; i < 50; i++) {
        const r = await store.rotateRefresh(`c${i}`, `c${i + 1}`, successor(s), 60, s.now())
        expect(r).toMatchObject({ status: 'rotated', record: { userId: 'user-1', family: 'fam-1' } })
      }
    })

    test('a session has an end: sessionExpiresAt and platform pass to every successor, and past the end the family is expired however fresh the token', async () => {
      const t0 = s.now()
      // issuedAt pinned to t0: on a real clock, a second now() may be a millisecond later
      await store.putRefresh('s0', record(s, { issuedAt: t0, expiresAt: t0 + 60_000, sessionExpiresAt: t0 + 1000, platform: 'alipay' }), 60)
      const [a, b] = s.instances(2)
      expect(await a.rotateRefresh('s0', 's1', successor(s), 60, s.now())).toEqual({
        status: 'rotated',
        record: { userId: 'user-1', family: 'fam-1', issuedAt: t0, expiresAt: t0 + 60_000, sessionExpiresAt: t0 + 1000, platform: 'alipay' },
      })
      await s.advance(600)
      // s1 was issued 600 ms later with its own 60 s lifetime: the session's end still holds it.
      const second = await b.rotateRefresh('s1', 's2', successor(s), 60, s.now())
      expect(second).toMatchObject({ status: 'rotated', record: { sessionExpiresAt: t0 + 1000, platform: 'alipay' } })
      await s.advance(500)
      expect(await a.rotateRefresh('s2', 's3', successor(s), 60, s.now())).toMatchObject({ status: 'expired', record: { sessionExpiresAt: t0 + 1000 } })
      // A record without an end (written by an older version) is capped by its own expiry only.
      const old = record(s)
      await store.putRefresh('old', old, 60)
      expect(await store.rotateRefresh('old', 'old2', successor(s), 60, s.now())).toEqual({ status: 'rotated', record: old })
    })
  })

  describe('access-token revocation', () => {
    test('revokeToken revokes one jti for its TTL; isRevoked checks jti, family and the access not-before', async () => {
      const iat = Math.floor(s.now() / 1000)
      expect(await store.isRevoked({ jti: 'a', fam: 'f', iat })).toBe(false)
      await store.revokeToken('a', 0.3)
      expect(await store.isRevoked({ jti: 'a', fam: 'f', iat })).toBe(true)
      expect(await store.isRevoked({ jti: 'b', fam: 'f', iat })).toBe(false)
      await store.revokeFamily('f', 60)
      expect(await store.isRevoked({ jti: 'b', fam: 'f', iat })).toBe(true)
      expect(await store.isRevoked({ jti: 'b', fam: 'g', iat })).toBe(false)
      await store.setNotBefore('access', iat)
      expect(await store.isRevoked({ jti: 'b', fam: 'g', iat: iat - 1 })).toBe(true)
      expect(await store.isRevoked({ jti: 'b', fam: 'g', iat })).toBe(false)
      await s.advance(400)
      expect(await store.isRevoked({ jti: 'a', fam: 'g', iat })).toBe(false)
    })

    test('revocations are seen by every instance', async () => {
      const [a, b] = s.instances(2)
      await a.revokeToken('shared', 60)
      expect(await b.isRevoked({ jti: 'shared', fam: 'x', iat: 1 })).toBe(true)
    })
  })

  describe('session_key per openid', () => {
    test('put, get, overwrite on re-login, unknown user, and expiry', async () => {
      expect(await store.getSession('u1')).toBeNull()
      await store.putSession('u1', 'openid-1', 'key-A', 0.3)
      expect(await store.getSession('u1')).toEqual({ openid: 'openid-1', sessionKey: 'key-A' })
      await store.putSession('u1', 'openid-1', 'key-B', 0.3)
      expect(await store.getSession('u1')).toEqual({ openid: 'openid-1', sessionKey: 'key-B' })
      expect(await store.getSession('u2')).toBeNull()
      await s.advance(400)
      expect(await store.getSession('u1')).toBeNull()
    })

    test('the session_key is kept by openid: a second user id linked to the same openid sees the newest key', async () => {
      await store.putSession('u1', 'same-openid', 'key-1', 60)
      await store.putSession('u2', 'same-openid', 'key-2', 60)
      expect(await store.getSession('u1')).toEqual({ openid: 'same-openid', sessionKey: 'key-2' })
    })

    test('deleteSession forgets the key on every instance; another user keeps theirs; deleting nothing is fine', async () => {
      const [a, b] = s.instances(2)
      await a.putSession('u1', 'weixin:wx1:o1', 'key-1', 60)
      await a.putSession('u2', 'weixin:wx1:o2', 'key-2', 60)
      await b.deleteSession('u1')
      expect(await a.getSession('u1')).toBeNull()
      expect(await b.getSession('u2')).toEqual({ openid: 'weixin:wx1:o2', sessionKey: 'key-2' })
      await b.deleteSession('u1')
      await b.deleteSession('nobody')
      // A new login brings a new key.
      await a.putSession('u1', 'weixin:wx1:o1', 'key-3', 60)
      expect(await b.getSession('u1')).toEqual({ openid: 'weixin:wx1:o1', sessionKey: 'key-3' })
    })
  })

  describe('access_token cache and lock', () => {
    test('get/set the access_token per appid, shared by instances', async () => {
      const [a, b] = s.instances(2)
      expect(await a.getAccessToken('wx1')).toBeNull()
      await a.setAccessToken('wx1', { token: 'AT-1', expiresAt: 123 })
      expect(await b.getAccessToken('wx1')).toEqual({ token: 'AT-1', expiresAt: 123 })
      expect(await b.getAccessToken('wx2')).toBeNull()
    })

    test('lock: of 50 concurrent owners over 4 instances exactly one wins; a non-owner cannot release it', async () => {
      const instances = s.instances(4)
      const won = await Promise.all(Array.from({ length: 50 }, (_, i) => instances[i % 4].acquireLock('renew', `owner-${i}`, 5000)))
      expect(won.filter(Boolean)).toHaveLength(1)
      const winner = `owner-${won.indexOf(true)}`
      await store.releaseLock('renew', 'intruder')
      expect(await store.acquireLock('renew', 'intruder', 5000)).toBe(false)
      await store.releaseLock('renew', winner)
      expect(await store.acquireLock('renew', 'next', 5000)).toBe(true)
    })

    test('compare-and-delete: a stale owner whose lock expired cannot release the lock another owner took since', async () => {
      expect(await store.acquireLock('L', 'slow', 150)).toBe(true)
      await s.advance(250)
      expect(await store.acquireLock('L', 'fresh', 5000)).toBe(true)
      await store.releaseLock('L', 'slow') // too late: not its lock any more
      expect(await store.acquireLock('L', 'third', 5000)).toBe(false)
      await store.releaseLock('L', 'fresh')
      expect(await store.acquireLock('L', 'third', 5000)).toBe(true)
    })
  })

  describe('counters', () => {
    test('hit counts within a window, reports the time left, and starts over after it', async () => {
      const first = await store.hit('ip:1', 0.3)
      expect(first.count).toBe(1)
      expect(first.resetMs).toBeGreaterThan(0)
      expect(first.resetMs).toBeLessThanOrEqual(300)
      expect((await store.hit('ip:1', 0.3)).count).toBe(2)
      // A later hit does not push the window back.
      await s.advance(100)
      const third = await store.hit('ip:1', 0.3)
      expect(third.count).toBe(3)
      expect(third.resetMs).toBeLessThanOrEqual(200)
      expect((await store.hit('ip:2', 0.3)).count).toBe(1)
      await s.advance(250)
      expect((await store.hit('ip:1', 0.3)).count).toBe(1)
    })

    test('getHits reads a window without counting', async () => {
      expect(await store.getHits('k')).toEqual({ count: 0, resetMs: 0 })
      await store.hit('k', 0.5)
      await store.hit('k', 0.5)
      const [other] = s.instances(1)
      const seen = await other.getHits('k')
      expect(seen.count).toBe(2)
      expect(seen.resetMs).toBeGreaterThan(0)
      expect(seen.resetMs).toBeLessThanOrEqual(500)
      expect((await other.getHits('k')).count).toBe(2)
      expect((await store.hit('k', 0.5)).count).toBe(3)
      await s.advance(600)
      expect(await store.getHits('k')).toEqual({ count: 0, resetMs: 0 })
    })

    test('100 concurrent hits over 4 instances count 1..100 with no number twice', async () => {
      const instances = s.instances(4)
      const hits = await Promise.all(Array.from({ length: 100 }, (_, i) => instances[i % 4].hit('burst', 60)))
      expect(hits.map((h) => h.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    })
  })

  describe('the data\'s identity', () => {
    test('one generation, random, the same for every instance and every call; checkSubject answers it with whether the user exists', async () => {
      const [a, b] = s.instances(2)
      const gens = await Promise.all([store.generation(), a.generation(), b.generation(), a.generation()])
      expect(gens[0]).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(new Set(gens).size).toBe(1)
      const user = await a.findOrCreateUser('weixin:openid-gen', {})
      const fresh = { sessionEnded: false, notBefore: 0 }
      expect(await b.checkSubject(user.id)).toEqual({ generation: gens[0], userExists: true, ...fresh })
      expect(await b.checkSubject('no-such-user')).toEqual({ generation: gens[0], userExists: false, ...fresh })
      // A user id that was a counter in older versions means nothing here.
      expect(await b.checkSubject('1')).toEqual({ generation: gens[0], userExists: false, ...fresh })
    })

    test('user ids are random, never a counter: 300 identities from 3 instances get 300 distinct 22-character ids', async () => {
      const stores = s.instances(3)
      const users = await Promise.all(Array.from({ length: 300 }, (_, i) => stores[i % 3].findOrCreateUser(`weixin:openid-${i}`, {})))
      const ids = users.map((u) => u.id)
      expect(new Set(ids).size).toBe(300)
      for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(ids.filter((id) => /^\d+$/.test(id))).toEqual([])
    })
  })

  describe('users', () => {
    test('findOrCreateUser racing from 2 instances yields one id; other identities get other ids', async () => {
      const [a, b] = s.instances(2)
      const users = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).findOrCreateUser('weixin:openid-1', { nickName: '微信用户', avatarUrl: '' })),
      )
      expect(new Set(users.map((u) => u.id)).size).toBe(1)
      const other = await a.findOrCreateUser('weixin:openid-2', {})
      expect(other.id).not.toBe(users[0].id)
      expect(users[0].fields).toEqual({ nickName: '微信用户', avatarUrl: '' })
    })

    test('defaults apply at creation only; updateUser merges, removes undefined fields, and answers null for no such user', async () => {
      const created = await store.findOrCreateUser('k', { nickName: 'A', avatarUrl: '', score: 1 })
      const updated = await store.updateUser(created.id, { nickName: 'B', phoneNumber: '13800000000', score: undefined, tags: ['x', { y: 2 }] })
      expect(updated).toEqual({ id: created.id, fields: { nickName: 'B', avatarUrl: '', phoneNumber: '13800000000', tags: ['x', { y: 2 }] } })
      expect(await store.findOrCreateUser('k', { nickName: 'ignored' })).toEqual(updated)
      expect(await store.getUser(created.id)).toEqual(updated)
      expect(await store.getUser('no-such-id')).toBeNull()
      expect(await store.updateUser('no-such-id', { nickName: 'x' })).toBeNull()
      expect(await store.getUser('no-such-id')).toBeNull()
    })

    test('a user with no fields still exists; values come back as JSON would give them', async () => {
      const bare = await store.findOrCreateUser('bare', {})
      expect(await store.getUser(bare.id)).toEqual({ id: bare.id, fields: {} })
      const dated = await store.updateUser(bare.id, { at: new Date(0), n: 0, f: false, z: null, s: '' })
      expect(dated?.fields).toEqual({ at: '1970-01-01T00:00:00.000Z', n: 0, f: false, z: null, s: '' })
    })

    test('a returned user is a copy: mutating it does not change the stored one', async () => {
      const u = await store.findOrCreateUser('copy', { list: [1] })
      ;(u.fields.list as number[]).push(2)
      u.fields.extra = true
      expect((await store.getUser(u.id))?.fields).toEqual({ list: [1] })
    })
  })

  describe('identities joined by a link key (unionid)', () => {
    test('the same person from a second app is one user; an account made before the unionid keeps its id and gains the link', async () => {
      const first = await store.findOrCreateUser('weixin:openid-app1', { nickName: 'A' }, 'weixin-union:U1')
      const second = await store.findOrCreateUser('weixin:openid-app2', { nickName: 'B' }, 'weixin-union:U1')
      expect(second).toEqual({ id: first.id, fields: { nickName: 'A' } })
      // Without the unionid afterwards, the second app's openid still names the same user.
      expect((await store.findOrCreateUser('weixin:openid-app2', {})).id).toBe(first.id)

      const early = await store.findOrCreateUser('weixin:openid-early', { nickName: 'E' })
      const bound = await store.findOrCreateUser('weixin:openid-early', {}, 'weixin-union:U2')
      expect(bound).toEqual({ id: early.id, fields: { nickName: 'E' } })
      expect((await store.findOrCreateUser('weixin:openid-other-app', {}, 'weixin-union:U2')).id).toBe(early.id)
    })

    test('two existing accounts sharing one unionid are never merged: the openid\'s account is answered and the other named', async () => {
      const a = await store.findOrCreateUser('weixin:oa', { nickName: 'A' })
      const b = await store.findOrCreateUser('weixin:ob', { nickName: 'B' })
      expect((await store.findOrCreateUser('weixin:oa', {}, 'weixin-union:U3')).id).toBe(a.id)
      const clash = await store.findOrCreateUser('weixin:ob', {}, 'weixin-union:U3')
      expect(clash).toEqual({ id: b.id, fields: { nickName: 'B' }, conflict: a.id })
      // Nothing moved: the unionid still names A, ob still names B.
      expect((await store.findOrCreateUser('weixin:new-app', {}, 'weixin-union:U3')).id).toBe(a.id)
      expect((await store.findOrCreateUser('weixin:ob', {})).id).toBe(b.id)
    })

    test('racing first logins of one person from two apps on 2 instances agree on one user', async () => {
      const [x, y] = s.instances(2)
      const users = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? x : y).findOrCreateUser(`weixin:race-app${i % 2}`, { nickName: 'n' }, 'weixin-union:URACE')),
      )
      expect(new Set(users.map((u) => u.id)).size).toBe(1)
      expect(users.every((u) => u.conflict === undefined)).toBe(true)
    })

    test('deleting the user frees the link too: the person comes back as a new user from either app', async () => {
      const u = await store.findOrCreateUser('weixin:del-app1', {}, 'weixin-union:UD')
      await store.findOrCreateUser('weixin:del-app2', {}, 'weixin-union:UD')
      expect(await store.deleteUser(u.id, 60)).toBe(true)
      const back = await store.findOrCreateUser('weixin:del-app2', {}, 'weixin-union:UD')
      expect(back.id).not.toBe(u.id)
      expect((await store.findOrCreateUser('weixin:del-app1', {}, 'weixin-union:UD')).id).toBe(back.id)
    })
  })

  describe('sessions and account deletion', () => {
    test('each login is listed as a session until it expires or is revoked; a rotation updates its last use; users never see each other\'s', async () => {
      // One instant for the login and its record (on a real clock two now() calls may differ).
      const first = record(s, { userId: 'u:1', family: 'fa', platform: 'weixin' })
      const t0 = first.issuedAt
      await store.putRefresh('a1', { ...first, sessionExpiresAt: t0 + 3_600_000 }, 60)
      await s.advance(1000)
      await store.putRefresh('b1', record(s, { userId: 'u:1', family: 'fb', platform: 'qq' }), 60)
      // An id of your own that starts like another user's, and a plain one.
      await store.putRefresh('c1', record(s, { userId: 'u:1:x', family: 'fc' }), 60)
      await store.putRefresh('d1', record(s, { userId: 'u', family: 'fd' }), 60)
      const listed = await store.listSessions('u:1', s.now())
      expect(listed.map((x) => x.id)).toEqual(['fa', 'fb'])
      expect(listed[0]).toEqual({ id: 'fa', platform: 'weixin', createdAt: t0, lastUsedAt: t0, expiresAt: t0 + 60_000 })
      expect((await store.listSessions('u:1:x', s.now())).map((x) => x.id)).toEqual(['fc'])
      expect((await store.listSessions('u', s.now())).map((x) => x.id)).toEqual(['fd'])
      expect(await store.listSessions('nobody', s.now())).toEqual([])

      await s.advance(1000)
      // One instant for the rotation and its successor's expiry (on a real clock two now() calls may differ).
      const next = successor(s)
      const t2 = next.issuedAt
      expect(await store.rotateRefresh('a1', 'a2', next, 60, t2)).toMatchObject({ status: 'rotated' })
      expect((await store.listSessions('u:1', t2))[0]).toMatchObject({ id: 'fa', createdAt: t0, lastUsedAt: t2, expiresAt: next.expiresAt })

      await store.revokeFamily('fb', 60)
      expect((await store.listSessions('u:1', s.now())).map((x) => x.id)).toEqual(['fa'])
      // Past its end a session is not listed (the caller's clock decides).
      expect(await store.listSessions('u:1', t2 + 60_001)).toEqual([])
    })

    test('checkSubject answers, in one call, whether the token\'s session ended and the user\'s own not-before', async () => {
      const user = await store.findOrCreateUser('weixin:nbf', {})
      await store.putRefresh('n1', record(s, { userId: user.id, family: 'fn' }), 60)
      expect(await store.checkSubject(user.id, 'fn')).toMatchObject({ userExists: true, sessionEnded: false, notBefore: 0 })
      await store.revokeFamily('fn', 60)
      expect(await store.checkSubject(user.id, 'fn')).toMatchObject({ sessionEnded: true })
      expect(await store.checkSubject(user.id, 'other')).toMatchObject({ sessionEnded: false })
      expect(await store.checkSubject(user.id)).toMatchObject({ sessionEnded: false })
      await store.setUserNotBefore(user.id, 1_700_000_000, 60)
      expect(await store.checkSubject(user.id)).toMatchObject({ notBefore: 1_700_000_000 })
      expect(await store.checkSubject('someone-else')).toMatchObject({ notBefore: 0 })
    })

    test('checkSubject withUser answers the user\'s record in the same call, current after an update, null once deleted', async () => {
      const user = await store.findOrCreateUser('weixin:with-user', { nickName: '微信用户', avatarUrl: '' })
      await store.putRefresh('w1', record(s, { userId: user.id, family: 'fw' }), 60)
      const subject = await store.checkSubject(user.id, 'fw', { withUser: true })
      expect(subject).toEqual({ generation: await store.generation(), userExists: true, sessionEnded: false, notBefore: 0, user: { id: user.id, fields: { nickName: '微信用户', avatarUrl: '' } } })
      // Without it, no user (and the same answer otherwise).
      expect(await store.checkSubject(user.id, 'fw')).not.toHaveProperty('user')
      await store.updateUser(user.id, { nickName: 'Alice', score: 3 })
      expect((await store.checkSubject(user.id, 'fw', { withUser: true })).user).toEqual({ id: user.id, fields: { nickName: 'Alice', avatarUrl: '', score: 3 } })
      await store.deleteUser(user.id, 60)
      expect(await store.checkSubject(user.id, 'fw', { withUser: true })).toMatchObject({ userExists: false, sessionEnded: true, user: null })
      expect(await store.checkSubject('nobody', undefined, { withUser: true })).toMatchObject({ userExists: false, sessionEnded: false, user: null })
    })

    test('deleteUser removes the user, their identities, session_key and sessions at once; the same identity then gets a new id', async () => {
      const alice = await store.findOrCreateUser('weixin:alice', { nickName: 'Alice' })
      const bob = await store.findOrCreateUser('weixin:bob', { nickName: 'Bob' })
      await store.putSession(alice.id, 'weixin:wx1:alice', 'sk-alice', 60)
      await store.putRefresh('al1', record(s, { userId: alice.id, family: 'fal1' }), 60)
      await store.putRefresh('al2', record(s, { userId: alice.id, family: 'fal2' }), 60)
      await store.putRefresh('bo1', record(s, { userId: bob.id, family: 'fbo' }), 60)

      expect(await store.deleteUser(alice.id, 60)).toBe(true)
      expect(await store.getUser(alice.id)).toBeNull()
      expect(await store.getSession(alice.id)).toBeNull()
      expect(await store.listSessions(alice.id, s.now())).toEqual([])
      for (const family of ['fal1', 'fal2']) expect(await store.checkSubject(alice.id, family)).toMatchObject({ userExists: false, sessionEnded: true })
      expect(await store.rotateRefresh('al1', 'al1b', successor(s), 60, s.now())).toMatchObject({ status: 'revoked' })
      // Bob is untouched.
      expect(await store.getUser(bob.id)).toEqual({ id: bob.id, fields: { nickName: 'Bob' } })
      expect(await store.checkSubject(bob.id, 'fbo')).toMatchObject({ userExists: true, sessionEnded: false })
      // Alice logging in again is a new account: a new id, none of the old data.
      const again = await store.findOrCreateUser('weixin:alice', { nickName: '微信用户' })
      expect(again.id).not.toBe(alice.id)
      expect(again.fields).toEqual({ nickName: '微信用户' })
      // Deleting twice: nothing left to delete.
      expect(await store.deleteUser(alice.id, 60)).toBe(false)
      // Ending the sessions of a user of your own (not in the store) still works.
      await store.putRefresh('own1', record(s, { userId: 'own-user', family: 'fown' }), 60)
      expect(await store.deleteUser('own-user', 60)).toBe(false)
      expect(await store.checkSubject('own-user', 'fown')).toMatchObject({ sessionEnded: true })
    })

    test('deleteUser racing logins of the same identity from 2 instances: never a half-made account, never the old id', async () => {
      const [a, b] = s.instances(2)
      const first = await a.findOrCreateUser('weixin:race', { nickName: 'n' })
      const results = await Promise.all([
        b.deleteUser(first.id, 60),
        ...Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).findOrCreateUser('weixin:race', { nickName: 'n' })),
      ])
      const ids = new Set((results.slice(1) as { id: string }[]).map((u) => u.id))
      // Logins before the deletion saw the old id, those after it one new id; the identity ends on a user that exists.
      const now = await a.findOrCreateUser('weixin:race', { nickName: 'n' })
      expect(now.id).not.toBe(first.id)
      expect(await a.getUser(now.id)).toEqual({ id: now.id, fields: { nickName: 'n' } })
      expect(await a.getUser(first.id)).toBeNull()
      for (const id of ids) if (id !== first.id) expect(id).toBe(now.id)
    })
  })

  describe('bad input', () => {
    test('is refused with a TypeError naming the method and argument, and nothing is written', async () => {
      await expect(store.putRefresh('', record(s), 60)).rejects.toThrow(/putRefresh: tokenHash must be a non-empty string/)
      await expect(store.putRefresh('h', record(s), 0)).rejects.toThrow(TypeError)
      await expect(store.putRefresh('h', record(s), NaN)).rejects.toThrow(/ttlSeconds must be a positive finite number, got NaN/)
      await expect(store.putRefresh('h', { ...record(s), userId: '' }, 60)).rejects.toThrow(/record.userId/)
      await expect(store.putRefresh('h', null as unknown as RefreshRecord, 60)).rejects.toThrow(/RefreshRecord/)
      expect(await store.rotateRefresh('h', 'h2', successor(s), 60, s.now())).toEqual({ status: 'unknown' })
      await expect(store.rotateRefresh('h', 'h', successor(s), 60, s.now())).rejects.toThrow(/must differ/)
      await expect(store.rotateRefresh('h', 'h2', successor(s), 60, Infinity)).rejects.toThrow(/nowMs/)
      await expect(store.acquireLock('l', 'o', -1)).rejects.toThrow(/ttlMs/)
      await expect(store.hit('k', 0)).rejects.toThrow(/windowSeconds/)
      await expect(store.setNotBefore('both' as 'access', 1)).rejects.toThrow(/'access' or 'refresh'/)
      await expect(store.setAccessToken('wx', { token: '', expiresAt: 1 })).rejects.toThrow(/value.token/)
      await expect(store.findOrCreateUser('k', [] as unknown as Record<string, unknown>)).rejects.toThrow(/plain object/)
      await expect(store.findOrCreateUser('k', { big: 10n })).rejects.toThrow(/defaults.big cannot be stored as JSON/)
      await expect(store.updateUser('1', { f: () => 1 })).rejects.toThrow(/patch.f cannot be stored as JSON/)
      await expect(store.isRevoked(null as unknown as { jti: string; fam: string; iat: number })).rejects.toThrow(TypeError)
      expect(await store.getUser('1')).toBeNull()
    })
  })

  test('ping answers; after close() every call rejects with StoreUnavailableError', async () => {
    await expect(store.ping()).resolves.toBeUndefined()
    await store.close()
    await store.close()
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(store.getSession('u')).rejects.toThrow(/after close\(\)/)
    await expect(store.generation()).rejects.toBeInstanceOf(StoreUnavailableError)
    await expect(store.checkSubject('u')).rejects.toBeInstanceOf(StoreUnavailableError)
  })
})

describe('redis store only', () => {
  let redis: RedisHandle
  const opened: Store[] = []
  const open = (...args: Parameters<typeof redisStore>) => {
    const s = redisStore(...args)
    opened.push(s)
    return s
  }
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterEach(async () => {
    redis.thaw()
    await Promise.all(opened.splice(0).map((s) => s.close()))
  })
  afterAll(() => redis.stop())

  /** Every method once, with valid arguments. */
  const everyMethod = (store: Store): Array<[string, () => Promise<unknown>]> => {
    const rec = { userId: 'u', family: 'f', issuedAt: Date.now(), expiresAt: Date.now() + 60_000 }
    return [
      ['putRefresh', () => store.putRefresh('h', rec, 60)],
      ['rotateRefresh', () => store.rotateRefresh('h', 'h2', rec, 60, Date.now())],
      ['revokeFamily', () => store.revokeFamily('f', 60)],
      ['revokeToken', () => store.revokeToken('j', 60)],
      ['isRevoked', () => store.isRevoked({ jti: 'j', fam: 'f', iat: 1 })],
      ['setNotBefore', () => store.setNotBefore('access', 1)],
      ['putSession', () => store.putSession('u', 'o', 'k', 60)],
      ['getSession', () => store.getSession('u')],
      ['getAccessToken', () => store.getAccessToken('wx')],
      ['setAccessToken', () => store.setAccessToken('wx', { token: 't', expiresAt: 1 })],
      ['acquireLock', () => store.acquireLock('l', 'o', 1000)],
      ['releaseLock', () => store.releaseLock('l', 'o')],
      ['hit', () => store.hit('k', 60)],
      ['findOrCreateUser', () => store.findOrCreateUser('i', {})],
      ['getUser', () => store.getUser('1')],
      ['updateUser', () => store.updateUser('1', { a: 1 })],
      ['ping', () => store.ping()],
    ]
  }

  /** Polls until the store answers again (the client reconnects in the background). */
  async function untilServing(store: Store, withinMs: number): Promise<number> {
    const start = Date.now()
    for (;;) {
      try {
        await store.ping()
        return Date.now() - start
      } catch (err) {
        expect(err).toBeInstanceOf(StoreUnavailableError)
        if (Date.now() - start > withinMs) throw err
        await sleep(50)
      }
    }
  }

  test('FLUSHALL (Redis lost its data): the next call answers a new generation on every instance, and the old user is gone', async () => {
    await redis.flushAll()
    const a = open(redis.url)
    const b = open(redis.url)
    const alice = await a.findOrCreateUser('weixin:alice', { nickName: 'Alice' })
    const before = await a.generation()
    expect(await b.checkSubject(alice.id)).toMatchObject({ generation: before, userExists: true })
    await redis.flushAll()
    const after = await b.checkSubject(alice.id)
    expect(after.userExists).toBe(false)
    expect(after.generation).not.toBe(before)
    expect(await a.generation()).toBe(after.generation)
    // The next user is not handed Alice's id: ids were never a counter.
    const bob = await a.findOrCreateUser('weixin:bob', {})
    expect(bob.id).not.toBe(alice.id)
    expect(await a.getUser(alice.id)).toBeNull()
  })

  test('persistence() tells whether Redis keeps anything on disk (the bin warns when it keeps nothing)', async () => {
    const store = open(redis.url) as ReturnType<typeof redisStore>
    // startRedis runs with no AOF and no RDB snapshots: a restart loses everything.
    expect(await store.persistence()).toEqual({ aof: false, rdb: false })
    const raw = new Redis(redis.url)
    try {
      await raw.config('SET', 'appendonly', 'yes')
      expect(await store.persistence()).toEqual({ aof: true, rdb: false })
      await raw.config('SET', 'appendonly', 'no')
    } finally {
      raw.disconnect()
    }
  })

  test('Redis stopped: every method rejects with StoreUnavailableError within 1.5 s; restarted: the same store serves again', async () => {
    const store = open(redis.url)
    const peer = open(redis.url)
    await store.putRefresh('before', { userId: 'u', family: 'f', issuedAt: Date.now(), expiresAt: Date.now() + 60_000 }, 60)
    await redis.stop()
    for (const [name, call] of everyMethod(store)) {
      const started = Date.now()
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect({ name, err }).toEqual({ name, err: expect.any(StoreUnavailableError) })
      expect((err as StoreUnavailableError).code).toBe('store_unavailable')
      expect((err as Error).message).toMatch(new RegExp(`Redis at redis://127\\.0\\.0\\.1:${redis.port}/? is unavailable: ${name} failed`))
      expect(Date.now() - started).toBeLessThan(1500)
    }
    await redis.restart()
    await untilServing(store, 5000)
    await untilServing(peer, 5000)
    // The scripts run again although the restarted Redis has an empty script cache (EVALSHA → EVAL).
    const rec = { userId: 'u', family: 'f', issuedAt: Date.now(), expiresAt: Date.now() + 60_000 }
    await store.putRefresh('after', rec, 60)
    const results = await Promise.all([store, peer].map((s, i) => s.rotateRefresh('after', `next-${i}`, rec, 60, Date.now())))
    expect(results.map((r) => r.status).sort()).toEqual(['reused', 'rotated'])
    // No persistence: what was written before the restart is gone (and is reported as unknown, not as an error).
    expect(await store.rotateRefresh('before', 'x', rec, 60, Date.now())).toEqual({ status: 'unknown' })
  })

  test('Redis hung (SIGSTOP): calls time out with StoreUnavailableError after commandTimeoutMs, then serve again once it answers', async () => {
    const store = open(redis.url, { commandTimeoutMs: 300 })
    await store.ping()
    redis.freeze()
    const started = Date.now()
    const results = await Promise.allSettled([store.hit('k', 60), store.acquireLock('l', 'o', 1000), store.getSession('u')])
    const elapsed = Date.now() - started
    for (const r of results) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError)
    }
    expect(elapsed).toBeGreaterThanOrEqual(250)
    expect(elapsed).toBeLessThan(1500)
    redis.thaw()
    await untilServing(store, 5000)
    expect(await store.acquireLock('after-thaw', 'o', 1000)).toBe(true)
  })

  test('a store created while Redis is down fails fast, then serves once Redis is up, without being recreated', async () => {
    await redis.stop()
    const store = open(redis.url, { commandTimeoutMs: 400 })
    const started = Date.now()
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError)
    expect(Date.now() - started).toBeLessThan(1500)
    await redis.restart()
    await untilServing(store, 5000)
    expect((await store.hit('fresh', 60)).count).toBe(1)
  })

  test('a store created on a fresh URL waits for its first connection instead of failing the first call', async () => {
    const store = open(redis.url)
    expect((await store.hit('first-call', 60)).count).toBe(1)
  })

  test('keys live under the prefix, every key the interface gives a lifetime has a TTL, and prefixes do not mix', async () => {
    await redis.flushAll()
    const store = open(redis.url, { prefix: 'app-a:' })
    const other = open(redis.url, { prefix: 'app-b:' })
    const now = Date.now()
    await store.putRefresh('h1', { userId: 'u', family: 'f1', issuedAt: now, expiresAt: now + 60_000 }, 60)
    await store.rotateRefresh('h1', 'h2', { userId: '', family: '', issuedAt: now, expiresAt: now + 60_000 }, 60, now)
    await store.rotateRefresh('h1', 'h3', { userId: '', family: '', issuedAt: now, expiresAt: now + 60_000 }, 60, now) // reuse → family-revoked
    await store.revokeToken('j1', 60)
    await store.putSession('u', 'o', 'sk', 60)
    await store.acquireLock('l', 'me', 60_000)
    await store.hit('k', 60)
    const user = await store.findOrCreateUser('weixin:o', { nickName: 'n' })
    await store.setAccessToken('wx', { token: 't', expiresAt: now + 7_200_000 })
    await store.setNotBefore('access', 1)
    await store.setUserNotBefore('u', 1, 60)
    await store.generation()

    const raw = new Redis(redis.url)
    try {
      const keys = (await raw.keys('*')).sort()
      expect(keys.every((key) => key.startsWith('app-a:'))).toBe(true)
      const withTtl = ['refresh:h1', 'refresh:h2', 'family-revoked:f1', 'family:f1', 'jti-revoked:j1', 'session:o', 'session-owner:u', 'lock:l', 'hit:k', 'user-sessions:u', 'user-not-before:u']
      const kept = ['identity:weixin:o', `user:${user.id}`, `user-identities:${user.id}`, 'generation', 'access-token:wx', 'not-before:access']
      expect(keys).toEqual([...withTtl, ...kept].map((key) => `app-a:${key}`).sort())
      for (const key of withTtl) {
        const ttl = await raw.pttl(`app-a:${key}`)
        expect({ key, ok: ttl > 0 && ttl <= 60_000 }).toEqual({ key, ok: true })
      }
      for (const key of kept) expect({ key, ttl: await raw.pttl(`app-a:${key}`) }).toEqual({ key, ttl: -1 })
      // The refresh token's record is a hash; nothing in the store is a usable token.
      expect(await raw.hgetall('app-a:refresh:h1')).toEqual({ userId: 'u', family: 'f1', issuedAt: String(now), expiresAt: String(now + 60_000), spent: '1' })
    } finally {
      raw.disconnect()
    }
    expect(await other.getSession('u')).toBeNull()
    expect(await other.rotateRefresh('h2', 'x', { userId: '', family: '', issuedAt: now, expiresAt: now + 60_000 }, 60, now)).toEqual({ status: 'unknown' })
    expect(await other.acquireLock('l', 'other', 1000)).toBe(true)
  })

  test('a user field not written by the store is reported as StoreUnavailableError, not a crash', async () => {
    await redis.flushAll()
    const store = open(redis.url)
    const user = await store.findOrCreateUser('weixin:o', { nickName: 'n' })
    const raw = new Redis(redis.url)
    try {
      await raw.hset(`weapp-auth:user:${user.id}`, 'f:nickName', 'not json')
    } finally {
      raw.disconnect()
    }
    await expect(store.getUser(user.id)).rejects.toThrow(`user ${user.id} field "nickName" is not JSON`)
    await expect(store.findOrCreateUser('weixin:o', {})).rejects.toBeInstanceOf(StoreUnavailableError)
  })

  test('a client you pass in stays yours: close() does not quit it', async () => {
    const client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    try {
      await new Promise((resolve) => client.once('ready', resolve))
      const store = redisStore(client)
      expect((await store.hit('mine', 60)).count).toBe(1)
      await store.close()
      expect(await client.ping()).toBe('PONG')
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError)
    } finally {
      client.disconnect()
    }
  })

  test('wrong arguments at construction are a ConfigError', () => {
    expect(() => redisStore('http://localhost:6379')).toThrow(ConfigError)
    expect(() => redisStore('http://localhost:6379')).toThrow(/redis:\/\/ or rediss:\/\//)
    expect(() => redisStore('not a url')).toThrow(/is not a URL/)
    expect(() => redisStore(42 as unknown as string)).toThrow(/expected a redis:\/\/ URL, \{ cluster \}, \{ sentinels, name \} or an ioredis client, got number/)
    expect(() => redisStore(redis.url, { commandTimeoutMs: 0 })).toThrow(/commandTimeoutMs must be a positive number/)
    expect(() => redisStore(redis.url, { prefix: 5 as unknown as string })).toThrow(/prefix must be a string/)
  })
})

describe('memory store only', () => {
  test('expired entries are swept, so memory stays bounded for keys nobody reads again', async () => {
    let t = 0
    const store = memoryStore({ now: () => t })
    try {
      for (let i = 0; i < 500; i++) {
        await store.putSession(`u${i}`, `o${i}`, 'k', 1)
        await store.hit(`ip${i}`, 1)
        await store.revokeToken(`j${i}`, 1)
        await store.acquireLock(`l${i}`, 'o', 1000)
      }
      await store.findOrCreateUser('kept', {})
      expect(store.size()).toBeGreaterThanOrEqual(2500)
      t += 1001
      store.sweep()
      expect(store.size()).toBe(2) // the user and its identity
    } finally {
      await store.close()
    }
  })

  test('the sweep timer runs on its own and does not keep the process alive', async () => {
    let t = 0
    const store = memoryStore({ now: () => t, sweepIntervalMs: 20 })
    try {
      await store.revokeToken('j', 1)
      t += 2000
      await sleep(80)
      expect(store.size()).toBe(0)
    } finally {
      await store.close()
    }
  })

  test('wrong options are refused', () => {
    expect(() => memoryStore({ now: 5 as unknown as () => number })).toThrow(/options.now must be a function/)
    expect(() => memoryStore({ sweepIntervalMs: -1 })).toThrow(/sweepIntervalMs/)
  })
})
