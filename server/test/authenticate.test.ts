/**
 * auth.authenticate(token): the token's checks and its user in one store call. Two instances
 * share each store (memory: one store in one process; SQLite: one file, two connections; Redis:
 * one server, two clients), so nothing either of them cached could let a change on the other go
 * unseen: an updated profile, a session ended, log out everywhere, an account deleted.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { createAuthServer, memoryStore, redisStore, sqliteStore, storeUsers, type AuthServer, type SessionProvider, type Store } from 'weapp-auth-server'
import { APPID, JWT_SECRET, SECRET, rejection } from './helpers/kit'
import { startRedis, type RedisHandle } from './helpers/redis'

/** Stands in for QQ's code2Session: the code names the user, so this file needs no fake host. */
const qq: SessionProvider = { platform: 'qq', code2Session: async ({ code }) => ({ openid: `openid-${code}`, sessionKey: Buffer.alloc(16).toString('base64') }) }

let redis: RedisHandle
let dir: string
const opened: Array<{ close(): Promise<void> }> = []

beforeAll(async () => {
  redis = await startRedis()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-authenticate-'))
})
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close()
})
afterAll(async () => {
  await redis.stop()
  fs.rmSync(dir, { recursive: true, force: true })
})

let files = 0
/** Two stores over the same data. */
const shared: Record<string, () => Promise<[Store, Store]>> = {
  memory: async () => {
    const store = memoryStore()
    return [store, store]
  },
  sqlite: async () => {
    const file = path.join(dir, `shared-${++files}.db`)
    return [sqliteStore(file), sqliteStore(file)]
  },
  redis: async () => {
    const prefix = `authenticate-${++files}:`
    return [redisStore(redis.url, { prefix }), redisStore(redis.url, { prefix })]
  },
}

async function twoInstances(kind: string): Promise<[AuthServer, AuthServer]> {
  const [a, b] = await shared[kind]()
  const server = (store: Store) => createAuthServer({ appid: APPID, secret: SECRET, jwt: { secret: JWT_SECRET }, store, providers: { qq } })
  const servers: [AuthServer, AuthServer] = [server(a), server(b)]
  opened.push(...(a === b ? [a] : [a, b]))
  return servers
}

describe.each(['memory', 'sqlite', 'redis'])('%s store, two instances', (kind) => {
  test('authenticate answers the claims and the user; a profile updated on one instance is what the other answers next', async () => {
    const [a, b] = await twoInstances(kind)
    const { token, user } = await a.login({ code: 'alice', platform: 'qq' })
    const seen = await b.authenticate(token)
    expect(seen.claims.sub).toBe(user.id)
    expect(seen.user).toMatchObject({ id: user.id, nickName: '微信用户', platform: 'qq' })
    await a.store.updateUser(String(user.id), { nickName: 'Alice' })
    expect((await b.authenticate(token)).user).toMatchObject({ id: user.id, nickName: 'Alice' })
    // verify() answers the same claims, without the user.
    await expect(b.verify(token)).resolves.toEqual(seen.claims)
  })

  test('a session ended, log out everywhere, an account deleted on one instance: the other refuses the token on its next call', async () => {
    const [a, b] = await twoInstances(kind)
    const first = await a.login({ code: 'bob', platform: 'qq' })
    const second = await a.login({ code: 'bob', platform: 'qq' })
    const third = await a.login({ code: 'bob', platform: 'qq' })
    await expect(b.authenticate(first.token)).resolves.toMatchObject({ user: { id: first.user.id } })

    await a.logout(await a.verify(first.token))
    expect(await rejection(b.authenticate(first.token))).toMatchObject({ name: 'TokenError', code: 'token_revoked', status: 401 })
    await expect(b.authenticate(second.token)).resolves.toMatchObject({ user: { id: first.user.id } })

    await a.logout(await a.verify(second.token), { all: true })
    for (const { token } of [second, third]) expect(await rejection(b.authenticate(token))).toMatchObject({ code: 'token_revoked' })

    const fresh = await a.login({ code: 'bob', platform: 'qq' })
    await expect(b.authenticate(fresh.token)).resolves.toMatchObject({ user: { id: first.user.id } })
    await a.deleteUser(String(first.user.id))
    expect(await rejection(b.authenticate(fresh.token))).toMatchObject({ code: expect.stringMatching(/^(user_not_found|token_revoked)$/), status: 401 })
  })

  test('garbage and forged tokens: a typed 401, never a user', async () => {
    const [, b] = await twoInstances(kind)
    for (const bad of ['', 'not-a-jwt', 'a.b.c', 'x'.repeat(5000)]) {
      expect(await rejection(b.authenticate(bad))).toMatchObject({ name: 'TokenError', status: 401 })
    }
  })
})

test('a users repository of your own, even spread over storeUsers: authenticate asks its findById (null when it has no such user)', async () => {
  const store = memoryStore()
  opened.push(store)
  const base = storeUsers(store)
  const asked: string[] = []
  const users = {
    ...base,
    findById: async (id: string) => {
      asked.push(id)
      const user = await base.findById(id)
      return user && user.nickName !== 'gone' ? { ...user, from: 'mine' } : null
    },
  }
  const auth = createAuthServer({ appid: APPID, secret: SECRET, jwt: { secret: JWT_SECRET }, store, users, providers: { qq } })
  const { token, user } = await auth.login({ code: 'carol', platform: 'qq' })
  await expect(auth.authenticate(token)).resolves.toMatchObject({ user: { id: user.id, from: 'mine' } })
  expect(asked).toEqual([user.id])
  await base.updateUser(user.id, { nickName: 'gone' })
  await expect(auth.authenticate(token)).resolves.toMatchObject({ user: null })
})
