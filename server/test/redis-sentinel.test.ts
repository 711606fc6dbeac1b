/**
 * Redis with Sentinel under two server processes (REDIS_SENTINELS, REDIS_SENTINEL_NAME): one
 * master, one replica, three sentinels (quorum 2, down after 1 s). The master is killed: calls
 * answer 503 store_unavailable until the sentinels promote the replica, then the same processes
 * serve again, sessions from before included; two concurrent refreshes of one token never both win.
 */
import { loginFlow, runPool, startCluster, type Cluster, type SessionAnswer } from './helpers/cluster'
import { ask } from './helpers/redis-topologies'

jest.setTimeout(60000)

let cluster: Cluster

beforeAll(async () => {
  cluster = await startCluster({ instances: 2, store: 'redis-sentinel' })
})

afterAll(async () => {
  await cluster?.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('the master is killed: 503 store_unavailable until the sentinels promote the replica, then served again with no restart', async () => {
  const sentinel = cluster.redisSentinel!
  const sessions: SessionAnswer[] = []
  await runPool(10, 5, async (i) => {
    sessions[i] = (await loginFlow(cluster, `openid-sentinel-${i}`)).answer.body
  })
  expect(await sentinel.currentMaster()).toBe(sentinel.master.port)
  const pids = cluster.instances.map((i) => i.pid)
  // What was acknowledged is on the replica before the crash.
  const offset = (info: unknown, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(String(info))?.[1] ?? -1)
  const target = offset(await ask(sentinel.master.port, 'INFO', 'replication'), 'master_repl_offset')
  while (offset(await ask(sentinel.replica.port, 'INFO', 'replication'), 'slave_repl_offset') < target) await sleep(20)

  await sentinel.master.stop('SIGKILL')
  const killedAt = Date.now()
  const seen = new Set<string>()
  let refreshWins = 0
  let served = 0
  for (let round = 0; Date.now() - killedAt < 40000; round++) {
    const [me, ...refreshes] = await Promise.all([
      cluster.client.call('GET', '/api/user/me', { token: sessions[1].token, instance: round % 2 }),
      cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: sessions[0].refreshToken }, instance: 0 }),
      cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: sessions[0].refreshToken }, instance: 1 }),
    ])
    for (const answer of [me, ...refreshes]) if (!/^(refresh_token_reused|invalid_refresh_token)$/.test(answer.body.error)) seen.add(answer.status === 200 ? '200' : `${answer.status} ${answer.body.error}`)
    refreshWins += refreshes.filter((r) => r.status === 200).length
    if (me.status === 200 && ++served >= 3) break
    await sleep(100)
  }
  const ms = Date.now() - killedAt
  expect([...seen].sort()).toEqual(['200', '503 store_unavailable'])
  expect(served).toBe(3)
  expect(refreshWins).toBeLessThanOrEqual(1)
  expect(await sentinel.currentMaster()).toBe(sentinel.replica.port)
  process.stdout.write(`redis sentinel: service back ${ms} ms after the master was killed\n`)

  for (const session of sessions.slice(1)) {
    for (const instance of [0, 1]) expect((await cluster.client.call('GET', '/api/user/me', { token: session.token, instance })).status).toBe(200)
  }
  expect((await cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: sessions[2].refreshToken } })).status).toBe(200)
  expect((await loginFlow(cluster, 'openid-after-sentinel-failover')).answer.status).toBe(200)
  expect(cluster.instances.map((i) => i.pid)).toEqual(pids)
})
