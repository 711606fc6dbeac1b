/**
 * Many instances of the runnable server sharing one real Redis, against the fake WeChat API in its
 * own process: the small version of bench/multi-instance.ts (`npm run bench:multi-instance`). Two server
 * processes, 100 logins and 40 phone calls across one access_token expiry, 50 concurrent
 * refreshes of one refresh token, a token crossing instances, one instance SIGKILLed under load,
 * and a Redis restart. The scenarios share one cluster and run in order (the Redis restart last,
 * since a Redis without persistence comes back empty).
 */
import { loginFlow, phoneFlow, runPool, startCluster, type Cluster, type SessionAnswer } from './helpers/cluster'
import { ask, type RedisNode } from './helpers/redis-topologies'

jest.setTimeout(60000)

describe.each(['redis', 'redis-cluster'] as const)('on %s', (store) => {
  let cluster: Cluster

  beforeAll(async () => {
    cluster = await startCluster({ instances: 2, store })
  })

  afterEach(() => {
    // a server that died on its own fails the scenario it died in
    expect(cluster.crashes()).toEqual([])
  })

  afterAll(async () => {
    await cluster?.stop()
  })

  /** Fails with every process's recent output, so a broken server says why. */
  function explain(err: unknown): never {
    throw new Error(`${(err as Error).stack ?? err}\n${cluster.logs()}`)
  }

  test('100 logins and 40 phone calls over 2 instances across an access_token expiry: one stable_token call for the first fetch, exactly one for the expiry, none failed', async () => {
    const before = await cluster.fake.stats()
    expect(before.stable_token).toBe(0)
    const sessions: SessionAnswer[] = []
    const answeredBy = [0, 0]
    await runPool(100, 16, async (i) => {
      const { answer } = await loginFlow(cluster, `openid-load-${i}`)
      expect(typeof answer.body.token).toBe('string')
      expect(typeof answer.body.refreshToken).toBe('string')
      // rule 1 and 3: nothing of WeChat's identity reaches the client
      expect(JSON.stringify(answer.body)).not.toMatch(/openid|session_?key|unionid/i)
      sessions[i] = answer.body
      answeredBy[answer.instance]++
    }).catch(explain)
    expect(answeredBy).toEqual([50, 50])
    expect(new Set(sessions.map((s) => String(s.user?.id))).size).toBe(100)

    // 20 phone calls fetch the access_token once between them (instances race for it) …
    const phones: string[] = []
    const phoneCall = async (i: number) => {
      const number = `1380000${String(i).padStart(4, '0')}`
      const { answer } = await phoneFlow(cluster, sessions[i].token, number)
      expect(answer.body.phoneNumber).toBe(`${number.slice(0, 3)}****${number.slice(-4)}`) // masked for the client
      phones.push(number)
    }
    await runPool(20, 20, phoneCall).catch(explain)
    const afterFirst = await cluster.fake.stats()
    expect(afterFirst.stable_token - before.stable_token).toBe(1)

    // … then WeChat expires it: the next 20, all at once on both instances, renew it once in total.
    await cluster.fake.expireAccessToken()
    await runPool(20, 20, (i) => phoneCall(20 + i)).catch(explain)
    const after = await cluster.fake.stats()
    expect(phones).toHaveLength(40)
    expect(after.stable_token - afterFirst.stable_token).toBe(1)
    expect(after.token).toBe(before.token) // classic GET /cgi-bin/token never used
    expect(after.jscode2session - before.jscode2session).toBe(100)
    // each call once, plus at most one retry for those that met the expired token
    expect(after.getuserphonenumber - before.getuserphonenumber).toBeGreaterThanOrEqual(40)
    expect(after.getuserphonenumber - before.getuserphonenumber).toBeLessThanOrEqual(60)
  })

  test('a token and a refresh token issued by one instance work on every other', async () => {
    const { answer } = await loginFlow(cluster, 'openid-crossing')
    const issuer = answer.instance
    const other = 1 - issuer
    for (const instance of [0, 1]) {
      const me = await cluster.client.call('GET', '/api/user/me', { token: answer.body.token, instance })
      expect(me.status).toBe(200)
      expect(String(me.body.id)).toBe(String(answer.body.user?.id))
    }
    const refreshed = await cluster.client.call<SessionAnswer>('POST', '/api/auth/refresh', {
      body: { refreshToken: answer.body.refreshToken },
      instance: other,
    })
    expect(refreshed.status).toBe(200)
    const me = await cluster.client.call('GET', '/api/user/me', { token: refreshed.body.token, instance: issuer })
    expect(me.status).toBe(200)
  })

  test('50 concurrent refreshes of one refresh token over both instances: exactly one succeeds, and the family is revoked', async () => {
    const { answer } = await loginFlow(cluster, 'openid-refresh-race')
    const refreshToken = answer.body.refreshToken
    const results = await Promise.all(
      Array.from({ length: 50 }, () => cluster.client.call<SessionAnswer & { error?: string }>('POST', '/api/auth/refresh', { body: { refreshToken } })),
    )
    const winners = results.filter((r) => r.status === 200)
    const losers = results.filter((r) => r.status !== 200)
    expect(winners).toHaveLength(1)
    expect(new Set(results.map((r) => r.instance))).toEqual(new Set([0, 1]))
    for (const loser of losers) {
      expect(loser.status).toBe(401)
      expect(['refresh_token_reused', 'invalid_refresh_token']).toContain(loser.body.error)
    }
    // the replays revoked the family: the winner's successor is refused on both instances
    for (const instance of [0, 1]) {
      const successor = await cluster.client.call<{ error?: string }>('POST', '/api/auth/refresh', {
        body: { refreshToken: winners[0].body.refreshToken },
        instance,
      })
      expect(successor.status).toBe(401)
    }
  })

  test('SIGKILL one instance under load: the survivor serves every call, and every token and refresh token issued before still works', async () => {
    const issued: SessionAnswer[] = []
    await runPool(30, 10, async (i) => {
      issued.push((await loginFlow(cluster, `openid-before-kill-${i}`)).answer.body)
    }).catch(explain)

    const victim = cluster.instances[1]
    const pidBefore = cluster.instances[0].pid
    // 40 logins in flight, 10 at a time; the victim dies after the 20th answer, mid-stream. A login
    // cut in flight on it is redone with a fresh code on the survivor (loginFlow counts it).
    const retriedBefore = cluster.client.retried
    let answered = 0
    let kill: Promise<void> | undefined
    let redone = 0
    await runPool(40, 10, async (i) => {
      const flow = await loginFlow(cluster, `openid-during-kill-${i}`)
      // A flow counts once however often it started over: a redo can itself meet a keep-alive
      // socket of the dying instance and be cut again.
      if (flow.redone > 0) redone++
      if (++answered === 20) kill = victim.kill('SIGKILL')
    }).catch(explain)
    await kill
    expect(victim.alive).toBe(false)
    // the client is not told: the victim's refused connection moves that call to the survivor and
    // takes the victim out of the rotation; every call answers, none fails
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => loginFlow(cluster, `openid-after-kill-${i}`)))
    expect(after.map((f) => f.answer.instance)).toEqual(Array(20).fill(0))
    expect(cluster.client.retried).toBeGreaterThan(retriedBefore)
    expect(redone).toBeLessThanOrEqual(10) // at most the 10 flows that were in flight
    expect(cluster.instances[0].pid).toBe(pidBefore)

    for (const session of issued) {
      const me = await cluster.client.call('GET', '/api/user/me', { token: session.token, idempotent: true })
      expect(me.status).toBe(200)
      const refreshed = await cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } })
      expect(refreshed.status).toBe(200)
      expect(refreshed.instance).toBe(0)
    }
    // back on its port, it serves tokens the survivor issued meanwhile
    await victim.restart()
    const { answer } = await loginFlow(cluster, 'openid-after-restart')
    const me = await cluster.client.call('GET', '/api/user/me', { token: answer.body.token, instance: 1 })
    expect(me.status).toBe(200)
    // and the client sends it its share again
    const spread = await Promise.all([0, 1, 2, 3].map(() => cluster.client.call('GET', '/api/user/me', { token: answer.body.token })))
    expect(spread.map((r) => r.status)).toEqual([200, 200, 200, 200])
    expect(new Set(spread.map((r) => r.instance))).toEqual(new Set([0, 1]))
  })

