/**
 * Nobody is mistaken for somebody else, whatever happens to the data. The ready-made server as
 * real processes (test/helpers/cluster.ts) on each store:
 *
 *   Alice logs in and sets her nickname → the store loses its data (a memory store's process
 *   restarts; the SQLite file is removed; Redis is FLUSHALLed under the running process) → Bob
 *   logs in for the first time → Alice's old access token must get 401, never Bob's account; her
 *   old refresh token must get 401; a new login works at once.
 *
 * And what must NOT be lost: the SQLite default survives a SIGKILL with every token working.
 */
import * as fs from 'node:fs'
import { loginFlow, startCluster, type Cluster, type SessionAnswer } from './helpers/cluster'

jest.setTimeout(60000)

const clusters: Cluster[] = []
afterAll(async () => {
  for (const c of clusters) await c.stop()
})

async function cluster(store: 'memory' | 'sqlite' | 'redis'): Promise<Cluster> {
  const c = await startCluster({ instances: 1, store })
  clusters.push(c)
  return c
}

async function login(c: Cluster, openid: string): Promise<SessionAnswer> {
  const { answer } = await loginFlow(c, openid)
  expect(answer.status).toBe(200)
  return answer.body
}

async function setNickname(c: Cluster, token: string, nickName: string): Promise<void> {
  const saved = await c.client.call('POST', '/api/user/profile', { token, body: { nickName } })
  expect({ status: saved.status, nickName: saved.body.nickName }).toEqual({ status: 200, nickName })
}

/** Steps 3–4 of the scenario, after the data is gone. */
async function afterTheLoss(c: Cluster, alice: SessionAnswer): Promise<void> {
  const bob = await login(c, 'openid-bob')
  expect(bob.user?.id).not.toBe(alice.user?.id)

  const me = await c.client.call('GET', '/api/user/me', { token: alice.token })
  expect({ status: me.status, error: me.body.error }).toEqual({ status: 401, error: 'token_stale' })
  expect(JSON.stringify(me.body)).not.toContain(String(bob.user?.id))

  const refreshed = await c.client.call('POST', '/api/auth/refresh', { body: { refreshToken: alice.refreshToken } })
  expect(refreshed.status).toBe(401)
  expect(refreshed.body.error).toBe('invalid_refresh_token')

  // Logging in again (what the SDK does on a 401) works at once.
  const again = await login(c, 'openid-alice')
  const mine = await c.client.call('GET', '/api/user/me', { token: again.token })
  expect(mine.status).toBe(200)
  expect(mine.body.id).toBe(again.user?.id)
  expect(mine.body.id).not.toBe(bob.user?.id)
  // Bob's own token still opens Bob's account.
  const bobs = await c.client.call('GET', '/api/user/me', { token: bob.token })
  expect({ status: bobs.status, id: bobs.body.id }).toEqual({ status: 200, id: bob.user?.id })
}

test('memory store, the process restarts: the old token gets 401 token_stale, never the next user’s account', async () => {
  const c = await cluster('memory')
  const alice = await login(c, 'openid-alice')
  await setNickname(c, alice.token, 'Alice')
  await c.instances[0].kill('SIGTERM')
  await c.instances[0].restart()
  await afterTheLoss(c, alice)
})

test('SQLite, the file is removed and the server restarts on a new one: the same', async () => {
  const c = await cluster('sqlite')
  const alice = await login(c, 'openid-alice')
  await setNickname(c, alice.token, 'Alice')
  await c.instances[0].kill('SIGTERM')
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(c.sqlitePath! + suffix, { force: true })
  await c.instances[0].restart()
  await afterTheLoss(c, alice)
})

test('Redis loses its data (FLUSHALL) under the running server: old tokens are refused from the next request on', async () => {
  const c = await cluster('redis')
  const alice = await login(c, 'openid-alice')
  await setNickname(c, alice.token, 'Alice')
  const before = await c.client.call('GET', '/api/user/me', { token: alice.token })
  expect(before.body.nickName).toBe('Alice')
  await c.redis!.flushAll()
  await afterTheLoss(c, alice)
})

test('SQLite (the default), SIGKILL and restart: the old access token opens the same account with its data, the old refresh token refreshes', async () => {
  const c = await cluster('sqlite')
  const alice = await login(c, 'openid-alice')
  await setNickname(c, alice.token, 'Alice')
  const bob = await login(c, 'openid-bob')
  await c.instances[0].kill('SIGKILL')
  await c.instances[0].restart()

  const me = await c.client.call('GET', '/api/user/me', { token: alice.token })
  expect({ status: me.status, id: me.body.id, nickName: me.body.nickName }).toEqual({ status: 200, id: alice.user?.id, nickName: 'Alice' })
  const refreshed = await c.client.call<SessionAnswer>('POST', '/api/auth/refresh', { body: { refreshToken: alice.refreshToken } })
  expect(refreshed.status).toBe(200)
  expect(refreshed.body.user?.id).toBe(alice.user?.id)
  // The same person logging in again is the same user, and a new person is somebody new.
  expect((await login(c, 'openid-alice')).user?.id).toBe(alice.user?.id)
  expect((await login(c, 'openid-bob')).user?.id).toBe(bob.user?.id)
  expect((await login(c, 'openid-carol')).user?.id).not.toMatch(new RegExp(`^(${alice.user?.id}|${bob.user?.id})$`))
})
