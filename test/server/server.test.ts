/**
 * The example's reference server, over real HTTP on 127.0.0.1 (a random port).
 */
import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'
import { SignJWT } from 'jose'
import { startServer } from '../../example-miniprogram/server/src/app'

type Started = Awaited<ReturnType<typeof startServer>>
let srv: Started
let uploadDir: string
const SECRET = 'test-secret-0123456789'

beforeAll(async () => {
  uploadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-uploads-'))
  srv = await startServer({ uploadDir, jwtSecret: SECRET, maxUploadBytes: 1024 })
})
afterAll(async () => {
  await srv.close()
  fs.rmSync(uploadDir, { recursive: true, force: true })
})

let seq = 0
const freshCode = () => `code-${++seq}-abc${seq}def`
async function call(p: string, init: { method?: string; body?: unknown; token?: string; raw?: RequestInit } = {}) {
  const res = await fetch(srv.url + p, {
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

test('login with the code in the JSON body and with ?code=', async () => {
  const a = await login(freshCode(), 'body')
  const b = await login(freshCode(), 'query')
  for (const r of [a, b]) {
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ token: expect.any(String), expiresIn: 7 * 24 * 3600, refreshToken: expect.any(String), user: { id: expect.any(Number) } })
  }
  const me = await call('/api/user/me', { token: a.json.token })
  expect(me.status).toBe(200)
  expect(me.json.id).toBe(a.json.user.id)
})

test('a reused code → 400 with WeChat errcode 40163; a malformed one → 40029; none → 400', async () => {
  const code = freshCode()
  expect((await login(code)).status).toBe(200)
  const again = await login(code)
  expect(again.status).toBe(400)
  expect(again.json).toEqual({ errcode: 40163, errmsg: 'code been used' })
  expect((await login('x y')).json).toMatchObject({ errcode: 40029 })
  const none = await call('/api/auth/login', { body: {} })
  expect(none.status).toBe(400)
  expect(none.json.message).toMatch(/code is required/)
})

test('an expired JWT → 401; a forged or missing one → 401', async () => {
  const { json } = await login()
  const key = new TextEncoder().encode(SECRET)
  const expired = await new SignJWT({ sub: String(json.user.id), gen: 0 })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(Math.floor(Date.now() / 1000) - 100)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
    .sign(key)
  const r = await call('/api/user/me', { token: expired })
  expect(r.status).toBe(401)
  expect(r.json).toEqual({ error: 'unauthorized', message: 'Token expired' })
  const forged = await new SignJWT({ sub: String(json.user.id), gen: 0 }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode('wrong'))
  expect((await call('/api/user/me', { token: forged })).status).toBe(401)
  expect((await call('/api/user/me')).status).toBe(401)
})

test('refresh rotates: a refresh token works once', async () => {
  const { json } = await login()
  const first = await call('/api/auth/refresh', { body: { refreshToken: json.refreshToken } })
  expect(first.status).toBe(200)
  expect(first.json.refreshToken).not.toBe(json.refreshToken)
  allText.push(first.text)
  const reused = await call('/api/auth/refresh', { body: { refreshToken: json.refreshToken } })
  expect(reused.status).toBe(401)
  expect((await call('/api/auth/refresh', { body: { refreshToken: first.json.refreshToken } })).status).toBe(200)
  expect((await call('/api/auth/refresh', { body: {} })).status).toBe(400)
})

test('server-side expiry: old tokens 401, new logins work', async () => {
  const { json } = await login()
  srv.expireAllTokens()
  expect((await call('/api/user/me', { token: json.token })).status).toBe(401)
  const again = await login()
  expect((await call('/api/user/me', { token: again.json.token })).status).toBe(200)
})

describe('avatar upload', () => {
  const upload = (token: string, type: string, bytes: number, field = 'file') => {
    const fd = new FormData()
    fd.append(field, new Blob([Buffer.alloc(bytes, 1)], { type }), 'a.bin')
    return call('/api/upload/avatar', { token, raw: { method: 'POST', body: fd } })
  }

  test('an image is stored and served back', async () => {
    const { json } = await login()
    const r = await upload(json.token, 'image/png', 100)
    expect(r.status).toBe(200)
    const file = await fetch(r.json.url)
    expect(file.status).toBe(200)
    expect(file.headers.get('content-type')).toBe('image/png')
    expect(Buffer.from(await file.arrayBuffer()).length).toBe(100)
  })

  test('type and size limits, missing token, wrong field', async () => {
    const { json } = await login()
    expect((await upload(json.token, 'text/html', 10)).status).toBe(415)
    expect((await upload(json.token, 'image/png', 4096)).status).toBe(413)
    expect((await upload(json.token, 'image/png', 10, 'avatar')).status).toBe(400)
    expect((await upload('nope', 'image/png', 10)).status).toBe(401)
    expect((await call('/uploads/..%2F..%2Fetc%2Fpasswd')).status).toBe(404)
  })
})

test('profile and phone: validated, saved, phone masked', async () => {
  const { json } = await login()
  expect((await call('/api/user/profile', { body: { nickName: '   ' }, token: json.token })).status).toBe(400)
  expect((await call('/api/user/profile', { body: { avatarUrl: 'javascript:alert(1)' }, token: json.token })).status).toBe(400)
  const saved = await call('/api/user/profile', { body: { nickName: ' 小明 ' }, token: json.token })
  expect(saved.json.nickName).toBe('小明')
  const phone = await call('/api/auth/phone', { body: { code: 'phone-code-1' }, token: json.token })
  expect(phone.status).toBe(200)
  expect(phone.json.phoneNumber).toMatch(/^138\*{4}\d{4}$/)
  expect((await call('/api/auth/phone', { body: {}, token: json.token })).status).toBe(400)
})

test('no response carries session_key or openid; errors carry no stack trace', async () => {
  const bad = await call('/api/auth/login', { raw: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' } })
  expect(bad.status).toBe(400)
  allText.push(bad.text)
  for (const text of allText) {
    expect(text).not.toMatch(/session_key|sessionKey|openid/i)
    expect(text).not.toMatch(/\n\s+at /)
  }
  expect(allText.length).toBeGreaterThan(5)
})
