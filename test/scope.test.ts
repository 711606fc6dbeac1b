/**
 * Issue 5 (standalone in `weapp-auth/open` since issue 11): scopes and privacy through
 * getAuthSetting / ensureScope / ensurePrivacyAuthorized, which need no auth instance, only the
 * platform; the fake wx scripts what the user answers.
 */
import { AuthError } from 'weapp-auth'
import { SCOPES, ensurePrivacyAuthorized, ensureScope, getAuthSetting, onNeedPrivacyAuthorization } from 'weapp-auth/open'
import { createFakeWx, privacyAgreeEvent } from 'weapp-auth/testing'

/** A fake wx, and the `{ platform }` option that points the helpers at it. */
function setup(options?: Parameters<typeof createFakeWx>[0]) {
  const fake = createFakeWx(options)
  return { fake, on: { platform: fake.wx } }
}

const ALBUM = 'scope.writePhotosAlbum'

describe('ensureScope', () => {
  test('already granted → granted, no prompt, no modal', async () => {
    const { fake, on } = setup()
    fake.scopes[ALBUM] = true
    await expect(ensureScope(ALBUM, on)).resolves.toBe('granted')
    expect(fake.calls.authorize).toBe(0)
    expect(fake.calls.showModal).toBe(0)
  })

  test('never asked, user allows → wx.authorize prompt → granted', async () => {
    const { fake, on } = setup()
    await expect(ensureScope(ALBUM, on)).resolves.toBe('granted')
    expect(fake.authorizePrompts).toEqual([ALBUM])
    expect(await getAuthSetting(on)).toEqual({ [ALBUM]: true })
  })

  test('never asked, user denies → denied, and no modal nagging right after the "no"', async () => {
    const { fake, on } = setup()
    fake.userChoices.authorize = 'deny'
    await expect(ensureScope(ALBUM, on)).resolves.toBe('denied')
    expect(fake.calls.showModal).toBe(0)
    expect((await getAuthSetting(on))[ALBUM]).toBe(false)
  })

  test('denied before, user opens settings and allows → granted', async () => {
    const { fake, on } = setup()
    fake.scopes[ALBUM] = false
    fake.userChoices.openSetting = { [ALBUM]: true }
    await expect(ensureScope(ALBUM, { rationale: { title: '保存海报', content: '需要相册权限来保存海报' }, ...on })).resolves.toBe('granted')
    expect(fake.modals).toEqual([{ title: '保存海报', content: '需要相册权限来保存海报' }])
    expect(fake.calls.openSetting).toBe(1)
    expect(fake.authorizePrompts).toEqual([]) // no prompt is possible for a denied scope
  })

  test('denied before, user cancels the modal → denied, settings never opened', async () => {
    const { fake, on } = setup()
    fake.scopes[ALBUM] = false
    fake.userChoices.modal = 'cancel'
    await expect(ensureScope(ALBUM, on)).resolves.toBe('denied')
    expect(fake.calls.openSetting).toBe(0)
    expect(fake.modals[0].content).toContain(SCOPES[ALBUM].label)
  })

  test('denied before, user opens settings and still denies → denied', async () => {
    const { fake, on } = setup()
    fake.scopes[ALBUM] = false
    await expect(ensureScope(ALBUM, on)).resolves.toBe('denied')
    expect(fake.calls.openSetting).toBe(1)
  })

  test('openSetting outside a tap → OPEN_SETTING_FAILED naming the tap rule', async () => {
    const { fake, on } = setup()
    fake.scopes[ALBUM] = false
    fake.tapGesture = false
    const err = (await ensureScope(ALBUM, on).catch((e) => e)) as AuthError
    expect(err).toMatchObject({ code: 'OPEN_SETTING_FAILED' })
    expect(err.message).toMatch(/tap/)
  })

  test('scope.userInfo is deprecated and points at the avatar/nickname helpers', async () => {
    const { fake, on } = setup()
    const err = (await ensureScope('scope.userInfo', on).catch((e) => e)) as AuthError
    expect(err).toMatchObject({ code: 'SCOPE_DEPRECATED' })
    expect(err.message).toMatch(/chooseAvatar/)
    expect(fake.calls.getSetting).toBe(0)
  })

  test('an old base library without getSetting/authorize → UNSUPPORTED naming the minimum version', async () => {
    const { on } = setup({ missing: ['getSetting', 'authorize'], baseLibrary: '1.1.0' })
    const err = (await ensureScope(ALBUM, on).catch((e) => e)) as AuthError
    expect(err).toBeInstanceOf(AuthError)
    expect(err.code).toBe('UNSUPPORTED')
    expect(err.message).toContain('1.2.0')
    expect(err.message).toContain('1.1.0')
    await expect(getAuthSetting(on)).rejects.toMatchObject({ code: 'UNSUPPORTED' })
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
    const { fake, on } = setup()
    await expect(ensurePrivacyAuthorized(on)).resolves.toBeUndefined()
    expect(fake.calls.requirePrivacyAuthorize).toBe(0)
  })

  test("the page's own popup: agree → resolves; disagree → PRIVACY_DENIED", async () => {
    const { fake, on } = setup()
    fake.privacy.needAuthorization = true
    const shown: string[] = []
    let answer: 'agree' | 'disagree' = 'disagree'
    onNeedPrivacyAuthorization((req) => {
      shown.push(String(req.referrer))
      // The user taps the popup's agree button (the base library checks the tap), or declines.
      setTimeout(() => (answer === 'agree' ? (privacyAgreeEvent(fake, 'agree-btn'), req.agree('agree-btn')) : req.disagree()), 1)
    }, on)
    await expect(ensurePrivacyAuthorized(on)).rejects.toMatchObject({ code: 'PRIVACY_DENIED' })
    answer = 'agree'
    await expect(ensurePrivacyAuthorized(on)).resolves.toBeUndefined()
    expect(fake.privacy.needAuthorization).toBe(false)
    expect(shown).toEqual(['requirePrivacyAuthorize', 'requirePrivacyAuthorize'])
  })

  test('agreeing with a button the user never tapped counts as a refusal, as the base library checks', async () => {
    const { fake, on } = setup()
    fake.privacy.needAuthorization = true
    onNeedPrivacyAuthorization((req) => setTimeout(() => req.agree('never-tapped'), 1), on)
    await expect(ensurePrivacyAuthorized(on)).rejects.toMatchObject({ code: 'PRIVACY_DENIED' })
    expect(fake.privacy.needAuthorization).toBe(true)
  })

  test('base library without the privacy API → resolves at once', async () => {
    const { on } = setup({ missing: ['getPrivacySetting', 'requirePrivacyAuthorize', 'onNeedPrivacyAuthorization'] })
    await expect(ensurePrivacyAuthorized(on)).resolves.toBeUndefined()
    expect(() => onNeedPrivacyAuthorization(() => undefined, on)).not.toThrow()
  })
})