if (store === 'redis') {
    test('Redis stops: logins and refreshes fail fast with 503 store_unavailable; once it is back, the same processes serve again', async () => {
      const { answer } = await loginFlow(cluster, 'openid-before-redis-stop')
      const pids = cluster.instances.map((i) => i.pid)
      await cluster.redis!.stop()
      try {
        for (const instance of [0, 1]) {
          const code = await cluster.fake.mintCode(`openid-while-down-${instance}`)
          const login = await cluster.client.call('POST', '/api/auth/login', { body: { code }, instance })
          expect(login.status).toBe(503)
          expect(login.body.error).toBe('store_unavailable')
          const refresh = await cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: answer.body.refreshToken }, instance })
          expect(refresh.status).toBe(503)
          expect(refresh.body.error).toBe('store_unavailable')
          // no hang: a down store answers at once (tens of ms), not after the client's 15 s timeout
          expect(login.ms).toBeLessThan(5000)
          expect(refresh.ms).toBeLessThan(5000)
        }
      } finally {
        await cluster.redis!.restart() // stopped already: this starts it again on the same port
      }
      // ioredis reconnects by itself; wait (bounded) until each instance's /healthz says so
      for (const instance of [0, 1]) {
        const deadline = Date.now() + 15000
        for (;;) {
          const health = await cluster.client.call('GET', '/healthz', { instance })
          if (health.status === 200) break
          if (Date.now() > deadline) throw new Error(`instance ${instance} still unhealthy after Redis came back: ${JSON.stringify(health.body)}\n${cluster.logs()}`)
          await new Promise((r) => setTimeout(r, 100))
        }
      }
      for (const instance of [0, 1]) {
        const code = await cluster.fake.mintCode(`openid-after-redis-${instance}`)
        const login = await cluster.client.call<SessionAnswer>('POST', '/api/auth/login', { body: { code }, instance })
        expect(login.status).toBe(200)
        const me = await cluster.client.call('GET', '/api/user/me', { token: login.body.token, instance: 1 - instance })
        expect(me.status).toBe(200)
      }
      expect(cluster.instances.map((i) => i.pid)).toEqual(pids)
    })
}

  if (store === 'redis-cluster') clusterFailover(() => cluster, explain)
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The refresh family a token belongs to (its `fam` claim). */
function familyOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).fam
}

