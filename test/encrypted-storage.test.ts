/**
 * Issue 7: `storage: encryptedStorage()` (weapp-auth/storage; issue 11 made it an opt-in import). The record lives in WeChat's encrypted storage (async only,
 * base library 2.21.3+); it loads inside checkAndLogin() and before the first request, so
 * getToken() is null until then. Older base libraries fall back to plain storage with one
 * warning. A plain record from an earlier launch is migrated.
 */
import { createAuth, type Auth, type AuthOptions } from 'weapp-auth'
import { encryptedStorage, legacyToken } from 'weapp-auth/storage'
import { createFakeAuthServer, createFakeWx, type FakeWx } from 'weapp-auth/testing'
import { BASE } from './helpers/setup'

const KEY = 'weapp-auth'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function world(wxOptions: Parameters<typeof createFakeWx>[0] = {}) {
  const fake = createFakeWx(wxOptions)
  const server = createFakeAuthServer(fake)
  fake.setHandler(server.handler)
  const errors: Error[] = []
  const launch = (extra: Partial<AuthOptions> = {}): Auth => {
    const auth = createAuth(Object.assign({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx, storage: encryptedStorage() }, extra) as AuthOptions)
    auth.on('error', (e) => errors.push(e))
    return auth
  }
  return { fake, server, launch, errors }
}

/** What the record looks like through each API of the fake. */
function readAll(fake: FakeWx, key = KEY) {
  const sync = fake.wx.getStorageSync(key)
  const read = (encrypt: boolean) =>
    new Promise((resolve) => fake.wx.getStorage({ key, encrypt, success: (r: { data: unknown }) => resolve(r.data), fail: (e: { errMsg: string }) => resolve('FAIL ' + e.errMsg) }))
  return Promise.all([sync, read(false), read(true)])
}

describe('the fake models encrypted storage', () => {
  test('a value written encrypted is unreadable through the sync API or without encrypt: true', async () => {
    const fake = createFakeWx()
    await new Promise((r) => fake.wx.setStorage({ key: 'k', data: '{"v":1,"token":"SECRET"}', encrypt: true, success: r }))
    const [sync, plain, decrypted] = await readAll(fake, 'k')
    expect(String(sync)).not.toContain('SECRET')
    expect(String(plain)).not.toContain('SECRET')
    expect(decrypted).toBe('{"v":1,"token":"SECRET"}')
    expect(fake.storageSnapshot()).toEqual({ k: { encrypted: true } })
  })

  test('a plain value read with encrypt: true fails; the per-key limit is smaller', async () => {
    const fake = createFakeWx()
    fake.wx.setStorageSync('p', { a: 1 })
    const [, , decrypted] = await readAll(fake, 'p')
    expect(decrypted).toMatch(/^FAIL .*decrypt/)
    const big = await new Promise((r) => fake.wx.setStorage({ key: 'b', data: 'x'.repeat(1024 * 1024 + 1), encrypt: true, success: () => r('ok'), fail: (e: { errMsg: string }) => r(e.errMsg) }))
    expect(big).toMatch(/exceed/)
  })

  test('before 2.21.3, encrypt is ignored and canIUse says so', () => {
    const fake = createFakeWx({ baseLibrary: '2.20.1' })
    expect(fake.wx.canIUse('setStorage.object.encrypt')).toBe(false)
  })
})

