/**
 * `auth.logout({ everywhere: true })` and `deleteAccount(auth)` against the fake wx and server:
 * the server is told first, the session here is forgotten only once it answered, and neither
 * ever logs in again by itself.
 */
import { deleteAccount } from 'weapp-auth/open'
import { setup } from './helpers/setup'

function withAccountRoutes() {
  const ctx = setup()
  const ended: Array<{ userId: unknown; body: unknown }> = []
  const deleted: unknown[] = []
  ctx.server.route('POST', '/api/auth/logout', (req, { userId }) => {
    ended.push({ userId, body: req.data })
    return { statusCode: 204, data: '' }
  })
  ctx.server.route('DELETE', '/api/user/me', (_req, { userId }) => {
    deleted.push(userId)
    return { statusCode: 204, data: '' }
  })
  const logouts: unknown[] = []
  ctx.auth.on('logout', (e) => logouts.push(e))
  return { ...ctx, ended, deleted, logouts }
}

describe('logout({ everywhere: true })', () => {
  test('posts { all: true } with the token, then forgets the session here and emits logout', async () => {
    const { auth, fake, ended, logouts } = withAccountRoutes()
    await auth.login()
    const token = auth.getToken()
    await expect(auth.logout({ everywhere: true })).resolves.toBeUndefined()
    expect(ended).toHaveLength(1)
    expect(ended[0].body).toEqual({ all: true })
    expect(fake.requests.find((r) => r.path === '/api/auth/logout')!.header.Authorization).toBe('Bearer ' + token)
    expect(auth.getToken()).toBeNull()
    expect(auth.isLoggedIn()).toBe(false)
    expect(logouts).toHaveLength(1)
  })

  test('the server could not be told (offline): rejects and keeps the session, so the user can retry', async () => {
    const { auth, fake, logouts } = withAccountRoutes()
    await auth.login()
    const token = auth.getToken()
    fake.setHandler(() => ({ networkError: 'net::ERR_INTERNET_DISCONNECTED' }))
    await expect(auth.logout({ everywhere: true })).rejects.toMatchObject({ code: 'NETWORK_ERROR' })
    expect(auth.getToken()).toBe(token)
    expect(logouts).toHaveLength(0)
  })

  test('the session had already ended on the server (401): done, with no login to end it again', async () => {
    const { auth, server, fake, ended } = withAccountRoutes()
    await auth.login()
    server.expireTokens()
    const logins = fake.calls.login
    await expect(auth.logout({ everywhere: true })).resolves.toBeUndefined()
    expect(fake.calls.login).toBe(logins)
    expect(ended).toHaveLength(0)
    expect(auth.getToken()).toBeNull()
  })

  test('a custom url; plain logout() still sends nothing', async () => {
    const { auth, fake, ended } = withAccountRoutes()
    auth.logout()
    expect(fake.requests).toHaveLength(0)
    await auth.login()
    let seen = ''
    fake.setHandler((req) => {
      seen = req.path
      return { statusCode: 204, data: '' }
    })
    await auth.logout({ everywhere: true, url: '/v2/sessions/end' })
    expect(seen).toBe('/v2/sessions/end')
    expect(ended).toHaveLength(0)
  })
})

describe('deleteAccount(auth)', () => {
  test('DELETE /api/user/me with the token, then logged out here', async () => {
    const { auth, deleted, logouts } = withAccountRoutes()
    await auth.login()
    await expect(deleteAccount(auth)).resolves.toBeUndefined()
    expect(deleted).toHaveLength(1)
    expect(typeof deleted[0]).toBe('string')
    expect(auth.getToken()).toBeNull()
    expect(logouts).toHaveLength(1)
  })

  test('a token the server refuses: rejects UNAUTHORIZED and never logs in again (that would make an account only to delete it)', async () => {
    const { auth, server, fake, deleted } = withAccountRoutes()
    await auth.login()
    server.expireTokens()
    const logins = fake.calls.login
    await expect(deleteAccount(auth)).rejects.toMatchObject({ code: 'UNAUTHORIZED' })
    expect(fake.calls.login).toBe(logins)
    expect(deleted).toHaveLength(0)
  })

  test('the server failing (500): rejects with the HttpError and keeps the session', async () => {
    const { auth, server } = withAccountRoutes()
    await auth.login()
    server.route('DELETE', '/api/user/me', () => ({ statusCode: 500, data: { error: 'internal_error' } }))
    const token = auth.getToken()
    await expect(deleteAccount(auth)).rejects.toMatchObject({ code: 'HTTP_ERROR', statusCode: 500 })
    expect(auth.getToken()).toBe(token)
  })

  test('called without the instance: a typed INVALID_INPUT, nothing sent', async () => {
    const { fake } = withAccountRoutes()
    await expect(Promise.resolve().then(() => deleteAccount(undefined as never))).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    expect(fake.requests).toHaveLength(0)
  })
})
