/**
 * Every setting of the fakes that the "Testing your pages" guide (docs/guide/testing.md) documents, on every host's fake
 * (wx, qq, tt, my, uni and Taro share one engine): set as the guide writes it, it does what the
 * guide says; an object of settings can be assigned as a whole (the fields left out go back to
 * their defaults); and a wrong value throws a TypeError naming the setting and the values it
 * takes, instead of being ignored.
 */
import { isWeappAuthError } from 'weapp-auth'
import { ensurePrivacyAuthorized, ensureScope, getAuthSetting } from 'weapp-auth/open'
import { createFakeMy, createFakeTt, createFakeUni, createFakeWx } from 'weapp-auth/testing'
import { BASE, EACH_HOST, world, type World } from './hosts/hosts'

const CAMERA = 'scope.camera'
/** The host's own key for the camera scope (Alipay drops the `scope.` prefix). */
const camera = (w: World) => (w.c.host === 'alipay' ? 'camera' : CAMERA)
const on = (w: World) => ({ platform: w.platform })

/** `fn` throws a TypeError whose message names `setting` and matches `takes`. */
function refuses(fn: () => unknown, setting: string, takes: RegExp): void {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown).toBeInstanceOf(TypeError)
  expect((thrown as Error).message.startsWith(setting + ' ')).toBe(true)
  expect((thrown as Error).message).toMatch(takes)
}

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e) => (isWeappAuthError(e) ? e.code : String(e)))

