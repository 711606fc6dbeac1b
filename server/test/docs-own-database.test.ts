/**
 * The users repository that the guide "Users in your own database" shows (docs/guide/own-database.md,
 * "A repository of your own") works as written: its SQL creates the tables on a real PostgreSQL,
 * and its module, with the server it builds, serves real logins from the fake WeChat API, its
 * sessions in a real Redis. Ten logins of one new person at once make one user; a unionid that
 * arrives later keeps the account and lets another openid find it; a refresh answers the user;
 * a deletion refuses the old token and the next login gets a new id. The Chinese page shows the
 * same code (comments aside). Skipped with a warning only when PostgreSQL is not installed.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Client, Pool } from 'pg'
import type { AuthServer } from 'weapp-auth-server'
import { createFakeWechat, type FakeWechat } from 'weapp-auth-server/testing'
import { startRedis, type RedisHandle } from './helpers/redis'
import { findPostgres, startPostgres, type SqlServerHandle } from './helpers/sql-servers'

const root = path.join(__dirname, '..', '..')
const APP = { appid: 'wxdocs00000000001', secret: 'docs-app-secret-000000000000000' }

/** The body of the first fenced block of `lang` after `heading` whose first line starts with `first`. */
function block(file: string, heading: string, lang: string, first = ''): string {
  const text = fs.readFileSync(path.join(root, file), 'utf8')
  const at = text.indexOf(heading)
  expect(at).toBeGreaterThan(0)
  const match = new RegExp('```' + lang + '\\n(' + first.replace(/[/.]/g, '\\$&') + '[\\s\\S]*?)```').exec(text.slice(at))
  expect(match).not.toBeNull()
  return match![1]
}
const code = (text: string) =>
  text
    .split('\n')
    .map((l) => l.replace(/\s*(\/\/|--) .*$/, '').trimEnd())
    .filter(Boolean)

/** Waits (up to 5 s) until the server has no client connection but this check's own. */
async function untilNoOtherClients(url: string) {
  const client = new Client({ connectionString: url })
  await client.connect()
  try {
    for (let waited = 0; waited < 5000; waited += 50) {
      const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
      if (rows[0].n === 0) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    await client.end()
  }
}

const EN = 'docs/guide/own-database.md'
const ZH = 'docs/zh/guide/own-database.md'
const schema = block(EN, '## A repository of your own', 'sql')
const repository = block(EN, '## A repository of your own', 'ts', '// src/users.ts')

test('the Chinese page shows the same tables and the same repository', () => {
  expect(code(block(ZH, '## 自己实现', 'sql'))).toEqual(code(schema))
  expect(code(block(ZH, '## 自己实现', 'ts', '// src/users.ts'))).toEqual(code(repository))
})

const missing = findPostgres() ? null : 'postgres is not installed (apt-get install postgresql)'
if (missing) {
  // eslint-disable-next-line no-console
  console.warn(`docs-own-database: skipping the run on PostgreSQL: ${missing}`)
}

;(missing ? describe.skip : describe)('the documented repository on PostgreSQL', () => {
  let pg: SqlServerHandle
  let redis: RedisHandle
  let wechat: FakeWechat
  let auth: AuthServer
  let pool: Pool

  beforeAll(async () => {
    ;[pg, redis, wechat] = await Promise.all([startPostgres(), startRedis(), createFakeWechat(APP)])
    const admin = new Pool({ connectionString: pg.url })
    await admin.query(schema)
    await admin.end()
    // The module as the guide shows it, plus one export so the test can close its pool.
    const dir = path.join(root, '.tmp', 'docs-run', 'own-database')
    fs.mkdirSync(dir, { recursive: true })
    const file = path.join(dir, 'users.ts')
    fs.writeFileSync(file, repository + '\nexport { pool as documentedPool }\n')
    Object.assign(process.env, { DATABASE_URL: pg.url, REDIS_URL: redis.url, WX_APPID: APP.appid, WX_SECRET: APP.secret, JWT_SECRET: 'docs-own-database-jwt-secret-32-bytes-long!', WX_API_BASE: wechat.url })
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(file) as { auth: AuthServer; documentedPool: Pool }
    auth = loaded.auth
    pool = loaded.documentedPool
  }, 60000)

  afterAll(async () => {
    await pool?.end()
    // pool.end() resolves before its connections are closed; stopping the server under a closing one
    // would surface as an error on that connection. Wait until the server has no other client.
    if (pg) await untilNoOtherClients(pg.url)
    await auth?.close()
    await auth?.store.close()
    await Promise.all([pg?.stop(), redis?.stop(), wechat?.close()])
    delete process.env.WX_API_BASE
  })

  test('ten logins of one new person at once make one user, with no openid in it', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => auth.login({ code: wechat.mintCode('openid-new-1'), platform: 'weixin' })))
    expect(new Set(answers.map((a) => a.user.id)).size).toBe(1)
    expect(answers[0].user).toEqual({ id: answers[0].user.id, nickName: '微信用户', avatarUrl: '', platform: 'weixin' })
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM app_users')
    expect(rows[0].n).toBe(1)
  })

  test('a unionid that arrives later keeps the account, and another openid with it finds that account', async () => {
    const first = await auth.login({ code: wechat.mintCode('openid-late-1'), platform: 'weixin' })
    const bound = await auth.login({ code: wechat.mintCode('openid-late-1', { unionid: 'union-late' }), platform: 'weixin' })
    const otherApp = await auth.login({ code: wechat.mintCode('openid-late-other-app', { unionid: 'union-late' }), platform: 'weixin' })
    expect(bound.user.id).toBe(first.user.id)
    expect(otherApp.user.id).toBe(first.user.id)
  })

  test('two openids of one new unionid logging in at once make one user', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => auth.login({ code: wechat.mintCode(`openid-race-${i % 2}`, { unionid: 'union-race' }), platform: 'weixin' })))
    expect(new Set(answers.map((a) => a.user.id)).size).toBe(1)
  })

  test('a refresh answers the user; after deletion the old token is refused and the next login is a new account', async () => {
    const login = await auth.login({ code: wechat.mintCode('openid-delete-1'), platform: 'weixin' })
    const refreshed = await auth.refresh(login.refreshToken)
    expect(refreshed.user).toEqual(login.user)
    await auth.deleteUser(String(login.user.id))
    await expect(auth.verify(refreshed.token)).rejects.toMatchObject({ status: 401 })
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM app_identities WHERE user_id = $1', [login.user.id])
    expect(rows[0].n).toBe(0)
    const again = await auth.login({ code: wechat.mintCode('openid-delete-1'), platform: 'weixin' })
    expect(again.user.id).not.toBe(login.user.id)
  })
})
