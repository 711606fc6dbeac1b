/**
 * Issue 5 (moved to `weapp-auth/open` in issue 11): phone number, avatar and nickname helpers
 * against the fake wx and server, called as standalone functions that take the instance.
 */
import { AuthError, HttpError, type Auth } from 'weapp-auth'
import { bindPhoneNumber, normalizeNickname, updateProfile, uploadAvatar } from 'weapp-auth/open'
import { avatarEvent, phoneEvent, type FakeWx } from 'weapp-auth/testing'
import { setup } from './helpers/setup'

function withProfileRoutes() {
  const ctx = setup()
  const profiles: Record<string, unknown> = {}
  ctx.server.route('POST', '/api/auth/phone', (req, { userId }) => ({ data: { phoneNumber: '138****0000', userId, got: req.data } }))
  ctx.server.route('POST', '/api/upload/avatar', (req) => ({ data: { url: 'https://cdn.example.com/a/' + req.file!.size, field: req.name } }))
  ctx.server.route('POST', '/api/user/profile', (req, { userId }) => {
    profiles[userId as string] = req.data
    return { data: { ok: true, profile: req.data } }
  })
  return { ...ctx, profiles }
}

describe('bindPhoneNumber', () => {
  test('ok → posts the code and the host (not the encryptedData / iv the event also has), with the token, and resolves with the answer', async () => {
    const { auth, fake } = withProfileRoutes()
    const res = await bindPhoneNumber<{ phoneNumber: string; got: unknown }>(auth, phoneEvent.ok('P-CODE'))
    expect(res).toMatchObject({ phoneNumber: '138****0000', got: { code: 'P-CODE', platform: 'weixin' } })
    const sent = fake.requests.find((r) => r.path === '/api/auth/phone')!
    expect(sent.data).toEqual({ code: 'P-CODE', platform: 'weixin' })
    expect(sent.header.Authorization).toBe('Bearer ' + auth.getToken())
  })

  test.each([
    ['denied', phoneEvent.denied(), 'PHONE_DENIED'],
    ['quota exhausted (errno 1400001)', phoneEvent.quotaExhausted(), 'PHONE_QUOTA'],
    ['an ok event with no credential at all', { detail: { errMsg: 'getPhoneNumber:ok' } }, 'PHONE_NO_CODE'],
    ['another failure', { detail: { errMsg: 'getPhoneNumber:fail system error', errno: 102 } }, 'PHONE_FAILED'],
  ])('%s → %s without any request', async (_n, event, code) => {
    const { auth, fake } = withProfileRoutes()
    const err = (await bindPhoneNumber(auth, event).catch((e) => e)) as AuthError
    expect(err).toBeInstanceOf(AuthError)
    expect(err.code).toBe(code)
    expect(fake.calls.request).toBe(0)
    expect(fake.calls.login).toBe(0)
  })

  // Issue 12: the server decrypts what older base libraries hand out (it holds the session key).
  test('no code on an old base library → posts encryptedData and iv for the server to decrypt', async () => {
    const { auth, fake } = withProfileRoutes()
    await bindPhoneNumber(auth, phoneEvent.noCode())
    expect(fake.requests.find((r) => r.path === '/api/auth/phone')!.data).toEqual({ encryptedData: 'ENCRYPTED', iv: 'IV', platform: 'weixin' })
  })

  test('the older "fail:user deny" spelling counts as a denial too', async () => {
    const { auth } = withProfileRoutes()
    await expect(bindPhoneNumber(auth, { detail: { errMsg: 'getPhoneNumber:fail:user deny' } })).rejects.toMatchObject({ code: 'PHONE_DENIED' })
  })
})

describe('uploadAvatar', () => {
  test('a 401 in the middle → one re-login and the upload retried with the new token', async () => {
    const { auth, fake, server } = withProfileRoutes()
    const first = await auth.login()
    server.expireTokens()
    const res = await uploadAvatar<{ url: string; field: string }>(auth, avatarEvent(fake, 'abcdef'))
    expect(res).toEqual({ url: 'https://cdn.example.com/a/6', field: 'file' })
    const ups = fake.requests.filter((r) => r.kind === 'upload')
    expect(ups.map((r) => r.header.Authorization)).toEqual(['Bearer ' + first.token, 'Bearer ' + auth.getToken()])
    expect(fake.calls.login).toBe(2)
  })

  test('a temp path works as well as the event; name and url are options', async () => {
    const { auth, fake, server } = withProfileRoutes()
    server.route('POST', '/upload', (req) => ({ data: { field: req.name, extra: req.formData } }))
    const path = fake.addTempFile('x')
    await expect(uploadAvatar(auth, path, { url: '/upload', name: 'avatar', formData: { kind: 'avatar' } })).resolves.toEqual({ field: 'avatar', extra: { kind: 'avatar' } })
  })

  // Every host names its local files its own way; all of them upload (issue 11).
  test.each([
    ['wxfile://tmp_', 'WeChat on a device'],
    ['http://tmp/', 'WeChat DevTools'],
    ['ttfile://temp/', 'Douyin'],
    ['https://resource/', 'an https-shaped local path (no domain: Alipay-style)'],
    ['/var/mobile/sandbox/tmp/', 'a plain sandbox path'],
  ])('a local path %s… (%s) is uploaded as is', async (prefix) => {
    const { auth, fake, server } = withProfileRoutes()
    server.route('POST', '/upload', (req) => ({ data: { size: req.file!.size } }))
    const path = fake.addTempFile('abc', 'jpeg', prefix)
    await expect(uploadAvatar(auth, { detail: { avatarUrl: path } }, { url: '/upload' })).resolves.toEqual({ size: 3 })
    const sent = fake.requests.filter((r) => r.kind === 'upload')
    expect(sent.map((r) => r.filePath)).toEqual([path])
  })

  test.each([
    ['', 'empty', /needs the chooseavatar event/],
    ['https://thirdwx.qlogo.cn/x.png', 'a remote URL', /remote URL.*updateProfile\(auth, \{ avatarUrl \}\)/],
    ['http://10.0.0.2/a.png', 'a remote address', /remote URL/],
    ['https://cdn:8443/a.png', 'a host with a port', /remote URL/],
  ])('%s (%s) → INVALID_INPUT, nothing sent', async (path, _name, message) => {
    const { auth, fake } = withProfileRoutes()
    const err = (await uploadAvatar(auth, { detail: { avatarUrl: path } }).catch((e) => e)) as AuthError
    expect(err).toBeInstanceOf(AuthError)
    expect(err).toMatchObject({ code: 'INVALID_INPUT' })
    expect(err.message).toMatch(message)
    expect(fake.calls.uploadFile).toBe(0)
  })
})

