/**
 * Sessions, log out everywhere and account deletion, end to end: four instances of the
 * ready-made server's app (buildApp) on one real Redis, each on its own loopback port, WeChat
 * played by the fake over HTTP. What one instance ends is refused by the others on the very next
 * request; a user never sees, ends or deletes anything of another user's.
 */
import type { FastifyInstance } from 'fastify'
import { createAuthServer, redisStore, memoryStore, type AuthServer, type AuthServerEvent, type Store, storeUsers } from 'weapp-auth-server'
import { createFakeWechat, type FakeWechat } from 'weapp-auth-server/testing'
import { buildApp } from '../src/app'
import { rejection } from './helpers/kit'
import { startRedis, type RedisHandle } from './helpers/redis'

const APPID = 'wxsessiontest00001'
const SECRET = 'sessions-test-app-secret-00000000'
const JWT_SECRET = 'sessions-test-jwt-secret-at-least-32-bytes'

let fake: FakeWechat
let redis: RedisHandle
const stores: Store[] = []
const apps: FastifyInstance[] = []
const bases: string[] = []
const events: AuthServerEvent[] = []
const deleted: string[] = []

function server(store: Store, extra: Partial<Parameters<typeof createAuthServer>[0]> = {}): AuthServer {
  return createAuthServer({
    appid: APPID,
    secret: SECRET,
    jwt: { secret: JWT_SECRET },
    store,
    wxApiBase: fake.url,
    loginRateLimit: false,
    onEvent: (e) => void events.push(e),
    onUserDeleted: (id) => void deleted.push(id),
    ...extra,
  })
}

beforeAll(async () => {
  ;[fake, redis] = await Promise.all([createFakeWechat({ appid: APPID, secret: SECRET }), startRedis()])
  for (let i = 0; i < 4; i++) {
    const store = redisStore(redis.url)
    stores.push(store)
    const app = buildApp({ auth: server(store), log: false })
    apps.push(app)
    bases.push(await app.listen({ host: '127.0.0.1', port: 0 }))
  }
})

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()))
  await Promise.all(stores.map((s) => s.close()))
  await Promise.all([fake?.close(), redis?.stop()])
})

interface Answer {
  status: number
  json: any
}

