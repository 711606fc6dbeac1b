/**
 * The example's server (example-miniprogram/server: weapp-auth-server's fastify plugin plus the
 * example's own upload and profile routes) as its own process over real HTTP on 127.0.0.1, with
 * the kit's fake WeChat API as another process — as `npm run example` runs them.
 */
import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'
import { SignJWT } from 'jose'
import { spawnServer, type SpawnedServer } from '../../example-miniprogram/e2e/spawn-server'

let srv: SpawnedServer
let uploadDir: string
const SECRET = 'example-test-jwt-secret-0123456789abcdef'

beforeAll(async () => {
  uploadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-uploads-'))
  srv = await spawnServer({ UPLOAD_DIR: uploadDir, JWT_SECRET: SECRET, MAX_UPLOAD_BYTES: '1024', EXAMPLE_QUIET: '1' })
})
afterAll(() => {
  srv?.stop()
  fs.rmSync(uploadDir, { recursive: true, force: true })
})

let seq = 0
/** Codes shaped like wx.login's; the fake WeChat accepts each once, for the account before the last '-'. */
const freshCode = (account = 'user' + ++seq) => `${account}-${Math.random().toString(36).slice(2, 10)}`
async function call(p: string, init: { method?: string; body?: unknown; token?: string; raw?: RequestInit; base?: string } = {}) {
  const res = await fetch((init.base || srv.url) + p, {
    method: init.method || (init.body !== undefined ? 'POST' : 'GET'),
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.token ? { authorization: 'Bearer ' + init.token } : {}) },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    ...init.raw,
  })
  const text = await res.text()
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined }
}
const allText: string[] = []
async function login(code = freshCode(), via: 'body' | 'query' = 'body') {
  const r = via === 'body' ? await call('/api/auth/login', { body: { code } }) : await call('/api/auth/login?code=' + code, { method: 'POST' })
  allText.push(r.text)
  return r
}
async function mintPhoneCode(phoneNumber: string): Promise<string> {
  return (await call('/__fake/phone-codes', { base: srv.wechatUrl, body: { phoneNumber } })).json.code
}

test('login with the code in the JSON body and with ?code=; one WeChat account is one user', async () => {
  const a = await login(freshCode('alice'), 'body')
  const b = await login(freshCode('alice'), 'query')
  for (const r of [a, b]) {
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ token: expect.any(String), expiresIn: 7 * 24 * 3600, refreshToken: expect.any(String), user: { id: expect.any(String), nickName: '微信用户' } })
  }
  expect(b.json.user.id).toBe(a.json.user.id)
  const me = await call('/api/user/me', { token: a.json.token })
  expect(me.status).toBe(200)
  expect(me.json.id).toBe(a.json.user.id)
})

test('a reused code → 400 wechat_code_used with errcode 40163; a malformed one → 40029; none → 400 code_required', async () => {
  const code = freshCode()
  expect((await login(code)).status).toBe(200)
  const again = await login(code)
  expect(again.status).toBe(400)
  expect(again.json).toEqual({ error: 'wechat_code_used', errcode: 40163, message: expect.stringContaining('40163') })
  expect((await login('x y')).json).toMatchObject({ error: 'wechat_invalid_code', errcode: 40029 })
  const none = await call('/api/auth/login', { body: {} })
  expect(none.status).toBe(400)
  expect(none.json.error).toBe('code_required')
})

test('an expired JWT → 401 token_expired; a forged or missing one → 401', async () => {
  const { json } = await login()
  const key = new TextEncoder().encode(SECRET)
  const now = Math.floor(Date.now() / 1000)
  const expired = await new SignJWT({ sub: json.user.id, fam: 'f', jti: 'j' })
    .setProtectedHeader({ alg: 'HS256', kid: 'default' })
    .setIssuedAt(now - 100)
    .setExpirationTime(now - 10)
    .sign(key)
  const r = await call('/api/user/me', { token: expired })
  expect(r.status).toBe(401)
  expect(r.json.error).toBe('token_expired')
  const forged = await new SignJWT({ sub: json.user.id, fam: 'f', jti: 'j' })
    .setProtectedHeader({ alg: 'HS256', kid: 'default' })
    .setIssuedAt(now)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('wrong-secret-but-just-as-long-as-the-real-one'))
  expect((await call('/api/user/me', { token: forged })).json.error).toBe('invalid_token')
  expect((await call('/api/user/me')).json.error).toBe('unauthorized')
})

