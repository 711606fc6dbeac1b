/**
 * One name per thing in the errors: every error that carries an HTTP status calls it `statusCode`
 * (LOGIN_REJECTED, BAD_LOGIN_RESPONSE and UNAUTHORIZED as HttpError and ResponseParseError do);
 * `status` stays on AuthError as a deprecated alias for 0.x. The other fields keep one name
 * each, across the classes that carry them.
 */
import { AuthError, HttpError, ResponseParseError, isWeappAuthError } from 'weapp-auth'
import { BASE, setup } from './helpers/setup'

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error & Record<string, unknown>)

/** Every field name an error carries, across the classes. */
const FIELDS = ['name', 'code', 'statusCode', 'data', 'errMsg', 'errno', 'method', 'url', 'timeout', 'reason', 'snippet', 'cause']

describe('the HTTP status is statusCode on every error that carries one', () => {
  test('LOGIN_REJECTED (a 4xx or 5xx from the login endpoint)', async () => {
    const { server, auth } = setup()
    server.loginStatus = 503
    const err = await failure(auth.login())
    expect(err).toBeInstanceOf(AuthError)
    expect(err).toMatchObject({ code: 'LOGIN_REJECTED', statusCode: 503 })
    expect(Object.keys(err!)).not.toContain('status')
    expect(JSON.parse(JSON.stringify(err))).toMatchObject({ statusCode: 503 }) // what a log serializes
  })

  test('BAD_LOGIN_RESPONSE (2xx without a token, or not JSON)', async () => {
    const { fake, auth } = setup()
    fake.setHandler(() => ({ statusCode: 200, data: { ok: true } }))
    expect(await failure(auth.login())).toMatchObject({ code: 'BAD_LOGIN_RESPONSE', statusCode: 200 })
    fake.setHandler(() => ({ statusCode: 200, data: '<html>' }))
    expect(await failure(auth.login())).toMatchObject({ code: 'BAD_LOGIN_RESPONSE', statusCode: 200 })
  })

  test('UNAUTHORIZED (still 401 after one renewal)', async () => {
    const { server, auth } = setup()
    server.alwaysUnauthorized = true
    expect(await failure(auth.get('/api/user/me'))).toMatchObject({ code: 'UNAUTHORIZED', statusCode: 401 })
  })

  test('HttpError and ResponseParseError', async () => {
    const { fake, server, auth } = setup()
    server.route('GET', '/api/gone', () => ({ statusCode: 410, data: { error: 'gone' } }))
    server.route('GET', '/api/html', () => ({ statusCode: 200, data: '<html>' }))
    const gone = await failure(auth.get('/api/gone'))
    expect(gone).toBeInstanceOf(HttpError)
    expect(gone).toMatchObject({ statusCode: 410 })
    const html = await failure(auth.get('/api/html'))
    expect(html).toBeInstanceOf(ResponseParseError)
    expect(html).toMatchObject({ statusCode: 200 })
    void fake
  })

  test('status on AuthError is a deprecated alias of statusCode (read-only, not an own field)', async () => {
    const { server, auth } = setup()
    server.loginStatus = 500
    const err = await failure(auth.login())
    if (!isWeappAuthError(err, 'LOGIN_REJECTED')) throw err
    expect(err.statusCode).toBe(500)
    expect(err.status).toBe(500)
    expect(new AuthError('CONFIG', 'x').status).toBeUndefined()
  })
})

test('every field of every error is one of the documented names', async () => {
  const { fake, server, auth } = setup({ auth: { refresh: { url: '/api/auth/refresh' }, timeout: 200 } })
  server.route('GET', '/api/gone', () => ({ statusCode: 404, data: {} }))
  server.route('GET', '/api/html', () => ({ statusCode: 200, data: '<html>' }))
  server.route('GET', '/api/slow', () => ({ hang: true }))
  server.route('GET', '/api/down', () => ({ networkError: 'net::ERR_CONNECTION_RESET' }))
  const errors: Array<Error & Record<string, unknown>> = []
  const collect = (p: Promise<unknown>) => failure(p).then((e) => e && errors.push(e))
  await collect(auth.get('/api/gone'))
  await collect(auth.get('/api/html'))
  await collect(auth.get('/api/slow'))
  await collect(auth.get('/api/down'))
  const controller = { aborted: true, reason: 'stop', addEventListener() {}, removeEventListener() {} }
  await collect(auth.get('/api/gone', { signal: controller as never }))
  server.alwaysUnauthorized = true
  await collect(auth.get('/api/user/me'))
  server.loginStatus = 500
  auth.logout()
  await collect(auth.login())
  fake.behavior.login = 'fail'
  await collect(auth.login())
  expect(errors.map((e) => e.code)).toEqual(['HTTP_ERROR', 'BAD_RESPONSE', 'TIMEOUT', 'NETWORK_ERROR', 'ABORTED', 'UNAUTHORIZED', 'LOGIN_REJECTED', 'WX_LOGIN_FAILED'])
  for (const e of errors) {
    for (const key of Object.keys(e)) expect([e.code, key, FIELDS.indexOf(key) >= 0]).toEqual([e.code, key, true])
  }
  void BASE
})

describe('a 404 or 405 says which setting holds the URL (shown without its query string or user info)', () => {
  const serve = (status: number) => () => ({ statusCode: status, data: { error: 'no such route' } })

  test.each([404, 405])('login.url: HTTP %i', async (status) => {
    const { fake, auth } = setup({ auth: { baseURL: 'https://app:s3cret@api.example.com', login: { url: '/api/login?key=K3Y' } } })
    fake.setHandler(serve(status))
    const err = await failure(auth.login())
    expect(err).toMatchObject({ code: 'LOGIN_REJECTED', statusCode: status })
    expect(err!.message).toBe(`The login endpoint https://api.example.com/api/login answered HTTP ${status}. Check login.url.`)
  })

  test('refresh.url: HTTP 404 (the failed refresh is an error event; a login follows)', async () => {
    const { fake, server, auth, errors } = setup({ auth: { refresh: { url: '/api/auth/refreshh?v=2' } } })
    await auth.login()
    const handler = server.handler
    fake.setHandler((req) => (req.path === '/api/auth/refreshh' ? serve(404)() : handler(req)))
    server.expireTokens()
    await auth.get('/api/user/me')
    expect(errors.map((e) => e.message)).toEqual([`The refresh endpoint ${BASE}/api/auth/refreshh answered HTTP 404. Check refresh.url.`])
  })

  test('other statuses keep their advice', async () => {
    const { fake, auth } = setup()
    fake.setHandler(serve(403))
    expect((await failure(auth.login()))!.message).toMatch(/answered HTTP 403\. See `data`\.$/)
    fake.setHandler(serve(502))
    expect((await failure(auth.login()))!.message).toMatch(/answered HTTP 502\. Try again later\.$/)
  })
})
