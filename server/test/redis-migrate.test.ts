/**
 * Moving from one Redis to a Redis Cluster without losing a user: `weapp-auth-server migrate-redis`
 * (the real command, as a child process) copies a single Redis's data, written by the real store,
 * into a real cluster (3 masters) and into a plain Redis standing in for a managed cluster's proxy.
 * Afterwards every user logs in to the same id, tokens issued before the move still work, and
 * every session that had ended, every reused refresh token and every deleted user stays so. What
 * would lose data is refused before anything is written.
 */
import { spawn } from 'node:child_process'
import Redis, { Cluster } from 'ioredis'
import { createAuthServer, type AuthServer, type SessionProvider } from '../src/index'
import { redisStore, type RedisStore } from '../src/stores/redis'
import { entryArgs, pickRuntime } from './helpers/cluster'
import { freePort } from './helpers/processes'
import { startRedis, type RedisHandle } from './helpers/redis'
import { startRedisCluster, type RedisClusterHandle } from './helpers/redis-topologies'
import { JWT_SECRET, rejection } from './helpers/kit'

jest.setTimeout(120000)

const SESSION_KEY = Buffer.alloc(16, 7).toString('base64')
/** A host whose login code is the openid: the same code is the same person, before and after the move. */
const qq: SessionProvider = { platform: 'qq', code2Session: async ({ code }) => ({ openid: `openid-${code}`, sessionKey: SESSION_KEY }) }

function server(store: RedisStore): AuthServer {
  return createAuthServer({ appid: 'wx-migrate-test', secret: 'app-secret', jwt: { secret: JWT_SECRET }, store, providers: { qq } })
}

