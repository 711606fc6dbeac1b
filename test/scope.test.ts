/**
 * Issue 5: scopes and privacy through auth.getAuthSetting / ensureScope / ensurePrivacyAuthorized,
 * with the fake wx scripting what the user answers.
 */
import { AuthError, SCOPES, createAuth } from 'weapp-auth'
import { createFakeWx } from 'weapp-auth/testing'
import { BASE, setup } from './helpers/setup'

const ALBUM = 'scope.writePhotosAlbum'

describe('ensureScope', () => {
  test('already granted → granted, no prompt, no modal', async () => {
    const { auth, fake } = setup()
    fake.scopes[ALBUM] = true
    await expect(auth.ensureScope(ALBUM)).resolves.toBe('granted')
    expect(fake.calls.authorize).toBe(0)
    expect(fake.calls.showModal).toBe(0)
  })

  test('never asked, user allows → wx.authorize prompt → granted', async () => {
    const { auth, fake } = setup()
    await expect(auth.ensureScope(ALBUM)).resolves.toBe('granted')
    expect(fake.authorizePrompts).toEqual([ALBUM])
    expect(await auth.getAuthSetting()).toEqual({ [ALBUM]: true })
  })

  test('never asked, user denies → denied, and no modal nagging right after the "no"', async () => {
    const { auth, fake } = setup()
    fake.userChoices.authorize = 'deny'
    await expect(auth.ensureScope(ALBUM)).resolves.toBe('denied')
    expect(fake.calls.showModal).toBe(0)
    expect((await auth.getAuthSetting())[ALBUM]).toBe(false)
  })

  test('denied before, user opens settings and allows → granted', async () => {
    const { auth, fake } = setup()
    fake.scopes[ALBUM] = false
    fake.userChoices.openSetting = { [ALBUM]: true }
    await expect(auth.ensureScope(ALBUM, { rationale: { title: '保存海报', content: '需要相册权限来保存海报' } })).resolves.toBe('granted')
    expect(fake.modals).toEqual([{ title: '保存海报', content: '需要相册权限来保存海报' }])
    expect(fake.calls.openSetting).toBe(1)
    expect(fake.authorizePrompts).toEqual([]) // no prompt is possible for a denied scope
  })

  test('denied before, user cancels the modal → denied, settings never opened', async () => {
    const { auth, fake } = setup()
    fake.scopes[ALBUM] = false
    fake.userChoices.modal = 'cancel'
    await expect(auth.ensureScope(ALBUM)).resolves.toBe('denied')
    expect(fake.calls.openSetting).toBe(0)
    expect(fake.modals[0].content).toContain(SCOPES[ALBUM].label)
  })

  test('denied before, user opens settings and still denies → denied', async () => {
    const { auth, fake } = setup()
    fake.scopes[ALBUM] = false
    await expect(auth.ensureScope(ALBUM)).resolves.toBe('denied')
    expect(fake.calls.openSetting).toBe(1)
  })

  test('openSetting outside a tap → OPEN_SETTING_FAILED naming the tap rule', async () => {
    const { auth, fake } = setup()
    fake.scopes[ALBUM] = false
    fake.tapGesture = false
    const err = (await auth.ensureScope(ALBUM).catch((e) => e)) as AuthError
    expect(err).toMatchObject({ code: 'OPEN_SETTING_FAILED' })
    expect(err.message).toMatch(/tap/)
  })

  test('scope.userInfo is deprecated and points at the avatar/nickname helpers', async () => {
    const { auth, fake } = setup()
    const err = (await auth.ensureScope('scope.userInfo').catch((e) => e)) as AuthError
    expect(err).toMatchObject({ code: 'SCOPE_DEPRECATED' })
    expect(err.message).toMatch(/chooseAvatar/)
    expect(fake.calls.getSetting).toBe(0)
  })

  test('an old base library without getSetting/authorize → UNSUPPORTED naming the minimum version', async () => {
    const fake = createFakeWx({ missing: ['getSetting', 'authorize'], baseLibrary: '1.1.0' })
    const auth = createAuth({ baseURL: BASE, login: { url: '/l' }, platform: fake.wx as never })
    const err = (await auth.ensureScope(ALBUM).catch((e) => e)) as AuthError
    expect(err).toBeInstanceOf(AuthError)
    expect(err.code).toBe('UNSUPPORTED')
    expect(err.message).toContain('1.2.0')
    expect(err.message).toContain('1.1.0')
    await expect(auth.getAuthSetting()).rejects.toMatchObject({ code: 'UNSUPPORTED' })
  })

  test('SCOPES lists the seed table with the API each scope guards', () => {
    expect(Object.keys(SCOPES).sort()).toEqual(
      ['scope.addPhoneCalendar', 'scope.addPhoneContact', 'scope.bluetooth', 'scope.camera', 'scope.record', 'scope.userFuzzyLocation', 'scope.userInfo', 'scope.userLocation', 'scope.werun', 'scope.writePhotosAlbum'].sort(),
    )
    expect(SCOPES['scope.userLocation'].api).toBe('wx.getLocation')
    expect(SCOPES['scope.userInfo'].deprecated).toBe(true)
  })
})

describe('privacy', () => {
  test('nothing to agree to → resolves without asking', async () => {
    const { auth, fake } = setup()
    await expect(auth.ensurePrivacyAuthorized()).resolves.toBeUndefined()
    expect(fake.calls.requirePrivacyAuthorize).toBe(0)
  })

  test("the page's own popup: agree → resolves; disagree → PRIVACY_DENIED", async () => {
    const { auth, fake } = setup()
    fake.privacy.needAuthorization = true
    const shown: string[] = []
    let answer: 'agree' | 'disagree' = 'disagree'
    auth.onNeedPrivacyAuthorization((req) => {
      shown.push(String(req.referrer))
      setTimeout(() => (answer === 'agree' ? req.agree('agree-btn') : req.disagree()), 1)
    })
    await expect(auth.ensurePrivacyAuthorized()).rejects.toMatchObject({ code: 'PRIVACY_DENIED' })
    answer = 'agree'
    await expect(auth.ensurePrivacyAuthorized()).resolves.toBeUndefined()
    expect(fake.privacy.needAuthorization).toBe(false)
    expect(shown).toEqual(['requirePrivacyAuthorize', 'requirePrivacyAuthorize'])
  })

  test('base library without the privacy API → resolves at once', async () => {
    const fake = createFakeWx({ missing: ['getPrivacySetting', 'requirePrivacyAuthorize', 'onNeedPrivacyAuthorization'] })
    const auth = createAuth({ baseURL: BASE, login: { url: '/l' }, platform: fake.wx as never })
    await expect(auth.ensurePrivacyAuthorized()).resolves.toBeUndefined()
    expect(() => auth.onNeedPrivacyAuthorization(() => undefined)).not.toThrow()
  })
})
