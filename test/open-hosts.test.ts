/**
 * Issue 12, item 3: the open abilities on every host, through the public `weapp-auth/open`
 * functions over createAuth and each host's fake (WeChat, QQ, Douyin, Alipay, and uni-app / Taro
 * builds). What the fake developer server received is what is asserted: the phone body per host,
 * the token on uploads; and what the user saw (prompts, modals, the settings page).
 */
import { AuthError, createAuth, type Auth, type AuthOptions } from 'weapp-auth'
import { bindPhoneNumber, ensurePrivacyAuthorized, ensureScope, getAuthSetting, onNeedPrivacyAuthorization, updateProfile, uploadAvatar } from 'weapp-auth/open'
import type { HostName } from 'weapp-auth/platforms'
import {
  createFakeAuthServer,
  createFakeMy,
  createFakeQq,
  createFakeTt,
  createFakeWx,
  phoneEvent,
  type FakeRequest,
  type FakeWx,
  type FakeWxOptions,
} from 'weapp-auth/testing'
import { BASE, HOSTS as SUITE_HOSTS, type Engine } from './hosts/hosts'

const PHONE = '/api/auth/phone'
const AVATAR = '/api/upload/avatar'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Global = Record<string, any>

interface Host {
  label: string
  host: HostName
  /** The host's global as the app sees it, and what the app passes as `platform`. */
  make(o?: FakeWxOptions): { fake: Engine; global: Global; option: unknown }
  /** How the host's own temp files look (docs/platforms.md; avatar.ts cites the sources). */
  tempDir: string
}

/** A row of the behavioural suite's host table (test/hosts/hosts.ts), under this file's label, with its temp-file form. */
function fromSuite(label: string, suiteLabel: string, tempDir: string): Host {
  const c = SUITE_HOSTS.find((h) => h.label === suiteLabel)!
  return {
    label,
    host: c.host,
    tempDir,
    make: (o) => {
      const m = c.make(o)
      return { fake: m.fake, global: m.global, option: m.option() }
    },
  }
}

const HOSTS: Host[] = [
  fromSuite('WeChat (wx)', 'weixin (wx)', 'wxfile://tmp_'),
  fromSuite('QQ (qq)', 'qq (qq)', 'http://tmp/'),
  fromSuite('Douyin (tt)', 'douyin (tt)', 'ttfile://temp/'),
  fromSuite('Alipay (my)', 'alipay (my)', 'https://resource/'),
  fromSuite('uni-app on mp-weixin', 'uni-app (mp-weixin, platform: uni)', 'http://tmp/'),
  fromSuite('Taro on WEAPP', 'Taro (WEAPP, platform: Taro)', 'http://tmp/'),
]
const byHost = (label: string) => HOSTS.find((h) => h.label === label)!

/** A host fake, the developer server with the phone / avatar / profile routes, and an auth instance on it. */
function world(h: Host, o?: FakeWxOptions) {
  const { fake, global, option } = h.make(o)
  const server = createFakeAuthServer(fake as unknown as FakeWx)
  server.route('POST', PHONE, (req) => ({ data: { phoneNumber: '138****0000' } }))
  server.route('POST', AVATAR, (req) => ({ data: { url: 'https://cdn.example.com/a/' + req.file!.size, field: req.name } }))
  server.route('POST', '/api/user/profile', (req) => ({ data: { profile: req.data } }))
  fake.setHandler(server.handler)
  const auth: Auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: option } as AuthOptions)
  const sent = (path: string): FakeRequest[] => fake.requests.filter((r) => r.path === path)
  return { fake, global, server, auth, sent, on: { platform: auth.platform } }
}

const failure = (p: Promise<unknown>) => p.then(() => null, (e) => e as AuthError)

