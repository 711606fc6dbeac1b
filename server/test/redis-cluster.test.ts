/**
 * A Redis Cluster whose masters have no replica (3 masters, `cluster-require-full-coverage no`,
 * data kept on disk) under a server process: a master dies, the sessions whose keys it held answer
 * 503 and every other is served, and all of them are served again once it returns. Then the
 * ready-made server's start-up checks of its Redis addresses: a REDIS_URL that is a cluster node,
 * and cluster node lists that are wrong in each way, are one line and exit 1.
 */
import { spawn } from 'node:child_process'
import { entryArgs, loginFlow, pickRuntime, runPool, startCluster, type Cluster, type SessionAnswer } from './helpers/cluster'
import { startRedis } from './helpers/redis'
import { loadConfig } from '../src/config'
import { ConfigError, StoreUnavailableError } from '../src/errors'
import { redisStore } from '../src/stores/redis'

jest.setTimeout(60000)

let cluster: Cluster

beforeAll(async () => {
  cluster = await startCluster({ instances: 1, store: 'redis-cluster', redisCluster: { masters: 3, replicas: 0, fullCoverage: false, persistent: true } })
})

afterAll(async () => {
  await cluster?.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { sub: string; fam: string }

test('a master with no replica dies: 503 store_unavailable for the sessions whose keys it held, every other session served; all served again when it returns, with no restart', async () => {
  const redis = cluster.redisCluster!
  const sessions: SessionAnswer[] = []
  await runPool(24, 6, async (i) => {
    sessions[i] = (await loginFlow(cluster, `openid-no-replica-${i}`)).answer.body
  })
  // Not the master of the generation, which every authenticated request reads.
  const generationHome = await redis.masterFor('weapp-auth:generation')
  const victim = redis.nodes.find((n) => n.alive && n !== generationHome)!
  const held = await Promise.all(
    sessions.map(async (s) => {
      const { sub, fam } = claims(s.token)
      const homes = await Promise.all([redis.masterFor(`weapp-auth:user:{${sub}}`), redis.masterFor(`weapp-auth:family:{${fam}}`)])
      return homes.some((home) => home === victim)
    }),
  )
  expect(held).toContain(true)
  expect(held).toContain(false)
  const pid = cluster.instances[0].pid

  await victim.stop('SIGKILL')
  const during = await Promise.all(sessions.map((s) => cluster.client.call('GET', '/api/user/me', { token: s.token })))
  expect(during.map((r) => (r.status === 200 ? 200 : `${r.status} ${r.body.error}`))).toEqual(held.map((h) => (h ? '503 store_unavailable' : 200)))

  await victim.start()
  await redis.waitHealthy()
  const deadline = Date.now() + 20000
  for (;;) {
    const after = await Promise.all(sessions.map((s) => cluster.client.call('GET', '/api/user/me', { token: s.token })))
    if (after.every((r) => r.status === 200)) break
    if (Date.now() > deadline) throw new Error(`still failing after the node returned: ${after.map((r) => r.status).join(',')}\n${cluster.logs()}`)
    await sleep(100)
  }
  expect(cluster.instances[0].pid).toBe(pid)
})

test('redisStore with a URL that is a cluster node: every call is refused with StoreUnavailableError saying to use the cluster', async () => {
  const node = cluster.redisCluster!.nodes.find((n) => n.alive)!
  const store = redisStore(`redis://${node.address}`)
  try {
    expect(await store.clusterEnabled()).toBe(true)
    const deadline = Date.now() + 5000
    let err: unknown
    while (Date.now() < deadline) {
      err = await store.hit('any', 60).then(() => undefined, (e: unknown) => e)
      if (err) break
      await sleep(20)
    }
    expect(err).toBeInstanceOf(StoreUnavailableError)
    expect((err as Error).message).toMatch(/is a node of a Redis Cluster.*REDIS_CLUSTER_NODES/)
  } finally {
    await store.close()
  }
})

test('redisStore refuses cluster and sentinel arguments it cannot use, with a ConfigError', () => {
  expect(() => redisStore({ cluster: [] })).toThrow(/cluster must be a non-empty array of \{ host, port \}/)
  expect(() => redisStore({ cluster: [{ host: '127.0.0.1', port: 0 }] })).toThrow(/cluster\[0\] must be \{ host, port \} with a port 1–65535/)
  expect(() => redisStore({ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: '' })).toThrow(/name must be the master name the sentinels monitor/)
  expect(() => redisStore({ cluster: [{ host: '127.0.0.1', port: 7000 }] }, { clusterKeys: 'yes' as unknown as boolean })).toThrow(ConfigError)
})

// ---------------------------------------------------------------------------------------------
// the bin's start-up checks
// ---------------------------------------------------------------------------------------------

interface BinRun {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/** Runs the bin until it exits, or until it says it listens (then stops it). */
function runBin(env: Record<string, string>): Promise<BinRun> {
  const started = Date.now()
  const child = spawn(process.execPath, entryArgs(pickRuntime(), 'bin'), {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', WX_APPID: 'wxclustercheck0001', WX_SECRET: 'cluster-check-secret', JWT_SECRET: 'cluster-check-jwt-secret-at-least-32-bytes', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    if (/"msg":"listening"/.test(stdout)) child.kill('SIGTERM')
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const timer = setTimeout(() => child.kill('SIGKILL'), 30000)
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    }),
  )
}

describe('the bin checks its Redis addresses at start', () => {
  test('REDIS_URL at a node of a cluster: one line naming REDIS_CLUSTER_NODES, exit 1', async () => {
    const node = cluster.redisCluster!.nodes.find((n) => n.alive)!
    const run = await runBin({ REDIS_URL: `redis://${node.address}` })
    expect(run.code).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(/REDIS_URL points at a node of a Redis Cluster.*REDIS_CLUSTER_NODES=host:port/)
  })

  test('REDIS_CLUSTER_NODES with an entry that is not host:port: one line, exit 1', async () => {
    const run = await runBin({ REDIS_CLUSTER_NODES: `${cluster.redisCluster!.nodes[0].address},redis://oops` })
    expect(run.code).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain('REDIS_CLUSTER_NODES must be host:port entries separated by commas, got "redis://oops" (entry 2 of 2)')
  })

  test('REDIS_CLUSTER_NODES that nothing answers: one line, exit 1, without hanging', async () => {
    const run = await runBin({ REDIS_CLUSTER_NODES: '127.0.0.1:1,127.0.0.1:2' })
    expect(run.code).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(/REDIS_CLUSTER_NODES: no node answered: 127\.0\.0\.1:1 \(.*ECONNREFUSED.*\); 127\.0\.0\.1:2/)
    expect(run.ms).toBeLessThan(15000)
  })

  test('REDIS_CLUSTER_NODES naming a Redis that is not a cluster node: one line, exit 1', async () => {
    const single = await startRedis()
    try {
      const run = await runBin({ REDIS_CLUSTER_NODES: `127.0.0.1:${single.port}` })
      expect(run.code).toBe(1)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
      expect(run.stderr).toContain(`REDIS_CLUSTER_NODES lists 127.0.0.1:${single.port}, which is not a Redis Cluster node (cluster_enabled:0): for one Redis, set REDIS_URL=redis://127.0.0.1:${single.port} instead.`)
    } finally {
      await single.stop()
    }
  })

  test('the Redis settings, read: one at a time, sentinels with their name, the password with a cluster or sentinels, the proxy flag with a URL', () => {
    const base = { WX_APPID: 'wxclustercheck0001', WX_SECRET: 'cluster-check-secret', JWT_SECRET: 'cluster-check-jwt-secret-at-least-32-bytes' }
    const problem = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env })
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        return (err as Error).message
      }
      throw new Error(`accepted: ${JSON.stringify(env)}`)
    }
    expect(problem({ REDIS_SENTINELS: '127.0.0.1:26379' })).toContain('REDIS_SENTINELS needs REDIS_SENTINEL_NAME')
    expect(problem({ REDIS_SENTINEL_NAME: 'mymaster' })).toContain('REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not')
    expect(problem({ REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'my master' })).toContain('REDIS_SENTINEL_NAME must be a master name')
    expect(problem({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toContain('REDIS_URL and REDIS_CLUSTER_NODES are both set: set one')
    expect(problem({ REDIS_CLUSTER_NODES: '127.0.0.1:70000' })).toContain('REDIS_CLUSTER_NODES must be host:port entries separated by commas, got "127.0.0.1:70000"')
    expect(problem({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', SQLITE_PATH: '/tmp/x.db' })).toContain('REDIS_CLUSTER_NODES and SQLITE_PATH are both set')
    expect(problem({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PASSWORD: 'p' })).toContain('with REDIS_URL, put the password in the URL')
    expect(problem({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_CLUSTER_PROXY: '1' })).toContain('REDIS_CLUSTER_PROXY=1 goes with REDIS_URL')
    expect(problem({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_PROXY: 'yes' })).toContain('REDIS_CLUSTER_PROXY must be 1 or 0')

    expect(loadConfig({ ...base, REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-a.internal:7001,[::1]:7002', REDIS_PASSWORD: 'p' }).store).toEqual({
      kind: 'redis-cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-a.internal', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      password: 'p',
    })
    expect(loadConfig({ ...base, REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'mymaster', STORE: 'redis' }).store).toEqual({ kind: 'redis-sentinel', sentinels: [{ host: '10.0.0.1', port: 26379 }], name: 'mymaster' })
    expect(loadConfig({ ...base, REDIS_URL: 'redis://10.0.0.1:6379', REDIS_CLUSTER_PROXY: '1' }).store).toEqual({ kind: 'redis', url: 'redis://10.0.0.1:6379', clusterProxy: true })
  })

  test('one listed node down while the others answer: a warning, and the server starts', async () => {
    const run = await runBin({ REDIS_CLUSTER_NODES: `127.0.0.1:1,${cluster.redisCluster!.addresses}` })
    expect(run.stdout).toMatch(/"msg":"listening"/)
    expect(run.stderr).toMatch(/warning: REDIS_CLUSTER_NODES lists 127\.0\.0\.1:1 \(.*\), which did not answer; starting with the others/)
  })
})