describe('the platform option', () => {
  afterEach(() => {
    delete (global as unknown as { wx?: unknown }).wx
  })

  test('without options.platform the helpers use the global wx', async () => {
    const fake = createFakeWx()
    ;(global as unknown as { wx: unknown }).wx = fake.wx
    fake.scopes[ALBUM] = true
    await expect(ensureScope(ALBUM)).resolves.toBe('granted')
    await expect(ensureScope(ALBUM, null as never)).resolves.toBe('granted') // null options: the defaults too
    await expect(getAuthSetting()).resolves.toEqual({ [ALBUM]: true })
    await expect(ensurePrivacyAuthorized()).resolves.toBeUndefined()
    expect(fake.calls.getSetting).toBe(3)
  })

  test('no global wx and no platform → CONFIG naming the option, as a rejection (never a throw from a promise API)', async () => {
    for (const run of [() => ensureScope(ALBUM), () => getAuthSetting(), () => ensurePrivacyAuthorized()]) {
      const err = (await run().catch((e) => e)) as AuthError
      expect(err).toBeInstanceOf(AuthError)
      expect(err.code).toBe('CONFIG')
      expect(err.message).toMatch(/pass `platform`/)
    }
    expect(() => onNeedPrivacyAuthorization(() => undefined)).toThrow(/pass `platform`/)
  })

  test('a bad scope or handler → INVALID_INPUT', async () => {
    const { on } = setup()
    await expect(ensureScope('writePhotosAlbum', on)).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    expect(() => onNeedPrivacyAuthorization('nope' as never, on)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
  })
})