describe('bindPhoneNumber posts what each host hands out, with the host and the token', () => {
  test.each([
    ['WeChat (wx)', phoneEvent.ok('WX-CODE'), { code: 'WX-CODE', platform: 'weixin' }],
    ['WeChat (wx)', phoneEvent.noCode(), { encryptedData: 'ENCRYPTED', iv: 'IV', platform: 'weixin' }],
    ['QQ (qq)', phoneEvent.encrypted('QQ-ENC', 'QQ-IV'), { encryptedData: 'QQ-ENC', iv: 'QQ-IV', platform: 'qq' }],
    ['Douyin (tt)', phoneEvent.encrypted('TT-ENC', 'TT-IV'), { encryptedData: 'TT-ENC', iv: 'TT-IV', platform: 'douyin' }],
    // Douyin base library 3.51.0+: a one-time code instead.
    ['Douyin (tt)', { detail: { errMsg: 'getPhoneNumber:ok', code: 'TT-CODE' } }, { code: 'TT-CODE', platform: 'douyin' }],
    ['uni-app on mp-weixin', phoneEvent.ok('UNI-CODE'), { code: 'UNI-CODE', platform: 'weixin' }],
    ['Taro on WEAPP', phoneEvent.ok('TARO-CODE'), { code: 'TARO-CODE', platform: 'weixin' }],
  ])('%s: %j → the server receives the credential', async (label, event, body) => {
    const w = world(byHost(label))
    await expect(bindPhoneNumber(w.auth, event)).resolves.toEqual({ phoneNumber: '138****0000' })
    const [req] = w.sent(PHONE)
    expect(req.data).toEqual(body)
    expect(req.header.Authorization).toBe('Bearer ' + w.auth.getToken())
  })

  test('uni-app built for Douyin (mp-toutiao): the body says douyin', async () => {
    const w = world(fromSuite('uni-app on mp-toutiao', 'uni-app (mp-toutiao, platform: uni)', 'http://tmp/'))
    await bindPhoneNumber(w.auth, { detail: { errMsg: 'getPhoneNumber:ok', encryptedData: 'E', iv: 'I' } })
    expect(w.sent(PHONE)[0].data).toEqual({ encryptedData: 'E', iv: 'I', platform: 'douyin' })
  })

  test("Alipay: the getAuthorize event carries nothing; my.getPhoneNumber is called and its encrypted response posted as is", async () => {
    const w = world(byHost('Alipay (my)'))
    await bindPhoneNumber(w.auth, { detail: {} } as never)
    const [req] = w.sent(PHONE)
    expect(w.fake.calls.getPhoneNumber).toBe(1)
    expect(req.data).toEqual({ response: JSON.stringify({ response: 'ENCRYPTED-PHONE-1', sign: 'SIGN-1' }), platform: 'alipay' })
    expect(req.header.Authorization).toBe('Bearer ' + w.auth.getToken())
    // With no event at all too (the handler may not pass one).
    await bindPhoneNumber(w.auth)
    expect((w.sent(PHONE)[1].data as { response: string }).response).toContain('ENCRYPTED-PHONE-2')
  })

  test('Alipay with a token the server expired: one re-login (my.getAuthCode), the same response re-posted, my.getPhoneNumber asked once', async () => {
    const w = world(byHost('Alipay (my)'))
    const first = await w.auth.login()
    w.server.expireTokens()
    await bindPhoneNumber(w.auth)
    const posts = w.sent(PHONE)
    expect(posts.map((r) => r.header.Authorization)).toEqual(['Bearer ' + first.token, 'Bearer ' + w.auth.getToken()])
    expect(posts[0].data).toEqual(posts[1].data)
    expect(w.fake.calls.getPhoneNumber).toBe(1)
    expect(w.fake.calls.getAuthCode).toBe(2)
  })

  test("Alipay: the user refuses my.getPhoneNumber → PHONE_DENIED, nothing posted", async () => {
    const w = world(byHost('Alipay (my)'))
    ;(w.fake as unknown as { phoneNumber: string }).phoneNumber = 'deny'
    const err = await failure(bindPhoneNumber(w.auth))
    expect(err).toBeInstanceOf(AuthError)
    expect(err).toMatchObject({ code: 'PHONE_DENIED', errno: 11 })
    expect(w.sent(PHONE)).toHaveLength(0)
  })

  test('Alipay without my.getPhoneNumber (old base library, or a framework that does not map it) → UNSUPPORTED naming the host; the result of your own call still posts', async () => {
    const w = world(byHost('Alipay (my)'), { missing: ['getPhoneNumber'] })
    const err = await failure(bindPhoneNumber(w.auth))
    expect(err).toBeInstanceOf(AuthError)
    expect(err!.code).toBe('UNSUPPORTED')
    expect(err!.message).toContain('Alipay (my)')
    expect(err!.message).toContain('my.getPhoneNumber')
    expect(err!.message).toContain('{ detail: res }')
    expect(w.sent(PHONE)).toHaveLength(0)
    await bindPhoneNumber(w.auth, { detail: { response: '{"response":"SELF","sign":"S"}' } })
    expect(w.sent(PHONE)[0].data).toEqual({ response: '{"response":"SELF","sign":"S"}', platform: 'alipay' })
  })

  test('uni-app built for Alipay: uni maps no getPhoneNumber → UNSUPPORTED; { detail: res } of my.getPhoneNumber posts', async () => {
    const w = world(fromSuite('uni-app on mp-alipay', 'uni-app (mp-alipay, platform: uni)', 'http://tmp/'))
    expect(w.auth.platform.host).toBe('alipay')
    await expect(bindPhoneNumber(w.auth)).rejects.toMatchObject({ code: 'UNSUPPORTED' })
    await bindPhoneNumber(w.auth, { detail: { response: 'R' } })
    expect(w.sent(PHONE)[0].data).toEqual({ response: 'R', platform: 'alipay' })
  })

  test.each([
    ['Douyin (tt)', 'getPhoneNumber:fail auth deny', 'PHONE_DENIED'], // user refused, or no phone bound
    ['Douyin (tt)', 'getPhoneNumber:fail platform auth deny', 'PHONE_FAILED'], // the platform refused this mini program
    ['Douyin (tt)', 'getPhoneNumber:fail not login', 'PHONE_FAILED'],
    ['QQ (qq)', 'getPhoneNumber:fail user deny', 'PHONE_DENIED'],
  ])('%s: %s → %s, nothing posted', async (label, errMsg, code) => {
    const w = world(byHost(label))
    const err = await failure(bindPhoneNumber(w.auth, { detail: { errMsg } }))
    expect(err).toBeInstanceOf(AuthError)
    expect(err).toMatchObject({ code, errMsg })
    expect(w.fake.requests).toHaveLength(0)
  })

  test('an ok event with no credential → PHONE_NO_CODE naming the host', async () => {
    const w = world(byHost('QQ (qq)'))
    const err = await failure(bindPhoneNumber(w.auth, { detail: { errMsg: 'getPhoneNumber:ok' } }))
    expect(err).toMatchObject({ code: 'PHONE_NO_CODE' })
    expect(err!.message).toContain('QQ (qq)')
  })

  test("codeIn 'query': a code and the host go in the query string; encrypted data stays in the body", async () => {
    const w = world(byHost('Douyin (tt)'))
    await bindPhoneNumber(w.auth, { detail: { errMsg: 'getPhoneNumber:ok', code: 'C 1' } }, { codeIn: 'query' })
    await bindPhoneNumber(w.auth, { detail: { errMsg: 'getPhoneNumber:ok', encryptedData: 'E', iv: 'I' } }, { codeIn: 'query', url: PHONE + '?v=2' })
    const [byCode, byData] = w.sent(PHONE)
    expect(byCode.query).toEqual({ code: 'C 1', platform: 'douyin' })
    expect(byCode.data).toBeUndefined()
    expect(byData.query).toEqual({ v: '2' })
    expect(byData.data).toEqual({ encryptedData: 'E', iv: 'I', platform: 'douyin' })
  })

  test('a hand-made instance without platform is WeChat', async () => {
    const calls: unknown[] = []
    const stub = { request: (o: unknown) => (calls.push(o), Promise.resolve('ok')), upload: () => Promise.resolve('up') }
    await expect(bindPhoneNumber(stub as never, phoneEvent.ok('S'))).resolves.toBe('ok')
    expect(calls).toEqual([{ url: PHONE, method: 'POST', data: { code: 'S', platform: 'weixin' } }])
  })
})

