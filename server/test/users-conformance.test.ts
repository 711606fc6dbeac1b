/**
 * One UserRepository contract, the same tests on every repository the kit ships: storeUsers on the
 * memory store and on SQLite, and sqlUsers on a real MariaDB and a real PostgreSQL started here
 * on free ports (skipped, with a warning, only when their binaries are not installed; CI installs
 * them, see .ci/run).
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { memoryStore, migrateSqlUsers, sqliteStore, sqlUsers, storeUsers, type IdentityConflict, type Store } from 'weapp-auth-server'
import { findMariadb, findPostgres, startMariadb, startPostgres, type SqlServerHandle } from './helpers/sql-servers'

interface Repo {
  findOrCreate(identity: { openid: string; unionid?: string; platform: 'weixin' | 'qq' | 'douyin' | 'alipay' }): Promise<{ id: string; [k: string]: unknown }>
  findById(id: string): Promise<{ id: string; [k: string]: unknown } | null>
  updateUser(id: string, patch: Record<string, unknown>): Promise<{ id: string; [k: string]: unknown } | null>
  deleteUser(id: string): Promise<boolean>
}

interface Backend {
  /** A repository instance; every instance of one backend shares its data (two servers, one database). */
  repo(options?: { onIdentityConflict?: (c: IdentityConflict) => void }): Repo
  close(): Promise<void>
}

interface Variant {
  name: string
  available: () => string | null
  open: () => Promise<Backend>
}

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-users-'))
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }))

function storeBackend(stores: () => Store[]): Backend {
  const opened: Store[] = []
  let next = 0
  const all = stores()
  opened.push(...all)
  return {
    repo: (options) => storeUsers(all[next++ % all.length], options),
    close: async () => void (await Promise.all(opened.map((s) => s.close()))),
  }
}

function sqlBackend(start: () => Promise<SqlServerHandle>): () => Promise<Backend> {
  return async () => {
    const server = await start()
    const repos: Array<{ close(): Promise<void> }> = []
    const first = sqlUsers({ url: server.url })
    repos.push(first)
    await migrateSqlUsers(first.db)
    return {
      repo: (options) => {
        // Each instance its own pool: two servers on one database.
        const r = sqlUsers({ url: server.url }, options)
        repos.push(r)
        return r
      },
      close: async () => {
        await Promise.all(repos.map((r) => r.close()))
        await server.stop()
      },
    }
  }
}

const variants: Variant[] = [
  { name: 'storeUsers(memoryStore())', available: () => null, open: async () => {
    const store = memoryStore()
    return storeBackend(() => [store])
  } },
  { name: 'storeUsers(sqliteStore(file))', available: () => null, open: async () => {
    const file = path.join(TMP, 'users.db')
    return storeBackend(() => [sqliteStore(file), sqliteStore(file)])
  } },
  { name: 'sqlUsers on MariaDB', available: () => (findMariadb() ? null : 'mariadbd is not installed (apt-get install mariadb-server)'), open: sqlBackend(() => startMariadb()) },
  { name: 'sqlUsers on PostgreSQL', available: () => (findPostgres() ? null : 'postgres is not installed (apt-get install postgresql)'), open: sqlBackend(() => startPostgres()) },
]

let seq = 0
/** A fresh openid/unionid for each test, so the tests of one backend never meet. */
const fresh = (name: string) => `${name}-${++seq}-${Math.random().toString(36).slice(2, 8)}`

