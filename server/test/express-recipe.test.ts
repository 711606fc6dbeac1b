/**
 * The Express recipe of the server docs (server/README.md or a page of docs/guide/), run as
 * written: the documented snippet must be exactly test/fixtures/express-recipe.ts (this test reads
 * it out of the docs and compares), and that file is what runs here — over real HTTP, against the
 * fake WeChat API over HTTP.
 */
import * as fs from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as path from 'node:path'
import { createFakeWechat, type FakeWechat } from 'weapp-auth-server/testing'

const ROOT = path.join(__dirname, '..', '..')
const GUIDES = [path.join(ROOT, 'docs', 'guide'), path.join(ROOT, 'docs', 'zh', 'guide')]
/** The server's docs: its READMEs and the guide pages in both languages, wherever the recipe lives. */
const DOCS = [
  path.join(ROOT, 'server', 'README.md'),
  path.join(ROOT, 'server', 'README.zh-CN.md'),
  ...GUIDES.filter((dir) => fs.existsSync(dir)).flatMap((dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.md')).map((f) => path.join(dir, f))),
]
const FIXTURE = path.join(__dirname, 'fixtures', 'express-recipe.ts')
const APPID = 'wxexpresstest0001'
const SECRET = 'express-test-app-secret-000000000'

let fake: FakeWechat
let server: Server
let base: string
let recipe: typeof import('./fixtures/express-recipe')

beforeAll(async () => {
  fake = await createFakeWechat({ appid: APPID, secret: SECRET })
  // The recipe reads its configuration from the environment, as a deployed server would.
  Object.assign(process.env, { WX_APPID: APPID, WX_SECRET: SECRET, JWT_SECRET: 'express-recipe-jwt-secret-32-bytes-or-more', WX_API_BASE: fake.url })
  recipe = await import('./fixtures/express-recipe')
  server = recipe.app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  await recipe?.auth.close()
  await fake?.close()
  for (const k of ['WX_APPID', 'WX_SECRET', 'JWT_SECRET', 'WX_API_BASE']) delete process.env[k]
})

async function call(p: string, init: { body?: unknown; raw?: string; token?: string; method?: string } = {}) {
  const headers: Record<string, string> = {}
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body))
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (init.token) headers.authorization = 'Bearer ' + init.token
  const res = await fetch(base + p, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body })
  const text = await res.text()
  expect(text).not.toMatch(/\n\s+at |session_?key|openid/i)
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

test('the documented Express recipe is exactly the fixture this file runs', () => {
  const docs = DOCS.map((file) => fs.readFileSync(file, 'utf8')).join('\n')
  const copies = [...docs.matchAll(/<!-- express-recipe: test\/fixtures\/express-recipe\.ts -->\s*```ts\n([\s\S]*?)```/g)].map((m) => m[1])
  // The English and the Chinese server guide each show it; a translated copy may only differ in
  // its comments.
  const code = (text: string) => text.split('\n').map((line) => line.replace(/\s*\/\/ .*$/, '')).join('\n')
  expect(copies.length).toBeGreaterThanOrEqual(2)
  expect(copies[0]).toBe(fs.readFileSync(FIXTURE, 'utf8'))
  for (const copy of copies) expect(code(copy)).toBe(code(fs.readFileSync(FIXTURE, 'utf8')))
  expect(copies[0].trim().split('\n').length).toBeLessThanOrEqual(30)
})

test('login → me → refresh (rotation) → logout, as the SDK calls them', async () => {
  const login = await call('/api/auth/login', { body: { code: fake.mintCode('o-express') } })
  expect(login.status).toBe(200)
  expect(login.json).toMatchObject({ token: expect.any(String), refreshToken: expect.any(String), expiresIn: 604800, user: { id: expect.any(String), nickName: '微信用户' } })
  expect((await call('/api/user/me', { token: login.json.token })).json).toEqual(login.json.user)

  const refreshed = await call('/api/auth/refresh', { body: { refreshToken: login.json.refreshToken } })
  expect(refreshed.status).toBe(200)
  expect(refreshed.json.refreshToken).not.toBe(login.json.refreshToken)
  expect((await call('/api/auth/refresh', { body: { refreshToken: login.json.refreshToken } })).json.error).toBe('refresh_token_reused')

  const relogin = await call('/api/auth/login', { body: { code: fake.mintCode('o-express') } })
  expect((await call('/api/auth/logout', { token: relogin.json.token, method: 'POST' })).status).toBe(204)
  expect((await call('/api/auth/refresh', { body: { refreshToken: relogin.json.refreshToken } })).status).toBe(401)
})

test('failures answer { error, message } with the kit’s codes', async () => {
  const code = fake.mintCode('o-express-2')
  expect((await call('/api/auth/login', { body: { code } })).status).toBe(200)
  expect(await call('/api/auth/login', { body: { code } })).toEqual({ status: 400, json: { error: 'wechat_code_used', errcode: 40163, message: expect.any(String) } })
  expect(await call('/api/auth/login', { body: {} })).toMatchObject({ status: 400, json: { error: 'code_required' } })
  expect(await call('/api/auth/login', { raw: '{"code":' })).toMatchObject({ status: 400, json: { error: 'invalid_json' } })
  expect(await call('/api/auth/login', { body: { code: 'x'.repeat(20000) } })).toMatchObject({ status: 413, json: { error: 'payload_too_large' } })
  expect(await call('/api/auth/refresh', { body: {} })).toMatchObject({ status: 400, json: { error: 'refresh_token_required' } })
  expect(await call('/api/user/me')).toMatchObject({ status: 401, json: { error: 'unauthorized' } })
  expect(await call('/api/user/me', { token: 'garbage' })).toMatchObject({ status: 401, json: { error: 'invalid_token' } })
  await fake.stop()
  try {
    expect(await call('/api/auth/login', { body: { code: 'any-code-123' } })).toMatchObject({ status: 502, json: { error: 'wechat_unreachable' } })
  } finally {
    await fake.start()
  }
})