describe('the instance argument', () => {
  test.each([
    ['bindPhoneNumber', () => bindPhoneNumber(phoneEvent.ok('C') as never, undefined as never)],
    ['uploadAvatar', () => uploadAvatar('wxfile://tmp_a' as never, undefined as never)],
    ['updateProfile', () => updateProfile({ nickName: 'a' } as never, undefined as never)],
  ])('%s without the instance (the old one-argument form) → INVALID_INPUT naming the new form', async (name, run) => {
    const err = (await run().catch((e) => e)) as AuthError
    expect(err).toBeInstanceOf(AuthError)
    expect(err).toMatchObject({ code: 'INVALID_INPUT' })
    expect(err.message).toContain(name + '(auth, …)')
  })
})

describe('nickname and updateProfile', () => {
  test('normalizeNickname trims, rejects empty and over-long names', () => {
    expect(normalizeNickname('  小明 ')).toBe('小明')
    expect(normalizeNickname('a\u3000 b')).toBe('a b')
    for (const bad of ['', '   ', '\u3000']) expect(() => normalizeNickname(bad)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
    expect(() => normalizeNickname('字'.repeat(21))).toThrow(/21 characters; at most 20/)
    expect(normalizeNickname('字'.repeat(21), { maxLength: 30 })).toHaveLength(21)
    expect(normalizeNickname('😀'.repeat(20))).toHaveLength(40) // counted as 20 characters, not 40 code units
    expect(() => normalizeNickname(undefined)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
  })

  test('updateProfile sends the normalized profile with the token', async () => {
    const { auth, profiles } = withProfileRoutes()
    const res = await updateProfile(auth, { nickName: ' 小明 ', avatarUrl: 'https://cdn.example.com/a/6' })
    expect(res).toEqual({ ok: true, profile: { nickName: '小明', avatarUrl: 'https://cdn.example.com/a/6' } })
    expect(profiles.u1).toEqual({ nickName: '小明', avatarUrl: 'https://cdn.example.com/a/6' })
  })

  test('updateProfile with an empty nickname or nothing at all → INVALID_INPUT, nothing sent', async () => {
    const { auth, fake } = withProfileRoutes()
    await expect(updateProfile(auth, { nickName: '  ' })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    await expect(updateProfile(auth, {})).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    expect(fake.calls.request).toBe(0)
  })
})

describe('a 404 or 405 from a helper\'s endpoint names the option that sets its URL', () => {
  test.each([
    ['bindPhoneNumber', 404, (auth: Auth) => bindPhoneNumber(auth, phoneEvent.ok('C'), { url: '/api/phone?v=1' }), 'POST https://api.example.com/api/phone'],
    ['updateProfile', 405, (auth: Auth) => updateProfile(auth, { nickName: 'Ann' }), 'POST https://api.example.com/api/user/profile'],
    ['uploadAvatar', 404, (auth: Auth, fake: FakeWx) => uploadAvatar(auth, avatarEvent(fake)), 'POST https://api.example.com/api/upload/avatar'],
  ] as const)('%s: HTTP %i', async (helper, status, run, request) => {
    const { fake, server, auth } = setup()
    const handler = server.handler
    fake.setHandler((req) => (req.path === '/api/auth/login' ? handler(req) : { statusCode: status, data: {} }))
    const err = await run(auth, fake).then(() => undefined, (e: Error) => e)
    expect(err).toBeInstanceOf(HttpError)
    expect(err).toMatchObject({ statusCode: status })
    expect(err!.message).toBe(`${request} answered HTTP ${status}. Check ${helper}'s url option.`)
  })

  test('other statuses are left as they are', async () => {
    const { fake, server, auth } = setup()
    const handler = server.handler
    fake.setHandler((req) => (req.path === '/api/auth/login' ? handler(req) : { statusCode: 500, data: {} }))
    const err = await updateProfile(auth, { nickName: 'Ann' }).then(() => undefined, (e: Error) => e)
    expect(err!.message).toBe('POST https://api.example.com/api/user/profile answered HTTP 500.')
  })
})