for (const variant of variants) {
  const missing = variant.available()
  if (missing) {
    console.warn(`users-conformance: skipping "${variant.name}": ${missing}`)
    describe.skip(variant.name, () => test.todo('needs its server'))
    continue
  }

  describe(variant.name, () => {
    let backend: Backend
    let repo: Repo
    beforeAll(async () => {
      backend = await variant.open()
      repo = backend.repo()
    }, 60_000)
    afterAll(async () => {
      await backend?.close()
    }, 30_000)

    test('findOrCreate is idempotent; a new user starts with the default fields and no openid/unionid', async () => {
      const openid = fresh('o')
      const a = await repo.findOrCreate({ openid, unionid: fresh('u'), platform: 'weixin' })
      const b = await repo.findOrCreate({ openid, platform: 'weixin' })
      expect(b).toEqual(a)
      expect(a).toEqual({ id: a.id, nickName: '微信用户', avatarUrl: '', platform: 'weixin' })
      expect(typeof a.id).toBe('string')
      expect(await repo.findById(a.id)).toEqual(a)
      expect(await repo.findById('nobody')).toBeNull()
    })

    test('20 racing first logins from 2 repository instances agree on one id (with and without a unionid)', async () => {
      const [x, y] = [backend.repo(), backend.repo()]
      const openid = fresh('race')
      const plain = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? x : y).findOrCreate({ openid, platform: 'weixin' })))
      expect(new Set(plain.map((u) => u.id)).size).toBe(1)

      const unionid = fresh('urace')
      const linked = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? x : y).findOrCreate({ openid: `${openid}-app${i % 2}`, unionid, platform: 'weixin' })),
      )
      expect(new Set(linked.map((u) => u.id)).size).toBe(1)
      expect(linked[0].id).not.toBe(plain[0].id)
    })

    test('unionid linking: the same person in a second app is one user; an account made before the unionid keeps its id and gains the link', async () => {
      const u1 = fresh('u')
      const first = await repo.findOrCreate({ openid: fresh('app1'), unionid: u1, platform: 'weixin' })
      const app2 = fresh('app2')
      expect((await repo.findOrCreate({ openid: app2, unionid: u1, platform: 'weixin' })).id).toBe(first.id)
      // Without the unionid afterwards, the second app's openid still names the same user.
      expect((await repo.findOrCreate({ openid: app2, platform: 'weixin' })).id).toBe(first.id)

      const early = fresh('early')
      const before = await repo.findOrCreate({ openid: early, platform: 'weixin' })
      const u2 = fresh('u')
      expect((await repo.findOrCreate({ openid: early, unionid: u2, platform: 'weixin' })).id).toBe(before.id)
      expect((await repo.findOrCreate({ openid: fresh('other-app'), unionid: u2, platform: 'weixin' })).id).toBe(before.id)
    })

    test('two accounts sharing a unionid are never merged: the openid\'s account is answered and onIdentityConflict names the other', async () => {
      const conflicts: IdentityConflict[] = []
      const r = backend.repo({ onIdentityConflict: (c) => void conflicts.push(c) })
      const [oa, ob, u] = [fresh('oa'), fresh('ob'), fresh('u')]
      const a = await r.findOrCreate({ openid: oa, platform: 'weixin' })
      const b = await r.findOrCreate({ openid: ob, platform: 'weixin' })
      await r.updateUser(b.id, { nickName: 'B' })
      expect((await r.findOrCreate({ openid: oa, unionid: u, platform: 'weixin' })).id).toBe(a.id)
      expect(conflicts).toEqual([])
      const clash = await r.findOrCreate({ openid: ob, unionid: u, platform: 'weixin' })
      expect(clash).toEqual({ id: b.id, nickName: 'B', avatarUrl: '', platform: 'weixin' })
      expect(conflicts).toEqual([{ platform: 'weixin', kept: b.id, other: a.id }])
      // Nothing moved: the unionid still names A, ob still names B.
      expect((await r.findOrCreate({ openid: fresh('new-app'), unionid: u, platform: 'weixin' })).id).toBe(a.id)
      expect((await r.findOrCreate({ openid: ob, platform: 'weixin' })).id).toBe(b.id)
      // A listener that throws never fails a login.
      const throwing = backend.repo({ onIdentityConflict: () => { throw new Error('listener broke') } })
      expect((await throwing.findOrCreate({ openid: ob, unionid: u, platform: 'weixin' })).id).toBe(b.id)
    })

    test('updateUser merges fields, removes undefined ones, and never keeps openid, unionid, session keys or another id', async () => {
      const u = await repo.findOrCreate({ openid: fresh('upd'), platform: 'qq' })
      const updated = await repo.updateUser(u.id, { nickName: 'Ada 😀', phoneNumber: '13800000000', openid: 'x', unionid: 'y', session_key: 'k', sessionKey: 'k', id: 'other' })
      expect(updated).toEqual({ id: u.id, nickName: 'Ada 😀', avatarUrl: '', platform: 'qq', phoneNumber: '13800000000' })
      expect(await repo.updateUser(u.id, { avatarUrl: 'https://x/a.png', phoneNumber: undefined, tags: ['a', 1], n: null })).toEqual({
        id: u.id, nickName: 'Ada 😀', avatarUrl: 'https://x/a.png', platform: 'qq', tags: ['a', 1], n: null,
      })
      expect(await repo.findById(u.id)).toEqual({ id: u.id, nickName: 'Ada 😀', avatarUrl: 'https://x/a.png', platform: 'qq', tags: ['a', 1], n: null })
      expect(await repo.updateUser('nobody', { nickName: 'x' })).toBeNull()
    })

    test('deleteUser removes the user and its identities: logging in again gives a NEW id, from either app', async () => {
      const [app1, app2, unionid] = [fresh('del1'), fresh('del2'), fresh('udel')]
      const u = await repo.findOrCreate({ openid: app1, unionid, platform: 'weixin' })
      await repo.findOrCreate({ openid: app2, unionid, platform: 'weixin' })
      await repo.updateUser(u.id, { nickName: 'gone' })
      expect(await repo.deleteUser(u.id)).toBe(true)
      expect(await repo.findById(u.id)).toBeNull()
      expect(await repo.deleteUser(u.id)).toBe(false)
      const back = await repo.findOrCreate({ openid: app2, unionid, platform: 'weixin' })
      expect(back.id).not.toBe(u.id)
      expect(back.nickName).toBe('微信用户')
      expect((await repo.findOrCreate({ openid: app1, unionid, platform: 'weixin' })).id).toBe(back.id)
      expect((await repo.findOrCreate({ openid: app1, platform: 'weixin' })).id).toBe(back.id)
    })

    test('different platforms never share a user, even with the same openid and unionid; openids differing in case are two users', async () => {
      const [openid, unionid] = [fresh('Same'), fresh('U')]
      const ids = new Set<string>()
      for (const platform of ['weixin', 'qq', 'douyin', 'alipay'] as const) {
        const u = await repo.findOrCreate({ openid, unionid, platform })
        expect(u.platform).toBe(platform)
        ids.add(u.id)
      }
      expect(ids.size).toBe(4)
      const lower = await repo.findOrCreate({ openid: openid.toLowerCase(), platform: 'weixin' })
      expect(ids.has(lower.id)).toBe(false)
    })

    if (variant.name.startsWith('sqlUsers')) {
      test('migrateSqlUsers is idempotent, also run by several instances at once', async () => {
        const r = backend.repo() as ReturnType<typeof sqlUsers>
        await Promise.all([migrateSqlUsers(r.db), migrateSqlUsers(backend.repo() as ReturnType<typeof sqlUsers>), migrateSqlUsers(r.db)])
        const u = await r.findOrCreate({ openid: fresh('mig'), platform: 'weixin' })
        expect(await r.findById(u.id)).toEqual(u)
      })
    }
  })
}
