/**
 * `weapp-auth/core`: createAuth without detection, for an app built for one host. It runs on the
 * global `wx` or the adapter it is given, refuses host names (they need the detecting entry), and
 * shares the errors and the instance shape with `weapp-auth`.
 */
import { AuthError as MainAuthError } from 'weapp-auth'
import { AuthError, createAuth } from 'weapp-auth/core'
import { alipayPlatform } from 'weapp-auth/platforms'
import { createFakeAuthServer, createFakeMy, createFakeWx } from 'weapp-auth/testing'

const BASE = 'https://api.example.com'
const g = global as unknown as { wx?: unknown }

afterEach(() => {
  delete g.wx
})

test('without platform it runs on the global wx, tagged weixin: the login body says so', async () => {
  const fake = createFakeWx()
  const server = createFakeAuthServer(fake)
  fake.setHandler(server.handler)
  g.wx = fake.wx
  const auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' } })
  expect(auth.platform.host).toBe('weixin')
  await auth.login()
  const sent = fake.requests.filter((r) => r.path === '/api/auth/login')
  expect(sent).toHaveLength(1)
  expect(sent[0].data).toEqual({ code: expect.any(String), platform: 'weixin' })
  expect(fake.calls.login).toBe(1)
})

test('with an adapter it runs on that host, even when a global wx exists', async () => {
  g.wx = createFakeWx().wx
  const fake = createFakeMy()
  const server = createFakeAuthServer(fake)
  fake.setHandler(server.handler)
  const auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: alipayPlatform(fake.my) })
  await auth.login()
  expect(auth.platform.host).toBe('alipay')
  expect(fake.calls.getAuthCode).toBe(1)
  expect(fake.requests.filter((r) => r.path === '/api/auth/login').map((r) => (r.data as { platform: string }).platform)).toEqual(['alipay'])
  // A failed host login names the host's own call, not wx.login.
  fake.behavior.login = 'fail'
  auth.logout()
  await expect(auth.login()).rejects.toMatchObject({ code: 'WX_LOGIN_FAILED', message: expect.stringMatching(/^my\.getAuthCode failed/) })
})

test('host names and non-objects are refused at createAuth with a CONFIG error that says what to pass', () => {
  g.wx = createFakeWx().wx
  const attempt = (platform: unknown) => () => createAuth({ baseURL: BASE, login: { url: '/l' }, platform: platform as never })
  expect(attempt('douyin')).toThrow(/host names need createAuth from 'weapp-auth'/)
  expect(attempt(42)).toThrow(/platform must be an object/)
  expect(attempt(null)).toThrow(AuthError)
  let caught: unknown
  try {
    attempt('qq')()
  } catch (err) {
    caught = err
  }
  // One error class across the entries: the detecting entry's AuthError is core's.
  expect(caught).toBeInstanceOf(MainAuthError)
  expect((caught as AuthError).code).toBe('CONFIG')
})

test('no global wx and no platform: CONFIG naming the fix', () => {
  expect(() => createAuth({ baseURL: BASE, login: { url: '/l' } })).toThrow(/pass `platform`/)
})
