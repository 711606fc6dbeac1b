/**
 * One machine, several processes, one SQLite file (pm2 or node's cluster module style): four
 * processes of the ready-made server with SQLITE_PATH on the same file keep the guarantees the
 * Redis deployment has (multi-instance.test.ts): every token works on every process, exactly one
 * of 200 concurrent refreshes wins, one access_token fetch per expiry. Then all four are SIGKILLed
 * in the middle of 200 logins: after a restart every answered token still works, no refresh
 * family is half-written, and `PRAGMA integrity_check` says ok.
 */
import Database from 'better-sqlite3'
import { loginFlow, phoneFlow, runPool, startCluster, type CallResult, type Cluster, type SessionAnswer } from './helpers/cluster'

jest.setTimeout(90000)

const PROCESSES = 4
let cluster: Cluster

beforeAll(async () => {
  cluster = await startCluster({ instances: PROCESSES, store: 'sqlite' })
})

afterEach(() => {
  expect(cluster.crashes()).toEqual([])
})

afterAll(async () => {
  await cluster?.stop()
})

function explain(err: unknown): never {
  throw new Error(`${(err as Error).stack ?? err}\n${cluster.logs()}`)
}

const every = Array.from({ length: PROCESSES }, (_, i) => i)

test('a token and a refresh token issued by one process work on every other', async () => {
  const { answer } = await loginFlow(cluster, 'openid-crossing')
  for (const instance of every) {
    const me = await cluster.client.call('GET', '/api/user/me', { token: answer.body.token, instance })
    expect({ instance, status: me.status, id: me.body.id }).toEqual({ instance, status: 200, id: answer.body.user?.id })
  }
  let refreshToken = answer.body.refreshToken
  // A chain of rotations hopping from process to process.
  for (const instance of [...every, ...every]) {
    const refreshed = await cluster.client.call<SessionAnswer>('POST', '/api/auth/refresh', { body: { refreshToken }, instance })
    expect({ instance, status: refreshed.status }).toEqual({ instance, status: 200 })
    refreshToken = refreshed.body.refreshToken
  }
})

test('200 concurrent refreshes of one refresh token over 4 processes: exactly one wins, and the family is revoked everywhere', async () => {
  const { answer } = await loginFlow(cluster, 'openid-refresh-race')
  const refreshToken = answer.body.refreshToken
  const results = await Promise.all(
    Array.from({ length: 200 }, () => cluster.client.call<SessionAnswer & { error?: string }>('POST', '/api/auth/refresh', { body: { refreshToken } })),
  ).catch(explain)
  const winners = results.filter((r) => r.status === 200)
  expect(winners).toHaveLength(1)
  expect(new Set(results.map((r) => r.instance))).toEqual(new Set(every))
  for (const loser of results.filter((r) => r.status !== 200)) {
    expect(loser.status).toBe(401)
    expect(['refresh_token_reused', 'invalid_refresh_token']).toContain(loser.body.error)
  }
  for (const instance of every) {
    const successor = await cluster.client.call('POST', '/api/auth/refresh', { body: { refreshToken: winners[0].body.refreshToken }, instance })
    expect(successor.status).toBe(401)
  }
})

test('100 logins and 40 phone calls over 4 processes across an access_token expiry: one stable_token call for the first fetch, exactly one for the expiry', async () => {
  const before = await cluster.fake.stats()
  const sessions: SessionAnswer[] = []
  await runPool(100, 16, async (i) => {
    sessions[i] = (await loginFlow(cluster, `openid-load-${i}`)).answer.body
  }).catch(explain)
  expect(new Set(sessions.map((s) => s.user?.id)).size).toBe(100)
  const phoneCall = async (i: number) => {
    const number = `1390000${String(i).padStart(4, '0')}`
    const { answer } = await phoneFlow(cluster, sessions[i].token, number)
    expect(answer.body.phoneNumber).toBe(`${number.slice(0, 3)}****${number.slice(-4)}`)
  }
  await runPool(20, 20, phoneCall).catch(explain)
  const afterFirst = await cluster.fake.stats()
  expect(afterFirst.stable_token - before.stable_token).toBe(1)
  await cluster.fake.expireAccessToken()
  await runPool(20, 20, (i) => phoneCall(20 + i)).catch(explain)
  const after = await cluster.fake.stats()
  expect(after.stable_token - afterFirst.stable_token).toBe(1)
})

test('SIGKILL of all 4 processes during 200 in-flight logins: after a restart every answered token works, nothing is half-written, integrity_check is ok', async () => {
  const answered: SessionAnswer[] = []
  let failed = 0
  let killing: Promise<unknown> | undefined
  const codes = await Promise.all(Array.from({ length: 200 }, (_, i) => cluster.fake.mintCode(`openid-crash-${i}`)))
  await runPool(200, 40, async (i) => {
    let result: CallResult<SessionAnswer> | undefined
    try {
      result = await cluster.client.call<SessionAnswer>('POST', '/api/auth/login', { body: { code: codes[i] }, forwardedFor: `10.9.${i >> 8}.${i & 255}` })
    } catch {
      failed++ // cut by the kill: the client never got an answer
      return
    }
    if (result.status === 200) answered.push(result.body)
    else failed++
    if (answered.length === 60 && !killing) killing = Promise.all(cluster.instances.map((p) => p.kill('SIGKILL')))
  })
  await killing
  expect(answered.length).toBeGreaterThanOrEqual(60)
  expect(failed).toBeGreaterThan(0) // the kill did land in the middle

  // The file as the dead processes left it.
  const db = new Database(cluster.sqlitePath!)
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    const refreshWithoutUser = db.prepare('SELECT count(*) AS n FROM weapp_auth_refresh r LEFT JOIN weapp_auth_users u ON u.id = r.user_id WHERE u.id IS NULL').get() as { n: number }
    const identityWithoutUser = db.prepare('SELECT count(*) AS n FROM weapp_auth_identities i LEFT JOIN weapp_auth_users u ON u.id = i.user_id WHERE u.id IS NULL').get() as { n: number }
    expect({ refreshWithoutUser: refreshWithoutUser.n, identityWithoutUser: identityWithoutUser.n }).toEqual({ refreshWithoutUser: 0, identityWithoutUser: 0 })
  } finally {
    db.close()
  }

  await Promise.all(cluster.instances.map((p) => p.restart()))
  await runPool(answered.length, 16, async (i) => {
    const session = answered[i]
    const me = await cluster.client.call('GET', '/api/user/me', { token: session.token, idempotent: true })
    expect({ status: me.status, id: me.body.id }).toEqual({ status: 200, id: session.user?.id })
    const refreshed = await cluster.client.call<SessionAnswer>('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } })
    expect({ status: refreshed.status, id: refreshed.body.user?.id }).toEqual({ status: 200, id: session.user?.id })
  }).catch(explain)
})