describe('scopes on each host', () => {
  const WX_LIKE = HOSTS.filter((h) => h.host !== 'alipay')
  const ALBUM = 'scope.writePhotosAlbum'

  test.each(WX_LIKE.map((h) => [h.label, h] as const))('%s: never asked → the host prompts; denied before → modal → settings page; all through auth.platform', async (_l, h) => {
    const w = world(h)
    await expect(ensureScope(ALBUM, w.on)).resolves.toBe('granted')
    expect(w.fake.authorizePrompts).toEqual([ALBUM])
    w.fake.userChoices.authorize = 'deny'
    await expect(ensureScope('scope.camera', w.on)).resolves.toBe('denied')
    expect(w.fake.modals).toEqual([]) // no nagging right after the "no"
    w.fake.userChoices.openSetting = { 'scope.camera': true }
    await expect(ensureScope('scope.camera', w.on)).resolves.toBe('granted')
    expect(w.fake.modals).toHaveLength(1)
    expect(w.fake.calls.openSetting).toBe(1)
    await expect(getAuthSetting(w.on)).resolves.toEqual({ [ALBUM]: true, 'scope.camera': true })
  })

  test.each([
    ['QQ (qq)', 'qq.openSetting'],
    ['Douyin (tt)', 'tt.openSetting'],
    ['Alipay (my)', 'my.openSetting'],
  ])('%s: settings page outside a tap → OPEN_SETTING_FAILED naming %s', async (label, call) => {
    const w = world(byHost(label))
    w.fake.scopes[label === 'Alipay (my)' ? 'camera' : 'scope.camera'] = false
    w.fake.tapGesture = false
    const err = await failure(ensureScope('scope.camera', w.on))
    expect(err).toMatchObject({ code: 'OPEN_SETTING_FAILED' })
    expect(err!.message).toContain(call)
  })

  test('Douyin on a base library without tt.getSetting → UNSUPPORTED naming tt.getSetting and Douyin, not wx', async () => {
    const w = world(byHost('Douyin (tt)'), { missing: ['getSetting'] })
    const err = await failure(getAuthSetting(w.on))
    expect(err).toMatchObject({ code: 'UNSUPPORTED' })
    expect(err!.message).toContain('tt.getSetting')
    expect(err!.message).toContain('Douyin (tt)')
    expect(err!.message).not.toContain('wx.')
  })

  test('scope.userInfo: SCOPE_DEPRECATED on WeChat only; Douyin still grants it', async () => {
    await expect(ensureScope('scope.userInfo', world(byHost('WeChat (wx)')).on)).rejects.toMatchObject({ code: 'SCOPE_DEPRECATED' })
    const dy = world(byHost('Douyin (tt)'))
    await expect(ensureScope('scope.userInfo', dy.on)).resolves.toBe('granted')
    expect(dy.fake.authorizePrompts).toEqual(['scope.userInfo'])
  })

  describe('Alipay: getSetting / openSetting only, keys without "scope."', () => {
    afterEach(() => {
      delete (global as unknown as Global).my
    })

    test('settings read as scope.* keys (location as scope.userLocation); a granted scope resolves with no prompt', async () => {
      const w = world(byHost('Alipay (my)'))
      Object.assign(w.fake.scopes, { location: true, album: false, camera: true })
      await expect(getAuthSetting(w.on)).resolves.toEqual({ 'scope.userLocation': true, 'scope.album': false, 'scope.camera': true })
      await expect(ensureScope('scope.userLocation', w.on)).resolves.toBe('granted')
      await expect(ensureScope('scope.camera', w.on)).resolves.toBe('granted')
      expect(w.fake.modals).toEqual([])
      expect(w.fake.calls.openSetting).toBe(0)
    })

    test('never asked → UNSUPPORTED naming Alipay (my) and what asks instead; no modal, no settings page', async () => {
      const w = world(byHost('Alipay (my)'))
      const err = await failure(ensureScope('scope.userLocation', w.on))
      expect(err).toBeInstanceOf(AuthError)
      expect(err!.code).toBe('UNSUPPORTED')
      expect(err!.message).toContain('Alipay (my)')
      expect(err!.message).toContain('scope.userLocation')
      expect(err!.message).toMatch(/asks the user/)
      expect(w.fake.modals).toEqual([])
      expect(w.fake.calls.openSetting).toBe(0)
    })

    test('denied before → rationale modal → my.openSetting: the user allows → granted; cancels → denied', async () => {
      const w = world(byHost('Alipay (my)'))
      w.fake.scopes.album = false
      w.fake.userChoices.openSetting = { album: true }
      await expect(ensureScope('scope.album', { ...w.on, rationale: { content: '保存海报需要相册' } })).resolves.toBe('granted')
      expect(w.fake.modals).toEqual([{ title: '需要你的授权', content: '保存海报需要相册' }])
      expect(w.fake.scopes.album).toBe(true)
      w.fake.scopes.camera = false
      w.fake.userChoices.modal = 'cancel'
      await expect(ensureScope('scope.camera', w.on)).resolves.toBe('denied')
      expect(w.fake.calls.openSetting).toBe(1)
    })

    test("the raw global `my` passed as platform works too: same keys, Alipay's failure shape read", async () => {
      const fake = createFakeMy()
      ;(global as unknown as Global).my = fake.my // a host's own global is recognised as the running one
      fake.scopes.location = true
      await expect(getAuthSetting({ platform: fake.my as never })).resolves.toEqual({ 'scope.userLocation': true })
      await expect(ensureScope('scope.camera', { platform: fake.my as never })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('Alipay (my)') })
      fake.scopes.camera = false
      fake.tapGesture = false
      const err = await failure(ensureScope('scope.camera', { platform: fake.my as never }))
      expect(err).toMatchObject({ code: 'OPEN_SETTING_FAILED' })
      expect(err!.message).toContain('can only be invoked by user TAP gesture') // my's errorMessage
    })
  })

  describe('without options.platform: the running host global, in the order qq, tt, my, wx', () => {
    const g = global as unknown as Global
    afterEach(() => {
      for (const k of ['qq', 'tt', 'my', 'wx']) delete g[k]
    })

    test.each([
      ['tt', (o?: FakeWxOptions) => ((f) => ({ fake: f as Engine, host: f.tt }))(createFakeTt(o)), 'Douyin (tt)', 'tt.getSetting'],
      ['my', (o?: FakeWxOptions) => ((f) => ({ fake: f as Engine, host: f.my }))(createFakeMy(o)), 'Alipay (my)', 'my.getSetting'],
    ] as const)('only %s defined → its calls, its name in messages', async (name, make, label, call) => {
      const { fake, host } = make()
      g[name] = host
      fake.scopes[name === 'my' ? 'camera' : 'scope.camera'] = true
      await expect(ensureScope('scope.camera')).resolves.toBe('granted')
      expect(fake.calls.getSetting).toBe(1)
      g[name] = make({ missing: ['getSetting'] }).host
      const err = await failure(getAuthSetting())
      expect(err).toMatchObject({ code: 'UNSUPPORTED' })
      expect(err!.message).toContain(label)
      expect(err!.message).toContain(call)
    })

    test('QQ defines wx as an alias: qq wins over wx', async () => {
      const qqFake = createFakeQq()
      const wxFake = createFakeWx()
      g.qq = qqFake.qq
      g.wx = wxFake.wx
      qqFake.scopes[ALBUM] = true
      await expect(ensureScope(ALBUM)).resolves.toBe('granted')
      expect(qqFake.calls.getSetting).toBe(1)
      expect(wxFake.calls.getSetting).toBe(0)
    })
  })
})