test('refresh rotates: a refresh token works once, and its replay revokes the family', async () => {
  const { json } = await login()
  const first = await call('/api/auth/refresh', { body: { refreshToken: json.refreshToken } })
  expect(first.status).toBe(200)
  expect(first.json.refreshToken).not.toBe(json.refreshToken)
  allText.push(first.text)
  const reused = await call('/api/auth/refresh', { body: { refreshToken: json.refreshToken } })
  expect(reused.status).toBe(401)
  expect(reused.json.error).toBe('refresh_token_reused')
  expect((await call('/api/auth/refresh', { body: { refreshToken: first.json.refreshToken } })).status).toBe(401)
  expect((await call('/api/auth/refresh', { body: {} })).status).toBe(400)
})

test('server-side expiry (the dev endpoint): old tokens 401, new logins work', async () => {
  const { json } = await login()
  expect((await call('/api/dev/expire-tokens', { method: 'POST' })).status).toBe(200)
  expect((await call('/api/user/me', { token: json.token })).status).toBe(401)
  const again = await login()
  expect((await call('/api/user/me', { token: again.json.token })).status).toBe(200)
})

describe('avatar upload', () => {
  /** `bytes` long; a PNG by its first bytes unless `type` says otherwise (the server reads the bytes, not the declared type). */
  const upload = (token: string, type: string, bytes: number, field = 'file') => {
    const fd = new FormData()
    const body = Buffer.alloc(bytes, 1)
    if (type === 'image/png') Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(body)
    fd.append(field, new Blob([body], { type }), 'a.bin')
    return call('/api/upload/avatar', { token, raw: { method: 'POST', body: fd } })
  }

  test('an image is stored, served back, and becomes the user’s avatarUrl', async () => {
    const { json } = await login()
    const r = await upload(json.token, 'image/png', 100)
    expect(r.status).toBe(200)
    const file = await fetch(r.json.url)
    expect(file.status).toBe(200)
    expect(file.headers.get('content-type')).toBe('image/png')
    expect(Buffer.from(await file.arrayBuffer()).length).toBe(100)
    expect((await call('/api/user/me', { token: json.token })).json.avatarUrl).toBe(r.json.url)
  })

  test('type and size limits, missing token, wrong field', async () => {
    const { json } = await login()
    expect((await upload(json.token, 'text/html', 10)).status).toBe(415)
    // Declared an image, but HTML bytes: still 415.
    const fd = new FormData()
    fd.append('file', new Blob(['<html><script>alert(1)</script></html>'], { type: 'image/png' }), 'a.png')
    expect((await call('/api/upload/avatar', { token: json.token, raw: { method: 'POST', body: fd } })).status).toBe(415)
    expect((await upload(json.token, 'image/png', 4096)).status).toBe(413)
    expect((await upload(json.token, 'image/png', 10, 'avatar')).status).toBe(400)
    expect((await upload('nope', 'image/png', 10)).status).toBe(401)
    expect((await call('/uploads/..%2F..%2Fetc%2Fpasswd')).status).toBe(404)
  })
})

test('profile and phone: validated, the nickname checked by WeChat on the server, saved, phone masked', async () => {
  const { json } = await login()
  expect((await call('/api/user/profile', { body: { nickName: '   ' }, token: json.token })).status).toBe(400)
  expect((await call('/api/user/profile', { body: { avatarUrl: 'javascript:alert(1)' }, token: json.token })).status).toBe(400)
  const risky = await call('/api/user/profile', { body: { nickName: '违规的名字' }, token: json.token })
  expect(risky.status).toBe(422)
  expect(risky.json.error).toBe('content_risky')
  const saved = await call('/api/user/profile', { body: { nickName: ' 小明 ' }, token: json.token })
  expect(saved.json.nickName).toBe('小明')
  const phone = await call('/api/auth/phone', { body: { code: await mintPhoneCode('13812345678') }, token: json.token })
  expect(phone.status).toBe(200)
  expect(phone.json.phoneNumber).toBe('138****5678')
  expect((await call('/api/user/me', { token: json.token })).json).toMatchObject({ nickName: '小明', phoneNumber: '138****5678' })
  expect((await call('/api/auth/phone', { body: {}, token: json.token })).status).toBe(400)
  allText.push(saved.text, phone.text)
})

test('no response carries session_key or openid; errors carry no stack trace', async () => {
  const bad = await call('/api/auth/login', { raw: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' } })
  expect(bad.status).toBe(400)
  expect(bad.json.error).toBe('invalid_json')
  allText.push(bad.text)
  for (const text of allText) {
    expect(text).not.toMatch(/session_key|sessionKey|openid/i)
    expect(text).not.toMatch(/\n\s+at /)
  }
  expect(allText.length).toBeGreaterThan(5)
})