async function call(instance: number, method: string, path: string, init: { body?: unknown; token?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  if (init.token) headers.authorization = 'Bearer ' + init.token
  const res = await fetch(bases[instance] + path, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

/** Logs `openid` in on `instance` (a device), answering the tokens and the user. */
async function login(openid: string, instance = 0): Promise<{ token: string; refreshToken: string; user: { id: string } }> {
  const answer = await call(instance, 'POST', '/api/auth/login', { body: { code: fake.mintCode(openid) } })
  expect(answer.status).toBe(200)
  return answer.json
}

const me = (instance: number, token: string) => call(instance, 'GET', '/api/user/me', { token })

test('a user sees one session per device, never a token, with the current one marked; another user sees only theirs', async () => {
  const phone = await login('alice', 0)
  const tablet = await login('alice', 1)
  const bob = await login('bob', 2)
  const listed = await call(3, 'GET', '/api/auth/sessions', { token: tablet.token })
  expect(listed.status).toBe(200)
  const sessions = listed.json.sessions as Array<Record<string, unknown>>
  expect(sessions).toHaveLength(2)
  expect(sessions.map((s) => s.current)).toEqual([false, true])
  for (const s of sessions) {
    expect(Object.keys(s).sort()).toEqual(['appid', 'createdAt', 'current', 'expiresAt', 'id', 'lastUsedAt', 'platform'])
    expect(s).toMatchObject({ platform: 'weixin', appid: APPID })
  }
  const text = JSON.stringify(listed.json)
  for (const secret of [phone.token, phone.refreshToken, tablet.token, tablet.refreshToken, 'alice']) expect(text).not.toContain(secret)
  const bobs = await call(0, 'GET', '/api/auth/sessions', { token: bob.token })
  expect(bobs.json.sessions).toHaveLength(1)
  expect(bobs.json.sessions[0].id).not.toBe(sessions[0].id)
  expect(bobs.json.sessions[0].id).not.toBe(sessions[1].id)
})

test('ending a session from another device refuses its access token on every instance at once, and its refresh token', async () => {
  const phone = await login('carol', 0)
  const tablet = await login('carol', 1)
  const { json } = await call(2, 'GET', '/api/auth/sessions', { token: tablet.token })
  const phoneSession = json.sessions.find((s: { current: boolean }) => !s.current)
  expect((await call(2, 'DELETE', `/api/auth/sessions/${phoneSession.id}`, { token: tablet.token })).status).toBe(204)
  // The very next request, on every instance: no cache to wait out.
  for (let i = 0; i < 4; i++) expect(await me(i, phone.token)).toMatchObject({ status: 401, json: { error: 'token_revoked' } })
  expect(await call(3, 'POST', '/api/auth/refresh', { body: { refreshToken: phone.refreshToken } })).toMatchObject({ status: 401 })
  // The tablet carries on.
  for (let i = 0; i < 4; i++) expect((await me(i, tablet.token)).status).toBe(200)
  // Ended twice, unknown, or another user's: the same 404.
  const dave = await login('dave', 0)
  const daves = await call(0, 'GET', '/api/auth/sessions', { token: dave.token })
  expect(await call(1, 'DELETE', `/api/auth/sessions/${phoneSession.id}`, { token: tablet.token })).toMatchObject({ status: 404, json: { error: 'not_found' } })
  expect(await call(1, 'DELETE', '/api/auth/sessions/no-such-session', { token: tablet.token })).toMatchObject({ status: 404, json: { error: 'not_found' } })
  expect(await call(1, 'DELETE', `/api/auth/sessions/${daves.json.sessions[0].id}`, { token: tablet.token })).toMatchObject({ status: 404, json: { error: 'not_found' } })
  expect((await me(0, dave.token)).status).toBe(200)
})

test('log out everywhere else keeps this device; log out everywhere ends every session, on every instance, from the next request', async () => {
  const devices = [await login('erin', 0), await login('erin', 1), await login('erin', 2)]
  const frank = await login('frank', 3)
  expect((await call(0, 'POST', '/api/auth/logout', { body: { others: true }, token: devices[0].token })).status).toBe(204)
  expect((await me(3, devices[0].token)).status).toBe(200)
  for (const device of devices.slice(1)) for (let i = 0; i < 4; i++) expect((await me(i, device.token)).status).toBe(401)
  expect((await call(1, 'GET', '/api/auth/sessions', { token: devices[0].token })).json.sessions).toHaveLength(1)

  const more = await login('erin', 3)
  expect((await call(0, 'POST', '/api/auth/logout', { body: { all: true }, token: more.token })).status).toBe(204)
  for (const device of [devices[0], more]) for (let i = 1; i < 4; i++) expect(await me(i, device.token)).toMatchObject({ status: 401, json: { error: 'token_revoked' } })
  for (const device of [...devices, more]) expect((await call(2, 'POST', '/api/auth/refresh', { body: { refreshToken: device.refreshToken } })).status).toBe(401)
  // Frank is untouched; Erin logs in again as the same account.
  expect((await me(2, frank.token)).status).toBe(200)
  const back = await login('erin', 1)
  expect(back.user.id).toBe(devices[0].user.id)
  expect((await me(0, back.token)).status).toBe(200)
  expect(events).toContainEqual({ type: 'logout', userId: devices[0].user.id, scope: 'all' })
  // Nonsense options are a 400, not a silent logout.
  expect(await call(0, 'POST', '/api/auth/logout', { body: { all: 'yes' }, token: back.token })).toMatchObject({ status: 400, json: { error: 'bad_request' } })
  expect(await call(0, 'POST', '/api/auth/logout', { body: { all: true, others: true }, token: back.token })).toMatchObject({ status: 400 })
  expect((await me(0, back.token)).status).toBe(200)
})

test('deleting the account: 204, every token refused on every instance, onUserDeleted called, and logging in again starts a new account', async () => {
  const phone = await login('grace', 0)
  const tablet = await login('grace', 1)
  const heidi = await login('heidi', 2)
  expect((await call(0, 'POST', '/api/user/profile', { body: { nickName: '格蕾丝' }, token: phone.token })).status).toBe(200)
  expect((await call(2, 'DELETE', '/api/user/me', { token: tablet.token })).status).toBe(204)
  expect(deleted).toContain(phone.user.id)
  for (let i = 0; i < 4; i++) for (const t of [phone.token, tablet.token]) expect((await me(i, t)).status).toBe(401)
  for (const t of [phone, tablet]) expect((await call(3, 'POST', '/api/auth/refresh', { body: { refreshToken: t.refreshToken } })).status).toBe(401)
  // Deleting twice: the token no longer opens anything.
  expect((await call(1, 'DELETE', '/api/user/me', { token: phone.token })).status).toBe(401)
  // The same WeChat user later: a new id, none of the old data.
  const again = await login('grace', 3)
  expect(again.user.id).not.toBe(phone.user.id)
  expect((await me(0, again.token)).json).toMatchObject({ id: again.user.id, nickName: '微信用户' })
  expect((await call(0, 'GET', '/api/auth/sessions', { token: again.token })).json.sessions).toHaveLength(1)
  expect((await me(1, heidi.token)).status).toBe(200)
})

test("a DELETE with `content-type: application/json` and no body (Alipay's my.request sends that) is no body, not a 400; a broken JSON body is still 400 invalid_json", async () => {
  const user = await login('judy-alipay-style', 0)
  const broken = await fetch(bases[1] + '/api/user/profile', { method: 'POST', headers: { authorization: 'Bearer ' + user.token, 'content-type': 'application/json' }, body: '{"nickName":' })
  expect(broken.status).toBe(400)
  expect(((await broken.json()) as { error: string }).error).toBe('invalid_json')
  const res = await fetch(bases[1] + '/api/user/me', { method: 'DELETE', headers: { authorization: 'Bearer ' + user.token, 'content-type': 'application/json' } })
  expect(res.status).toBe(204)
  expect((await me(2, user.token)).status).toBe(401)
})

test('a login racing the deletion of the same user leaves no usable half-made account', async () => {
  const first = await login('ivan', 0)
  const results = await Promise.allSettled([
    call(1, 'DELETE', '/api/user/me', { token: first.token }),
    ...[0, 1, 2, 3].map((i) => call(i, 'POST', '/api/auth/login', { body: { code: fake.mintCode('ivan') } })),
  ])
  expect(results.every((r) => r.status === 'fulfilled')).toBe(true)
  const logins = results.slice(1).map((r) => (r as PromiseFulfilledResult<Answer>).value.json as { token: string; user: { id: string } })
  for (const l of logins) {
    const answer = await me(2, l.token)
    // A token of the deleted account is refused; one of the new account opens the new account only.
    if (l.user.id === first.user.id) expect(answer.status).toBe(401)
    else expect(answer.json).toMatchObject({ id: l.user.id, nickName: '微信用户' })
  }
  const after = await login('ivan', 3)
  expect(after.user.id).not.toBe(first.user.id)
  expect((await me(0, after.token)).status).toBe(200)
})

describe('users of your own (not in the kit\'s store)', () => {
  test('deleteUser calls your deleteUser, ends every session and refuses every token at once; an unknown user is 404', async () => {
    const store = memoryStore()
    const mine = new Map<string, { id: string; nickName: string }>()
    const byOpenid = new Map<string, string>()
    let seq = 0
    const auth = server(store, {
      users: {
        findOrCreate({ openid }) {
          let id = byOpenid.get(openid)
          if (!id || !mine.has(id)) {
            id = `own:${++seq}`
            byOpenid.set(openid, id)
            mine.set(id, { id, nickName: 'n' })
          }
          return mine.get(id) as { id: string; nickName: string }
        },
        findById: (id) => mine.get(id) ?? null,
        deleteUser: (id) => mine.delete(id),
      },
    })
    try {
      const a = await auth.login({ code: fake.mintCode('judy') })
      const b = await auth.login({ code: fake.mintCode('judy') })
      await auth.deleteUser(a.user.id as string)
      expect(mine.has(a.user.id as string)).toBe(false)
      for (const t of [a, b]) {
        expect(await rejection(auth.verify(t.token))).toMatchObject({ code: 'token_revoked' })
        expect(await rejection(auth.refresh(t.refreshToken))).toMatchObject({ status: 401 })
      }
      expect(await rejection(auth.deleteUser(a.user.id as string))).toMatchObject({ code: 'not_found', status: 404 })
      expect(await rejection(auth.deleteUser('nobody'))).toMatchObject({ code: 'not_found', status: 404 })
    } finally {
      await auth.close()
      await store.close()
    }
  })

  test('storeUsers(store) spread into your own repository keeps deletion working', async () => {
    const store = memoryStore()
    const auth = server(store, { users: { ...storeUsers(store) } })
    try {
      const a = await auth.login({ code: fake.mintCode('ken') })
      await auth.deleteUser(a.user.id as string)
      expect(await rejection(auth.verify(a.token))).toMatchObject({ status: 401 })
      expect(await store.getUser(a.user.id as string)).toBeNull()
    } finally {
      await auth.close()
      await store.close()
    }
  })
})
