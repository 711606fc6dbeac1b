/**
 * Avatar upload in the ready-made server's app: real multipart over HTTP, files on disk in a
 * temporary folder. The type comes from the bytes, the URL from PUBLIC_URL (never the Host
 * header), files are served with nosniff, and deleting the account deletes its avatars.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { createAuthServer, memoryStore, type AuthServer, type Store } from 'weapp-auth-server'
import { createFakeWechat, type FakeWechat } from 'weapp-auth-server/testing'
import { buildApp } from '../src/app'
import { createAvatars, imageTypeOf, type Avatars } from '../src/avatars'

const APPID = 'wxavatartest000001'
const SECRET = 'avatar-test-app-secret-0000000000'
const PUBLIC_URL = 'https://api.example.com'
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('fake png body')])
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('jpeg body')])
const GIF = Buffer.from('GIF89a......')
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0, 0, 0, 0]), Buffer.from('WEBPVP8 ')])

let fake: FakeWechat
let store: Store
let auth: AuthServer
let avatars: Avatars
let app: FastifyInstance
let base: string
let dir: string

beforeAll(async () => {
  fake = await createFakeWechat({ appid: APPID, secret: SECRET })
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-avatars-'))
  store = memoryStore()
  avatars = createAvatars({
    dir,
    publicUrl: PUBLIC_URL + '/',
    maxBytes: 1024,
    onUploaded: (userId, url) => (auth.users as unknown as { updateUser(id: string, p: object): Promise<unknown> }).updateUser(userId, { avatarUrl: url }),
  })
  auth = createAuthServer({
    appid: APPID,
    secret: SECRET,
    jwt: { secret: 'avatar-test-jwt-secret-at-least-32-bytes' },
    store,
    wxApiBase: fake.url,
    loginRateLimit: false,
    onUserDeleted: async (id) => void (await avatars.deleteAvatarsOf(id)),
  })
  app = buildApp({ auth, avatars, log: false })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app?.close()
  await auth?.close()
  await store?.close()
  await fake?.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

async function login(openid: string): Promise<string> {
  const res = await fetch(base + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: fake.mintCode(openid) }) })
  return ((await res.json()) as { token: string }).token
}

async function upload(token: string, bytes: Buffer, filename = 'a.png', type = 'image/png', field = 'file', host?: string) {
  const form = new FormData()
  form.append(field, new Blob([bytes], { type }), filename)
  const headers: Record<string, string> = { authorization: 'Bearer ' + token }
  if (host) headers['x-forwarded-host'] = host
  const res = await fetch(base + '/api/upload/avatar', { method: 'POST', headers, body: form })
  return { status: res.status, json: (await res.json()) as Record<string, any> }
}

test('each image type is recognised by its bytes', () => {
  expect([PNG, JPEG, GIF, WEBP].map(imageTypeOf)).toEqual(['png', 'jpg', 'gif', 'webp'])
  expect(imageTypeOf(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull()
  expect(imageTypeOf(Buffer.alloc(0))).toBeNull()
})

test('an upload answers a PUBLIC_URL address (never the Host header), saves it on the user, and is served back with nosniff', async () => {
  const token = await login('avatar-alice')
  const up = await upload(token, PNG, 'whatever.txt', 'text/plain', 'file', 'evil.example.net')
  expect(up.status).toBe(200)
  expect(up.json.url).toMatch(/^https:\/\/api\.example\.com\/uploads\/[0-9a-f]{16}-[A-Za-z0-9_-]{22}\.png$/)
  const me = (await (await fetch(base + '/api/user/me', { headers: { authorization: 'Bearer ' + token } })).json()) as { avatarUrl: string }
  expect(me.avatarUrl).toBe(up.json.url)
  const served = await fetch(base + new URL(up.json.url).pathname)
  expect(served.status).toBe(200)
  expect(served.headers.get('content-type')).toBe('image/png')
  expect(served.headers.get('x-content-type-options')).toBe('nosniff')
  expect(Buffer.from(await served.arrayBuffer()).equals(PNG)).toBe(true)
})

test('a renamed HTML or SVG file is 415 whatever its name or declared type; nothing is written', async () => {
  const token = await login('avatar-bob')
  const before = fs.readdirSync(dir).length
  for (const bytes of [Buffer.from('<html><script>alert(1)</script></html>'), Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')]) {
    const up = await upload(token, bytes, 'avatar.png', 'image/png')
    expect(up).toMatchObject({ status: 415, json: { error: 'unsupported_media_type' } })
  }
  expect(fs.readdirSync(dir).length).toBe(before)
})

test('over the size limit is 413; a missing file field or a non-multipart body is 400; no token is 401', async () => {
  const token = await login('avatar-carol')
  expect(await upload(token, Buffer.concat([PNG, Buffer.alloc(2048)]))).toMatchObject({ status: 413, json: { error: 'payload_too_large' } })
  expect(await upload(token, PNG, 'a.png', 'image/png', 'photo')).toMatchObject({ status: 400 })
  const json = await fetch(base + '/api/upload/avatar', { method: 'POST', headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' }, body: '{}' })
  expect(json.status).toBe(400)
  const anonymous = await fetch(base + '/api/upload/avatar', { method: 'POST', body: new FormData() })
  expect(anonymous.status).toBe(401)
})

test('names outside the pattern (traversal, other extensions) are 404 and read nothing', async () => {
  for (const name of ['..%2F..%2Fetc%2Fpasswd', 'x.html', '0123456789abcdef-AAAAAAAAAAAAAAAAAAAAAA.svg', '0123456789abcdef-AAAAAAAAAAAAAAAAAAAAAA.png']) {
    const res = await fetch(`${base}/uploads/${name}`)
    expect({ name, status: res.status }).toEqual({ name, status: 404 })
  }
})

test("deleting the account deletes that user's avatars and no one else's", async () => {
  const dana = await login('avatar-dana')
  const erin = await login('avatar-erin')
  const a = await upload(dana, JPEG, 'a.jpg', 'image/jpeg')
  const b = await upload(dana, GIF, 'b.gif', 'image/gif')
  const c = await upload(erin, WEBP, 'c.webp', 'image/webp')
  expect((await fetch(base + '/api/user/me', { method: 'DELETE', headers: { authorization: 'Bearer ' + dana } })).status).toBe(204)
  for (const url of [a.json.url, b.json.url]) expect((await fetch(base + new URL(url).pathname)).status).toBe(404)
  expect((await fetch(base + new URL(c.json.url).pathname)).status).toBe(200)
})

test('without PUBLIC_URL an upload is 503 not_configured, naming the setting', async () => {
  const bare = createAvatars({ dir: path.join(dir, 'bare') })
  const other = buildApp({ auth, avatars: bare, log: false })
  const url = await other.listen({ host: '127.0.0.1', port: 0 })
  try {
    const token = await login('avatar-frank')
    const form = new FormData()
    form.append('file', new Blob([PNG], { type: 'image/png' }), 'a.png')
    const res = await fetch(url + '/api/upload/avatar', { method: 'POST', headers: { authorization: 'Bearer ' + token }, body: form })
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: string; message: string })).toMatchObject({ error: 'not_configured', message: expect.stringContaining('PUBLIC_URL') })
  } finally {
    await other.close()
  }
})