describe('privacy on hosts without a privacy contract', () => {
  test.each(['QQ (qq)', 'Douyin (tt)', 'Alipay (my)'])('%s: nothing to agree to → resolves at once; a page listener is never called', async (label) => {
    const w = world(byHost(label))
    const handler = jest.fn()
    expect(() => onNeedPrivacyAuthorization(handler, w.on)).not.toThrow()
    await expect(ensurePrivacyAuthorized(w.on)).resolves.toBeUndefined()
    expect(handler).not.toHaveBeenCalled()
    expect(w.global.getPrivacySetting).toBeUndefined() // the fake keeps the host's API surface
  })

  test('WeChat through auth.platform: the popup is still required', async () => {
    const w = world(byHost('WeChat (wx)'))
    w.fake.privacy.needAuthorization = true
    w.fake.userChoices.privacy = 'disagree'
    await expect(ensurePrivacyAuthorized(w.on)).rejects.toMatchObject({ code: 'PRIVACY_DENIED' })
  })
})

describe("uploadAvatar with each host's temp files, and updateProfile", () => {
  test.each(HOSTS.map((h) => [h.label, h] as const))('%s: a local file reaches the server with the token', async (_l, h) => {
    const w = world(h)
    const path = w.fake.addTempFile('avatar!', 'jpeg', h.tempDir)
    expect(path.indexOf(h.tempDir)).toBe(0)
    await expect(uploadAvatar(w.auth, path)).resolves.toEqual({ url: 'https://cdn.example.com/a/7', field: 'file' })
    const [up] = w.sent(AVATAR)
    expect(up.kind).toBe('upload')
    expect(up.file).toEqual({ path, content: 'avatar!', size: 7 })
    expect(up.header.Authorization).toBe('Bearer ' + w.auth.getToken())
    await expect(updateProfile(w.auth, { nickName: ' 小明 ', avatarUrl: 'https://cdn.example.com/a/7' })).resolves.toEqual({
      profile: { nickName: '小明', avatarUrl: 'https://cdn.example.com/a/7' },
    })
  })

  test('Alipay: my.uploadFile gets fileName and fileType (it fails without them); a 401 mid-upload → one re-login and the upload retried', async () => {
    const w = world(byHost('Alipay (my)'))
    const seen: Array<{ fileName?: string; fileType?: string }> = []
    const upload = w.global.uploadFile
    w.global.uploadFile = (o: { fileName?: string; fileType?: string }) => (seen.push({ fileName: o.fileName, fileType: o.fileType }), upload(o))
    const first = await w.auth.login()
    w.server.expireTokens()
    const path = w.fake.addTempFile('abc', 'jpeg', 'https://resource/apml')
    await expect(uploadAvatar(w.auth, { detail: { avatarUrl: path } })).resolves.toEqual({ url: 'https://cdn.example.com/a/3', field: 'file' })
    expect(seen).toEqual([
      { fileName: 'file', fileType: 'image' },
      { fileName: 'file', fileType: 'image' },
    ])
    expect(w.sent(AVATAR).map((r) => r.header.Authorization)).toEqual(['Bearer ' + first.token, 'Bearer ' + w.auth.getToken()])
  })

  test('a remote URL is refused on every host before any upload', async () => {
    for (const h of HOSTS) {
      const w = world(h)
      await expect(uploadAvatar(w.auth, 'https://cdn.example.com/x.png')).rejects.toMatchObject({ code: 'INVALID_INPUT' })
      expect(w.fake.requests).toHaveLength(0)
    }
  })
})
