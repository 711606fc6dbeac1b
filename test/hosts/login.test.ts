/**
 * Issue 12: login and refresh on every host, through the public API over each host's fake.
 * The login request says where the code comes from (`platform`, plus Douyin's anonymous code),
 * each code is used once, and a refresh rotates the refresh token or falls back to one full login.
 */
import { LOGIN, REFRESH, EACH_HOST, KEY, world } from './hosts'

describe.each(EACH_HOST)('login on %s', (_label, c) => {
  test('20 concurrent logins: one host login, one login request carrying the host code and the host name; the instance knows its host', async () => {
    const w = world(c, { fake: { latency: 3 } })
    expect(w.auth.platform.host).toBe(c.host)
    const sessions = await Promise.all(Array.from({ length: 20 }, () => w.auth.login()))
    expect(new Set(sessions.map((s) => s.token)).size).toBe(1)
    expect(w.fake.calls[c.loginCall]).toBe(1)
    const [req] = w.sent(LOGIN)
    expect(w.sent(LOGIN)).toHaveLength(1)
    const expected: Record<string, unknown> = { code: w.fake.issuedCodes[0], platform: c.host }
    if (c.host === 'douyin') expected.anonymousCode = (w.fake as unknown as { issuedAnonymousCodes: string[] }).issuedAnonymousCodes[0]
    expect(req.data).toEqual(expected)
    expect(w.server.stats.rejectedCodes).toBe(0)
    expect(w.fake.storageSnapshot()).toEqual({ [KEY]: expect.objectContaining({ v: 1, token: sessions[0].token }) })
  })

  test('login.data is kept, every attempt sends a fresh code (the server refuses a reused one)', async () => {
    const w = world(c, { auth: { login: { url: LOGIN, data: { appVersion: '1.2.0' } } } })
    for (let i = 0; i < 3; i++) await w.auth.login()
    const bodies = w.sent(LOGIN).map((r) => r.data as Record<string, unknown>)
    expect(bodies.map((b) => b.code)).toEqual(w.fake.issuedCodes)
    expect(new Set(bodies.map((b) => b.code)).size).toBe(3)
    expect(bodies.every((b) => b.appVersion === '1.2.0' && b.platform === c.host)).toBe(true)
    if (c.host === 'douyin') expect(new Set(bodies.map((b) => b.anonymousCode)).size).toBe(3)
    expect(w.server.stats.rejectedCodes).toBe(0)
    expect(w.server.stats.logins).toBe(3)
  })

  test("codeIn: 'query': code, platform (and Douyin's anonymousCode) in the URL, no body", async () => {
    const w = world(c, { auth: { login: { url: LOGIN, codeIn: 'query' } } })
    await w.auth.login()
    const [req] = w.sent(LOGIN)
    expect(req.data).toBeUndefined()
    expect(req.method).toBe('POST')
    const expected: Record<string, string> = { code: w.fake.issuedCodes[0], platform: c.host }
    if (c.host === 'douyin') expected.anonymousCode = (w.fake as unknown as { issuedAnonymousCodes: string[] }).issuedAnonymousCodes[0]
    expect(req.query).toEqual(expected)
    expect(w.server.stats.logins).toBe(1)
  })

  test('the next launch reuses the stored session: no request, no host login; the host session check only where the host has one', async () => {
    const w = world(c)
    const first = await w.auth.checkAndLogin()
    w.fake.resetCounters()
    for (const k of Object.keys(w.fake.calls)) w.fake.calls[k] = 0
    const again = w.relaunch()
    expect((await again.checkAndLogin()).token).toBe(first.token)
    expect(w.fake.requests).toHaveLength(0)
    expect(w.fake.calls[c.loginCall]).toBe(0)
    expect(w.fake.calls.checkSession || 0).toBe(c.checksSession ? 1 : 0)
    expect(typeof w.platform.checkSession).toBe(c.checksSession ? 'function' : 'undefined')
  })

  if (c.checksSession) {
    test('the host says its login session is gone: checkAndLogin logs in again', async () => {
      const w = world(c)
      const first = await w.auth.checkAndLogin()
      w.fake.behavior.checkSession = false
      const second = await w.relaunch().checkAndLogin()
      expect(second.token).not.toBe(first.token)
      expect(w.fake.calls[c.loginCall]).toBe(2)
    })
  } else {
    test('no host session check: a stored token is trusted until the server refuses it, then one login renews it', async () => {
      const w = world(c)
      await w.auth.checkAndLogin()
      w.server.expireTokens()
      const next = w.relaunch()
      await next.checkAndLogin()
      expect(w.fake.calls[c.loginCall]).toBe(1)
      await expect(next.get('/api/items', { data: { i: 1 } })).resolves.toMatchObject({ i: '1' })
      expect(w.fake.calls[c.loginCall]).toBe(2)
    })
  }

  if (c.guestLogin) {
    test('a user not logged in to the host app: empty code plus the anonymous code, the server logs in a guest', async () => {
      const w = world(c)
      w.fake.behavior.login = 'no-code'
      const s = await w.auth.login()
      const tt = w.fake as unknown as { issuedAnonymousCodes: string[] }
      expect(w.sent(LOGIN).map((r) => r.data)).toEqual([{ code: '', anonymousCode: tt.issuedAnonymousCodes[0], platform: 'douyin' }])
      expect(w.auth.getToken()).toBe(s.token)
      await expect(w.auth.get('/api/items', { data: { i: 1 } })).resolves.toMatchObject({ i: '1' })
      // the anonymous code is single use: the server refused nothing, and a second guest login sends a new one
      await w.auth.login()
      expect(new Set(w.sent(LOGIN).map((r) => (r.data as { anonymousCode: string }).anonymousCode)).size).toBe(2)
      expect(w.server.stats.rejectedCodes).toBe(0)
      expect(w.fake.issuedCodes).toEqual([])
    })
  }
})