function migrate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...entryArgs(pickRuntime(), 'bin'), ...args], { env: { ...process.env, REDIS_PASSWORD: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => (stdout += b))
    child.stderr.on('data', (b: Buffer) => (stderr += b))
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

const USERS = 24
let source: RedisHandle
let cluster: RedisClusterHandle
let proxy: RedisHandle
interface Before {
  ids: string[]
  tokens: string[]
  refresh: string[]
  /** user 1's first refresh token, spent by a rotation before the move */
  spent: string
  generation: string
}
let before: Before

beforeAll(async () => {
  ;[source, cluster, proxy] = await Promise.all([startRedis(), startRedisCluster({ masters: 3, replicas: 0 }), startRedis()])
  // The data of a running service, written by the real store on the single Redis.
  const store = redisStore(source.url)
  const auth = server(store)
  const ids: string[] = []
  const tokens: string[] = []
  const refresh: string[] = []
  for (let i = 0; i < USERS; i++) {
    const answer = await auth.login({ code: `user${i}`, platform: 'qq' })
    ids.push(String(answer.user.id))
    tokens.push(answer.token)
    refresh.push(answer.refreshToken)
  }
  // user 1 renewed once: the first refresh token is spent.
  const spent = refresh[1]
  refresh[1] = (await auth.refresh(spent)).refreshToken
  // user 2 logged out; user 3 logged out everywhere; user 4 deleted their account.
  await auth.logout(await auth.verify(tokens[2]))
  await auth.logout(await auth.verify(tokens[3]), { all: true })
  await auth.deleteUser(ids[4])
  // user 5's refresh token was replayed after its rotation: the family is revoked.
  const replayed = refresh[5]
  refresh[5] = (await auth.refresh(replayed)).refreshToken
  expect(await rejection(auth.refresh(replayed))).toMatchObject({ code: 'refresh_token_reused' })
  // user 6 set a nickname.
  await (auth.users as unknown as { updateUser(id: string, patch: Record<string, unknown>): Promise<unknown> }).updateUser(ids[6], { nickName: '小明' })
  const generation = await store.generation()

  // While the service still runs, the copy is refused: what it writes meanwhile would be lost.
  const refused = await migrate('migrate-redis', '--from', source.url, '--to-cluster', cluster.addresses)
  expect(refused.code).toBe(1)
  expect(refused.stderr).toMatch(/other clients? (is|are) connected to the source Redis: stop every weapp-auth server first/)
  const look = new Cluster(cluster.seeds)
  expect(await look.get('weapp-auth:generation')).toBeNull()
  look.disconnect()

  await auth.close()
  await store.close()
  before = { ids, tokens, refresh, spent, generation }
})

afterAll(async () => {
  await Promise.all([source?.stop(), cluster?.stop(), proxy?.stop()])
})

/** Everything a user could notice, checked on a server over the migrated data. */
async function expectNothingLost(auth: AuthServer): Promise<void> {
  const { ids, tokens, refresh, spent, generation } = before
  expect(await auth.store.generation()).toBe(generation)
  // Tokens issued before the move: still good, unless their session had ended.
  await expect(auth.authenticate(tokens[0])).resolves.toMatchObject({ user: { id: ids[0] } })
  expect((await auth.authenticate(tokens[6])).user).toMatchObject({ id: ids[6], nickName: '小明' })
  expect(await rejection(auth.verify(tokens[2]))).toMatchObject({ code: 'token_revoked' })
  expect(await rejection(auth.verify(tokens[3]))).toMatchObject({ code: 'token_revoked' })
  expect(await rejection(auth.verify(tokens[4]))).toMatchObject({ code: 'user_not_found' })
  // Refresh tokens: a live one rotates; a spent one is a replay (and ends its session); a revoked family stays revoked.
  const rotated = await auth.refresh(refresh[0])
  expect(rotated.refreshToken).not.toBe(refresh[0])
  expect(await rejection(auth.refresh(spent))).toMatchObject({ code: 'refresh_token_reused' })
  expect(await rejection(auth.refresh(refresh[1]))).toMatchObject({ code: 'invalid_refresh_token' })
  expect(await rejection(auth.refresh(refresh[5]))).toMatchObject({ code: 'invalid_refresh_token' })
  // Sessions are listed as before.
  expect((await auth.sessions(ids[7])).map((s) => s.platform)).toEqual(['qq'])
  // Everyone logs in to the same id; the deleted account's person gets a new one.
  for (let i = 0; i < USERS; i++) {
    const id = String((await auth.login({ code: `user${i}`, platform: 'qq' })).user.id)
    if (i === 4) expect(id).not.toBe(ids[4])
    else expect(id).toBe(ids[i])
  }
}

test('a single Redis copied into a Redis Cluster: same ids, tokens still valid, ended sessions still ended', async () => {
  const run = await migrate('migrate-redis', '--from', source.url, '--to-cluster', cluster.addresses)
  expect(run.stderr).toBe('')
  expect(run.code).toBe(0)
  expect(run.stdout).toMatch(/^weapp-auth-server migrate-redis: \d+ keys written to the Redis Cluster at .* \(.*\d+ user,.*\)\. The generation \S+ is kept: users keep their ids and issued tokens stay valid\. Start the servers with REDIS_CLUSTER_NODES=/)
  expect(run.stdout).toContain(before.generation)

  // Run again (a copy that stopped half-way looks the same): it finishes, and changes nothing.
  const again = await migrate('migrate-redis', `--from=${source.url}`, `--to-cluster=${cluster.addresses}`)
  expect(again.code).toBe(0)
  expect(again.stdout).toMatch(/finished an earlier copy/)

  const store = redisStore({ cluster: cluster.seeds })
  const auth = server(store)
  try {
    expect(store.mode).toBe('cluster')
    await expectNothingLost(auth)
  } finally {
    await auth.close()
    await store.close()
  }
})

test('into a managed cluster edition through its proxy (--to): the same, read with clusterKeys', async () => {
  const run = await migrate('migrate-redis', '--from', source.url, '--to', proxy.url)
  expect(run.code).toBe(0)
  expect(run.stdout).toMatch(/Start the servers with REDIS_URL=redis:\/\/127\.0\.0\.1:\d+\/? REDIS_CLUSTER_PROXY=1\./)
  const store = redisStore(proxy.url, { clusterKeys: true })
  const auth = server(store)
  try {
    await expectNothingLost(auth)
  } finally {
    await auth.close()
    await store.close()
  }
})

describe('refused, with one line and exit 1, before anything is written', () => {
  test('a target holding other weapp-auth data', async () => {
    const other = await startRedis()
    try {
      const store = redisStore(other.url, { clusterKeys: true })
      const auth = server(store)
      await auth.login({ code: 'someone-else', platform: 'qq' })
      await auth.close()
      await store.close()
      const run = await migrate('migrate-redis', '--from', source.url, '--to', other.url)
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/^weapp-auth-server migrate-redis: the target already holds other weapp-auth data \(generation \S+, the source's is \S+\): migrate into an empty cluster\n$/)
    } finally {
      await other.stop()
    }
  })

  test('a source holding keys this version does not write, or already in the cluster layout', async () => {
    const odd = await startRedis()
    const target = await startRedis()
    const client = new Redis(odd.url)
    try {
      await client.set('weapp-auth:generation', 'g1')
      await client.set('weapp-auth:user:abc', 'x')
      await client.set('weapp-auth:mystery:1', 'x')
      await client.quit()
      const run = await migrate('migrate-redis', '--from', odd.url, '--to', target.url)
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/1 key under "weapp-auth:" that this version does not write \("weapp-auth:mystery:1"\): nothing was copied/)
      const check = new Redis(target.url)
      expect(await check.dbsize()).toBe(0)
      const again = new Redis(odd.url)
      await again.del('weapp-auth:mystery:1')
      await again.set('weapp-auth:user:{abc}', 'x')
      await again.quit()
      const tagged = await migrate('migrate-redis', '--from', odd.url, '--to', target.url)
      expect(tagged.stderr).toMatch(/the source is already in the cluster layout/)
      expect(await check.dbsize()).toBe(0)
      await check.quit()
    } finally {
      await Promise.all([odd.stop(), target.stop()])
    }
  })

  test('a source with no data, an unreachable one, and wrong arguments', async () => {
    const empty = await startRedis()
    try {
      expect((await migrate('migrate-redis', '--from', empty.url, '--to', proxy.url)).stderr).toMatch(/the source holds no weapp-auth data under the prefix "weapp-auth:"/)
      expect((await migrate('migrate-redis', '--from', source.url, '--to', proxy.url, '--prefix', 'other-app:')).stderr).toMatch(/no weapp-auth data under the prefix "other-app:"/)
    } finally {
      await empty.stop()
    }
    const nothing = `redis://127.0.0.1:${await freePort()}`
    const unreachable = await migrate('migrate-redis', '--from', nothing, '--to', proxy.url)
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toMatch(/cannot reach the source redis:\/\/127\.0\.0\.1:\d+/)
    const cases: Array<[string[], RegExp]> = [
      [['migrate-redis'], /--from is required; usage: weapp-auth-server migrate-redis/],
      [['migrate-redis', '--from', source.url], /give one of --to-cluster and --to/],
      [['migrate-redis', '--from', source.url, '--to', proxy.url, '--to-cluster', cluster.addresses], /give one of --to-cluster and --to/],
      [['migrate-redis', '--from', 'http://example.com', '--to', proxy.url], /--from must be a redis:\/\/ or rediss:\/\/ URL, got http:\/\//],
      [['migrate-redis', '--from', source.url, '--to-cluster', 'no-port'], /--to-cluster must be host:port entries/],
      [['migrate-redis', '--from', source.url, '--to', source.url], /--from and --to name the same Redis/],
      [['migrate-redis', '--from', source.url, '--to', proxy.url, '--force'], /unknown argument "--force"/],
      [['migrate-redis', '--from'], /--from needs a value/],
      [['migrate'], /unknown command "migrate": the server is configured by environment variables and takes no arguments; the one command is migrate-redis/],
    ]
    for (const [args, message] of cases) {
      const run = await migrate(...args)
      expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 1, stdout: '' })
      expect(run.stderr).toMatch(message)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
    }
  })
})