describe.each(EACH_HOST)('%s', (_label, c) => {
  test("fake.behavior.login = 'fail' | 'hang' | 'no-code'", async () => {
    const w = world(c)
    w.fake.behavior.login = 'fail'
    expect(await code(w.auth.login())).toBe('WX_LOGIN_FAILED')
    w.fake.behavior = {} // as a whole: every field back to its default
    expect(w.fake.behavior.login).toBe('ok')
    expect(await code(w.auth.login())).toBe('ok')
    w.fake.behavior = { login: 'fail' }
    expect(await code(w.relaunch().login())).toBe('WX_LOGIN_FAILED')
    refuses(() => (w.fake.behavior.login = 'timeout' as never), 'fake.behavior.login', /takes 'ok', 'fail', 'hang' or 'no-code', got 'timeout'/)
    refuses(() => (w.fake.behavior = { logn: 'fail' } as never), 'fake.behavior', /has no logn: its fields are login, checkSession, checkSessionDelay, storageRead, storageWrite/)
    refuses(() => (w.fake.behavior = { login: 'ok', checkSession: 'no' } as never), 'fake.behavior.checkSession', /takes true or false/)
    expect(w.fake.behavior.login).toBe('fail') // a refused assignment changes nothing
  })

  test('fake.behavior.checkSession = false', async () => {
    const w = world(c)
    await w.auth.login()
    const logins = w.fake.calls[c.loginCall]
    w.fake.behavior.checkSession = false
    await w.relaunch().checkAndLogin()
    // A host that cannot tell (Alipay) keeps the stored session; the others log in again.
    expect(w.fake.calls[c.loginCall] - logins).toBe(c.checksSession ? 1 : 0)
    w.fake.behavior = { checkSession: true }
    await w.relaunch().checkAndLogin()
    expect(w.fake.calls[c.loginCall] - logins).toBe(c.checksSession ? 1 : 0)
    refuses(() => (w.fake.behavior.checkSession = 'false' as never), 'fake.behavior.checkSession', /takes true or false, got 'false'/)
  })

  test('fake.behavior.checkSessionDelay = 100 (ms before wx.checkSession answers)', async () => {
    const w = world(c)
    await w.auth.login()
    w.fake.behavior.checkSessionDelay = 100
    const started = Date.now()
    await w.relaunch().checkAndLogin()
    expect(Date.now() - started >= 90).toBe(c.checksSession)
    refuses(() => (w.fake.behavior.checkSessionDelay = -1), 'fake.behavior.checkSessionDelay', /takes a number of ms ≥ 0, got -1/)
    refuses(() => (w.fake.behavior = { checkSessionDelay: '100' } as never), 'fake.behavior.checkSessionDelay', /got '100'/)
  })

  test("fake.behavior.storageRead / storageWrite = 'throw'", async () => {
    const w = world(c)
    w.fake.behavior.storageWrite = 'throw'
    await w.auth.login() // the session is kept in memory
    expect(w.auth.getToken()).toBeTruthy()
    expect(w.errors.map((e) => (e as { code?: string }).code)).toContain('STORAGE_FAILED')
    w.fake.behavior = { storageRead: 'throw' }
    expect(w.fake.behavior.storageWrite).toBe('ok')
    const errors: string[] = []
    const next = w.relaunch()
    next.on('error', (e) => errors.push(isWeappAuthError(e) ? e.code : e.message))
    await next.checkAndLogin()
    expect(errors).toContain('STORAGE_FAILED')
    refuses(() => (w.fake.behavior.storageWrite = 'fail' as never), 'fake.behavior.storageWrite', /takes 'ok', 'throw' or 'hang', got 'fail'/)
  })

  test("fake.behavior.storageRead / storageWrite = 'hang' (async reads and writes never call back)", async () => {
    const w = world(c)
    w.fake.behavior = { storageRead: 'hang', storageWrite: 'hang' }
    const answered: string[] = []
    const args = (name: string) => ({ key: 'k', data: 1, success: () => answered.push(name), fail: () => answered.push(name) })
    w.global.setStorage(args('setStorage'))
    w.global.getStorage(args('getStorage'))
    w.global.removeStorage(args('removeStorage'))
    await new Promise((r) => setTimeout(r, 30))
    expect(answered).toEqual([])
    w.fake.behavior = {}
    w.global.setStorage(args('setStorage'))
    await new Promise((r) => setTimeout(r, 30))
    expect(answered).toEqual(['setStorage'])
    refuses(() => (w.fake.behavior.storageRead = 'slow' as never), 'fake.behavior.storageRead', /takes 'ok', 'throw' or 'hang', got 'slow'/)
  })

  test('server.alwaysUnauthorized, server.loginStatus = 500, server.refreshStatus', async () => {
    const w = world(c, { auth: { refresh: { url: '/api/auth/refresh' } } })
    w.server.alwaysUnauthorized = true
    expect(await code(w.auth.get('/api/items'))).toBe('UNAUTHORIZED')
    w.server.alwaysUnauthorized = false
    w.server.loginStatus = 500
    const rejected = await w.relaunch({ storageKey: 'other' }).login().catch((e) => e)
    expect(rejected).toMatchObject({ code: 'LOGIN_REJECTED', message: expect.stringContaining('answered HTTP 500') })
    w.server.loginStatus = 0
    w.server.refreshStatus = 503
    w.server.expireTokens()
    await w.auth.get('/api/items') // the refresh answers 503: one full login instead
    expect(w.errors.some((e) => /refresh endpoint .* answered HTTP 503/.test(e.message))).toBe(true)
    refuses(() => (w.server.loginStatus = '500' as never), 'server.loginStatus', /takes 0 \(it works\) or an HTTP status 100–599, got '500'/)
    refuses(() => (w.server.refreshStatus = 42), 'server.refreshStatus', /got 42/)
    refuses(() => (w.server.alwaysUnauthorized = 1 as never), 'server.alwaysUnauthorized', /takes true or false, got 1/)
  })

  test("fake.scopes['scope.camera'] = false (denied before)", async () => {
    const w = world(c)
    w.fake.userChoices.modal = 'cancel'
    w.fake.scopes[camera(w)] = false
    expect(await ensureScope(CAMERA, on(w))).toBe('denied')
    expect(w.fake.authorizePrompts).toEqual([]) // no prompt for a scope denied before
    w.fake.scopes = { [camera(w)]: true } // as a whole: replaces the state
    expect(await getAuthSetting(on(w))).toEqual({ [CAMERA]: true })
    refuses(() => (w.fake.scopes[camera(w)] = 'no' as never), `fake.scopes['${camera(w)}']`, /takes true or false, got 'no'/)
    refuses(() => (w.fake.scopes = ['scope.camera'] as never), 'fake.scopes', /takes an object of true\/false by scope/)
    expect(await getAuthSetting(on(w))).toEqual({ [CAMERA]: true })
  })

  test("fake.userChoices = { authorize, modal, openSetting, privacy } (as a whole, as the testing guide writes it)", async () => {
    const w = world(c)
    w.fake.userChoices = { authorize: 'deny', modal: 'cancel', openSetting: { [camera(w)]: true }, privacy: 'disagree' }
    expect({ ...w.fake.userChoices }).toEqual({ authorize: 'deny', modal: 'cancel', openSetting: { [camera(w)]: true }, privacy: 'disagree' })
    if (c.host !== 'alipay') {
      // authorize: the user says no to the prompt of a scope never asked.
      expect(await ensureScope(CAMERA, on(w))).toBe('denied')
      expect(w.fake.authorizePrompts).toEqual([CAMERA])
    } else w.fake.scopes[camera(w)] = false
    // modal: 'cancel' → the rationale is dismissed, the settings page never opens.
    expect(await ensureScope(CAMERA, on(w))).toBe('denied')
    expect(w.fake.calls.openSetting).toBe(0)
    // The fields left out go back to their defaults: modal 'confirm', so the settings page opens and
    // the user flips the switch given in openSetting.
    w.fake.userChoices = { openSetting: { [camera(w)]: true } }
    expect(w.fake.userChoices).toMatchObject({ authorize: 'allow', modal: 'confirm', privacy: 'agree' })
    expect(await ensureScope(CAMERA, on(w))).toBe('granted')
    // Field by field still works.
    w.fake.userChoices.modal = 'cancel'
    expect(w.fake.userChoices.modal).toBe('cancel')
  })

  test('fake.userChoices: a wrong value throws a TypeError naming the field and what it takes', () => {
    const w = world(c)
    refuses(() => (w.fake.userChoices = { authorize: 'no' } as never), 'fake.userChoices.authorize', /takes 'allow' or 'deny', got 'no'/)
    refuses(() => (w.fake.userChoices.modal = 'ok' as never), 'fake.userChoices.modal', /takes 'confirm' or 'cancel', got 'ok'/)
    refuses(() => (w.fake.userChoices = { openSetting: { [CAMERA]: 'yes' } } as never), `fake.userChoices.openSetting['${CAMERA}']`, /takes true or false, got 'yes'/)
    refuses(() => (w.fake.userChoices.openSetting[CAMERA] = 1 as never), `fake.userChoices.openSetting['${CAMERA}']`, /takes true or false, got 1/)
    refuses(() => (w.fake.userChoices = { privacy: true } as never), 'fake.userChoices.privacy', /takes 'agree' or 'disagree', got true/)
    refuses(() => (w.fake.userChoices = { authorise: 'deny' } as never), 'fake.userChoices', /has no authorise: its fields are authorize, modal, openSetting, privacy/)
    refuses(() => (w.fake.userChoices = 'deny' as never), 'fake.userChoices', /takes an object with some of authorize, modal, openSetting, privacy, got 'deny'/)
    expect(() => ((w.fake.userChoices as unknown as Record<string, unknown>).authorise = 'deny')).toThrow(TypeError) // no field to add by mistake
    // Nothing changed.
    expect({ ...w.fake.userChoices, openSetting: { ...w.fake.userChoices.openSetting } }).toEqual({ authorize: 'allow', modal: 'confirm', openSetting: {}, privacy: 'agree' })
  })

  test('fake.privacy.needAuthorization', async () => {
    const w = world(c)
    const privacyApi = typeof w.platform.requirePrivacyAuthorize === 'function'
    w.fake.privacy.needAuthorization = true
    w.fake.userChoices.privacy = 'disagree'
    // Only WeChat's wx has the privacy contract; elsewhere ensurePrivacyAuthorized resolves at once.
    expect(await code(ensurePrivacyAuthorized(on(w)))).toBe(privacyApi ? 'PRIVACY_DENIED' : 'ok')
    w.fake.privacy = { needAuthorization: false }
    expect(await code(ensurePrivacyAuthorized(on(w)))).toBe('ok')
    w.fake.privacy = { needAuthorization: true }
    w.fake.userChoices = { privacy: 'agree' }
    expect(await code(ensurePrivacyAuthorized(on(w)))).toBe('ok')
    expect(w.fake.privacy.needAuthorization).toBe(!privacyApi) // agreed on WeChat
    refuses(() => (w.fake.privacy.needAuthorization = 'yes' as never), 'fake.privacy.needAuthorization', /takes true or false, got 'yes'/)
    refuses(() => (w.fake.privacy = { need: true } as never), 'fake.privacy', /has no need: its fields are needAuthorization/)
  })

  test('fake.tapGesture = false (openSetting then fails as outside a tap)', async () => {
    const w = world(c)
    w.fake.scopes[camera(w)] = false
    w.fake.tapGesture = false
    expect(await code(ensureScope(CAMERA, on(w)))).toBe('OPEN_SETTING_FAILED')
    w.fake.tapGesture = true
    w.fake.userChoices.openSetting = { [camera(w)]: true }
    expect(await ensureScope(CAMERA, on(w))).toBe('granted')
    refuses(() => (w.fake.tapGesture = 0 as never), 'fake.tapGesture', /takes true or false, got 0/)
  })
})