describe.each(EACH_HOST)('refresh on %s', (_label, c) => {
  test('a burst on an expired token: one refresh rotates the refresh token, no host login; the next launch refreshes with the rotated one', async () => {
    const w = world(c, { auth: { refresh: { url: REFRESH } }, fake: { latency: () => 1 + Math.floor(Math.random() * 4) } })
    const first = await w.auth.login()
    w.server.expireTokens()
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => w.auth.get<{ i: string }>('/api/items', { data: { i } })))
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: 12 }, (_, i) => String(i)))
    expect(w.server.stats.refreshes).toBe(1)
    expect(w.sent(REFRESH).map((r) => r.data)).toEqual([{ refreshToken: first.refreshToken }])
    expect(w.fake.calls[c.loginCall]).toBe(1)
    const now = w.auth.getSession()!
    expect(now.refreshToken).toBeTruthy()
    expect(now.refreshToken).not.toBe(first.refreshToken)
    expect(w.fake.storageSnapshot()[KEY]).toMatchObject({ token: now.token, refreshToken: now.refreshToken })
    // the next launch finds the rotated refresh token (the server deleted the first on use) and renews with it
    w.server.expireTokens()
    const next = w.relaunch()
    await expect(next.get('/api/items', { data: { i: 'x' } })).resolves.toMatchObject({ i: 'x' })
    expect(w.sent(REFRESH).map((r) => r.data)).toEqual([{ refreshToken: first.refreshToken }, { refreshToken: now.refreshToken }])
    expect(w.server.stats.refreshes).toBe(2)
    expect(w.fake.calls[c.loginCall]).toBe(1)
  })

  test('a refused refresh token: one full login with a fresh host code, requests retried once', async () => {
    const w = world(c, { auth: { refresh: { url: REFRESH } } })
    const first = await w.auth.login()
    w.server.expireTokens()
    w.server.revokeRefreshTokens()
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => w.auth.get('/api/items', { data: { i } })))
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true)
    expect(w.sent(REFRESH)).toHaveLength(1)
    expect(w.fake.calls[c.loginCall]).toBe(2)
    expect(w.sent(LOGIN).map((r) => (r.data as { platform: string }).platform)).toEqual([c.host, c.host])
    expect(w.auth.getToken()).not.toBe(first.token)
    expect(w.errors.map((e) => (e as { code?: string }).code)).toEqual(['LOGIN_REJECTED'])
    const perRequest = new Map<string, number>()
    for (const r of w.sent('/api/items')) perRequest.set(r.query.i, (perRequest.get(r.query.i) || 0) + 1)
    expect(Array.from(perRequest.values()).every((n) => n <= 2)).toBe(true)
  })
})