test('a write to the source during the copy fails the migration, saying so; run again once it is stopped, it completes', async () => {
  const { migrateRedisToClusterLayout, RedisMigrationError } = await import('../src/stores/redis-migrate')
  const target = await startRedis()
  const from = new Redis(source.url)
  const to = new Redis(target.url)
  try {
    // A server that was not stopped: it logs someone in while the copy runs (after the first key is written).
    let wrote = false
    const busy = new Proxy(to, {
      get(object, name, receiver) {
        if (name !== 'restore') return Reflect.get(object, name, receiver)
        return async (...args: unknown[]) => {
          if (!wrote) {
            wrote = true
            await from.set('weapp-auth:identity:qq:openid-late-login', 'someone')
          }
          return (object.restore as (...a: unknown[]) => Promise<unknown>)(...args)
        }
      },
    })
    const err = await migrateRedisToClusterLayout({ from, to: busy, ignoreClients: true, batch: 5 }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(RedisMigrationError)
    expect((err as Error).message).toBe('1 key appeared in the source during the copy (a server still running?): stop every server and run the migration again; it resumes')
    const result = await migrateRedisToClusterLayout({ from, to, ignoreClients: true })
    expect(result.resumed).toBe(true)
    expect(await to.get('weapp-auth:identity:qq:openid-late-login')).toBe('someone')
    expect(result.byKind.user).toBe(USERS - 1)
  } finally {
    await from.del('weapp-auth:identity:qq:openid-late-login')
    from.disconnect()
    to.disconnect()
    await target.stop()
  }
})