/**
 * A master of the Redis Cluster dies under the two server processes. Run last on that cluster:
 * each takes a master down for good (its replica takes over).
 */
function clusterFailover(get: () => Cluster, explain: (err: unknown) => never): void {
  test('a master is killed: calls answer 503 store_unavailable until its replica is promoted, then succeed with no restart; two concurrent refreshes of one token never both win', async () => {
    const cluster = get()
    const redis = cluster.redisCluster!
    const sessions: SessionAnswer[] = []
    await runPool(10, 5, async (i) => {
      sessions[i] = (await loginFlow(cluster, `openid-before-failover-${i}`)).answer.body
    }).catch(explain)
    const pids = cluster.instances.map((i) => i.pid)
    // The master of the generation, which every authenticated request reads.
    const victim = await redis.masterFor('weapp-auth:generation')
    const replica = (await redis.replicaOf(victim))!
    expect(replica).toBeDefined()
    await redis.waitReplicated(victim) // what was acknowledged is on the replica
    const racer = sessions[0].refreshToken
    await victim.stop('SIGKILL')
    const killedAt = Date.now()

    const seen: string[] = []
    let refreshWins = 0
    let served = 0
    for (let round = 0; Date.now() - killedAt < 30000; round++) {
      const [me, ...refreshes] = await Promise.all([
        cluster.client.call('GET', '/api/user/me', { token: sessions[1].token, instance: round % 2 }),
        cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: racer }, instance: 0 }),
        cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: racer }, instance: 1 }),
      ])
      for (const answer of [me, ...refreshes]) seen.push(answer.status === 200 ? '200' : `${answer.status} ${answer.body.error}`)
      refreshWins += refreshes.filter((r) => r.status === 200).length
      if (me.status === 200 && ++served >= 3) break
      await sleep(100)
    }
    const failoverMs = Date.now() - killedAt
    // Only two kinds of answer for the calls: served, or 503 store_unavailable (never a 500, never a 401 for a valid token).
    const kinds = new Set(seen.filter((s) => !/^401 (refresh_token_reused|invalid_refresh_token)$/.test(s)))
    expect([...kinds].sort()).toEqual(['200', '503 store_unavailable'])
    expect(served).toBe(3)
    expect(refreshWins).toBeLessThanOrEqual(1)
    process.stdout.write(`redis cluster: service back ${failoverMs} ms after the master was killed\n`)

    // Promoted, and every session from before works on both processes, which never restarted.
    expect((await redis.masterFor('weapp-auth:generation')).port).toBe(replica.port)
    for (const session of sessions.slice(1)) {
      for (const instance of [0, 1]) expect((await cluster.client.call('GET', '/api/user/me', { token: session.token, instance })).status).toBe(200)
    }
    const refreshed = await cluster.client.call<SessionAnswer>('POST', '/api/auth/refresh', { body: { refreshToken: sessions[2].refreshToken } })
    expect(refreshed.status).toBe(200)
    const { answer } = await loginFlow(cluster, 'openid-after-failover')
    expect(answer.status).toBe(200)
    expect(cluster.instances.map((i) => i.pid)).toEqual(pids)
  })

  test('replication is asynchronous: a rotation acknowledged just before its master dies, not yet on the replica, is lost; the spent token works once more and its successor is unknown', async () => {
    const cluster = get()
    const redis = cluster.redisCluster!
    await redis.waitHealthy()
    // A session whose family lives on a master that still has a replica (the test above used one up).
    let found: { answer: { body: SessionAnswer }; master: RedisNode; replica: RedisNode } | undefined
    for (let i = 0; i < 20 && !found; i++) {
      const { answer } = await loginFlow(cluster, `openid-lost-rotation-${i}`)
      const master = await redis.masterFor(`weapp-auth:family:{${familyOf(answer.body.token)}}`)
      const replica = await redis.replicaOf(master)
      if (replica) found = { answer, master, replica }
    }
    if (!found) throw new Error('no session landed on a master with a replica')
    const { answer, master, replica } = found
    await redis.waitReplicated(master)
    // Cut the replication link: the replica is paused, and the master drops its connection to it,
    // so nothing written from here on reaches the replica (not even into its socket buffer).
    replica.pause()
    let successor: string
    try {
      await ask(master.port, 'CLIENT', 'KILL', 'TYPE', 'replica')
      const rotated = await cluster.client.call<SessionAnswer>('POST', '/api/auth/refresh', { body: { refreshToken: answer.body.refreshToken } })
      expect(rotated.status).toBe(200) // acknowledged by the master alone
      successor = rotated.body.refreshToken
      await master.stop('SIGKILL')
    } finally {
      replica.resume()
    }
    // The replica takes over without the rotation (as the automatic failover would, a moment later;
    // if that one came first, TAKEOVER is refused: it is a master already).
    await ask(replica.port, 'CLUSTER', 'FAILOVER', 'TAKEOVER').catch(() => undefined)
    await redis.waitHealthy()
    const deadline = Date.now() + 20000
    let again = await cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: answer.body.refreshToken } })
    while (again.status === 503 && Date.now() < deadline) {
      await sleep(100)
      again = await cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: answer.body.refreshToken } })
    }
    expect(again.status).toBe(200) // the spent token, once more
    const lost = await cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: successor } })
    expect(lost.status).toBe(401)
    expect(lost.body.error).toBe('invalid_refresh_token')
  })
}