describe('the options the testing guide documents', () => {
  test("createFakeMy({ responseFields: 'legacy', httpErrors }), and fake.phoneNumber", async () => {
    const my = createFakeMy({ responseFields: 'legacy', httpErrors: 'success', handler: () => ({ statusCode: 404, data: {} }) })
    const res = await new Promise<Record<string, unknown>>((resolve) => my.my.request({ url: BASE + '/x', success: resolve, fail: resolve }))
    expect(res).toMatchObject({ status: 404 })
    expect(res).not.toHaveProperty('statusCode')
    refuses(() => createFakeMy({ responseFields: 'new' as never }), 'options.responseFields', /takes 'both' or 'legacy', got 'new'/)
    refuses(() => createFakeMy({ httpErrors: 'fail' as never }), 'options.httpErrors', /takes 'fail-with-response', 'fail-bare' or 'success', got 'fail'/)
    my.phoneNumber = 'deny'
    expect(my.phoneNumber).toBe('deny')
    refuses(() => (my.phoneNumber = 'no' as never), 'fake.phoneNumber', /takes 'allow' or 'deny', got 'no'/)
  })

  test('createFakeWx({ taskLimit, envVersion }) and createFakeUni({ alipayHttpErrors }) refuse values they do not know', () => {
    refuses(() => createFakeWx({ taskLimit: 'drop' as never }), 'options.taskLimit', /takes 'record' or 'fail', got 'drop'/)
    refuses(() => createFakeTt({ envVersion: 'prod' as never }), 'options.envVersion', /takes 'develop', 'trial' or 'release', got 'prod'/)
    refuses(() => createFakeUni({ uniPlatform: 'mp-alipay', alipayHttpErrors: 'bare' as never }), 'options.alipayHttpErrors', /got 'bare'/)
  })
})