describe('encryptedStorage() on base library 2.21.3+', () => {
  test('the record is written encrypted; nothing readable in plain storage', async () => {
    const { fake, launch } = world()
    const auth = launch()
    const s = await auth.checkAndLogin()
    await sleep(5) // encrypted writes are async
    expect(fake.storageSnapshot()).toEqual({ [KEY]: { encrypted: true } })
    const [sync, plain, decrypted] = await readAll(fake)
    expect(JSON.stringify([sync, plain])).not.toContain(s.token)
    expect(JSON.parse(decrypted as string)).toMatchObject({ v: 1, token: s.token })
    expect(fake.calls.setStorageSync).toBe(0)
  })

  test('next launch: getToken() is null until the record loads; checkAndLogin loads it without a login', async () => {
    const { fake, launch } = world()
    const first = await launch().checkAndLogin()
    await sleep(5)
    fake.resetCounters()
    const auth = launch()
    expect(auth.getToken()).toBeNull() // documented: async storage has not loaded yet
    const s = await auth.checkAndLogin()
    expect(s.token).toBe(first.token)
    expect(auth.getToken()).toBe(first.token)
    expect(fake.calls.login).toBe(0)
    expect(fake.requests).toHaveLength(0)
  })

  test('next launch: the first request waits for the record and sends the stored token', async () => {
    const { fake, launch } = world()
    const first = await launch().checkAndLogin()
    await sleep(5)
    fake.resetCounters()
    const auth = launch()
    await expect(auth.get('/api/user/me')).resolves.toMatchObject({ id: 'u1' })
    expect(fake.calls.login).toBe(0)
    expect(fake.requests.map((r) => r.header.Authorization)).toEqual(['Bearer ' + first.token])
  })

  test('logout() removes the encrypted record; login right after logout leaves the newest state (writes are ordered)', async () => {
    const { fake, launch } = world()
    const auth = launch()
    await auth.login()
    auth.logout()
    await sleep(5)
    expect(fake.storageSnapshot()).toEqual({})
    const s = await auth.login()
    auth.logout()
    const s2 = await auth.login()
    await sleep(5)
    expect(s2.token).not.toBe(s.token)
    const [, , decrypted] = await readAll(fake)
    expect(JSON.parse(decrypted as string)).toMatchObject({ token: s2.token })
  })

  test('a record too large for encrypted storage: STORAGE_FAILED, the session works in memory', async () => {
    const { fake, launch, errors } = world()
    fake.setHandler((r) => (r.path === '/api/auth/login' ? { data: { token: 'tok-big', user: { bio: 'x'.repeat(1024 * 1024) } } } : { data: { ok: true } }))
    const auth = launch()
    await auth.login()
    await sleep(5)
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['STORAGE_FAILED'])
    expect(auth.getToken()).toBe('tok-big')
    expect(fake.storageSnapshot()).toEqual({})
  })

  test('a corrupt encrypted record: STORAGE_CORRUPT, removed, logged out', async () => {
    const { fake, launch, errors } = world()
    await new Promise((r) => fake.wx.setStorage({ key: KEY, data: '{"v":1,"tok', encrypt: true, success: r }))
    const auth = launch()
    await auth.checkAndLogin()
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['STORAGE_CORRUPT'])
    expect(fake.calls.login).toBe(1)
    await sleep(5)
    const [, , decrypted] = await readAll(fake)
    expect(JSON.parse(decrypted as string)).toMatchObject({ token: auth.getToken() })
  })
})

describe('switching between launches', () => {
  test('plain → encrypted: the plain record is migrated (no login) and no plain copy remains', async () => {
    const { fake, launch } = world()
    const plain = launch({ storage: undefined })
    const s = await plain.checkAndLogin()
    expect(fake.storageSnapshot()[KEY]).toMatchObject({ v: 1, token: s.token })
    fake.resetCounters()
    // the next version of the app turns encryption on
    const enc = launch()
    const again = await enc.checkAndLogin()
    expect(again.token).toBe(s.token)
    expect(fake.calls.login).toBe(0)
    await sleep(5)
    expect(fake.storageSnapshot()).toEqual({ [KEY]: { encrypted: true } })
    const [sync] = await readAll(fake)
    expect(JSON.stringify(sync)).not.toContain(s.token)
    // and the launch after that reads the encrypted record
    fake.resetCounters()
    expect((await launch().checkAndLogin()).token).toBe(s.token)
    expect(fake.calls.login).toBe(0)
  })

  test('legacy plain token → encrypted record', async () => {
    const { fake, launch } = world()
    fake.wx.setStorageSync('token', 'legacy-tok-123')
    const auth = launch({ migrate: legacyToken('token') })
    expect(auth.getToken()).toBeNull()
    await auth.checkAndLogin()
    expect(auth.getToken()).toBe('legacy-tok-123')
    await sleep(5)
    expect(fake.storageSnapshot()).toEqual({ [KEY]: { encrypted: true } })
  })

  test('encrypted → plain (encryption turned off again): the unreadable record is discarded as corrupt, one fresh login', async () => {
    const { fake, launch, errors } = world()
    await launch().checkAndLogin()
    await sleep(5)
    const plain = launch({ storage: undefined })
    expect(plain.getToken()).toBeNull()
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['STORAGE_CORRUPT'])
    await plain.checkAndLogin()
    expect(fake.calls.login).toBe(2)
    expect(fake.storageSnapshot()[KEY]).toMatchObject({ v: 1, token: plain.getToken() })
  })
})

describe('fallback on older base libraries', () => {
  test.each([
    ['base library 2.20.1', { baseLibrary: '2.20.1' }],
    ['no wx.getStorage / wx.setStorage', { missing: ['getStorage', 'setStorage'] }],
  ])('%s: plain storage, one warning per instance, getToken() synchronous', async (_n, wxOptions) => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const { fake, launch } = world(wxOptions)
      const auth = launch()
      const s = await auth.checkAndLogin()
      await auth.login()
      auth.logout()
      await auth.login()
      const warnings = warn.mock.calls.filter((c) => String(c[0]).includes('encryptedStorage()'))
      expect(warnings).toHaveLength(1)
      expect(String(warnings[0][0])).toMatch(/2\.21\.3/)
      expect(fake.storageSnapshot()[KEY]).toMatchObject({ v: 1, token: auth.getToken() })
      expect(s.token).toBeTruthy()
      // next launch: the plain record is there synchronously
      expect(launch().getToken()).toBe(auth.getToken())
    } finally {
      warn.mockRestore()
    }
  })
})
