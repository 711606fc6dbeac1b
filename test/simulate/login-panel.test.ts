/**
 * @jest-environment jsdom
 *
 * <auth-login-panel>, from its sources and as built, on the faithful fake wx: nothing is sent
 * before the consent is ticked, the silent login, the phone quick login (ok, denied, quota), the
 * agreement links, a double tap, a failed login, wrong-type properties.
 */
import { phoneEvent } from 'weapp-auth/testing'
import { fake, newAuth, render, sent, server, targets, text, tick } from './components'

server.route('POST', '/api/auth/phone', (req) => ({ data: { phoneNumber: '139****' + String((req.data as { code: string }).code).slice(-4) } }))

describe.each(targets('login-panel'))('<auth-login-panel> from $name', (target) => {
  let auth: ReturnType<typeof newAuth>
  beforeEach(() => {
    auth = newAuth()
    target.wiring.provideAuth(auth)
    fake.behavior = { login: 'ok' }
  })

  test('without the consent ticked: login and phone buttons send nothing and say why', async () => {
    const before = { requests: fake.requests.length, logins: fake.calls.login || 0 }
    const { comp, of } = render(target, { phoneLogin: true })
    await tick()
    expect(text(comp, '#consent')).toBe('我已阅读并同意《用户协议》《隐私政策》')
    comp.querySelector('#login').dispatchEvent('tap')
    comp.querySelector('#phone').dispatchEvent('tap')
    await tick()
    expect(comp.data.state).toBe('need-consent')
    expect(text(comp, '#status')).toBe('请先阅读并勾选协议')
    // no open-type without consent: WeChat shows no prompt; an event that still arrives is dropped
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.ok('early'))
    await tick()
    expect(fake.requests.length).toBe(before.requests)
    expect(fake.calls.login || 0).toBe(before.logins)
    expect(of('login')).toEqual([])
  })

  test('consent ticked → login: wx.login → the server → `login` with the user; a double tap logs in once', async () => {
    const { comp, of } = render(target)
    comp.querySelector('#consent').dispatchEvent('tap')
    await tick()
    expect(comp.data.agreed).toBe(true)
    const before = sent('/api/auth/login').length
    comp.querySelector('#login').dispatchEvent('tap')
    comp.querySelector('#login').dispatchEvent('tap')
    await tick()
    expect(sent('/api/auth/login').length - before).toBe(1)
    expect(comp.data.state).toBe('done')
    expect(of('login')).toHaveLength(1)
    expect(of('login')[0].detail.user).toEqual(auth.getSession()!.user)
    expect(JSON.stringify(of('login')[0].detail)).not.toContain(auth.getToken()!)
    expect(auth.isLoggedIn()).toBe(true)
  })

  test('the consent can be unticked again', async () => {
    const { comp } = render(target)
    comp.querySelector('#consent').dispatchEvent('tap')
    comp.querySelector('#consent').dispatchEvent('tap')
    await tick()
    expect(comp.data.agreed).toBe(false)
  })

  test('wx.login fails → error state, `error` with its code', async () => {
    fake.behavior = { login: 'fail' }
    const { comp, of } = render(target)
    comp.querySelector('#consent').dispatchEvent('tap')
    comp.querySelector('#login').dispatchEvent('tap')
    await tick()
    expect(comp.data.state).toBe('error')
    expect(text(comp, '#status')).toBe('登录失败，请稍后重试')
    expect(of('error')[0].detail.code).toBe('WX_LOGIN_FAILED')
  })

  test('phone quick login: logs in, then binds the number → `login` with the user and the phone answer', async () => {
    const { comp, of } = render(target, { phoneLogin: true, phoneLoginText: '本机号码一键登录' })
    expect(text(comp, '#phone')).toBe('本机号码一键登录')
    comp.querySelector('#consent').dispatchEvent('tap')
    await tick()
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.ok('code-4321'))
    await tick()
    const bound = sent('/api/auth/phone').pop()!
    expect(bound.data).toEqual({ code: 'code-4321', platform: 'weixin' })
    expect(bound.header.Authorization).toBe('Bearer ' + auth.getToken())
    expect(of('login')[0].detail).toEqual({ user: auth.getSession()!.user, phone: { phoneNumber: '139****4321' } })
  })

  test('phone quick login denied or over quota: its state, nothing sent (not even a login)', async () => {
    const before = fake.requests.length
    const { comp, of } = render(target, { phoneLogin: true })
    comp.querySelector('#consent').dispatchEvent('tap')
    await tick()
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.denied())
    await tick()
    expect(comp.data.state).toBe('denied')
    expect(of('denied')).toHaveLength(1)
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.quotaExhausted())
    await tick()
    expect(comp.data.state).toBe('quota')
    expect(of('error')[0].detail.code).toBe('PHONE_QUOTA')
    expect(fake.requests.length).toBe(before)
  })

  test("links: the app's pages when set; the privacy policy defaults to the contract filed with WeChat; the consent stays as it was", async () => {
    const before = fake.navigations.length
    const a = render(target, { userAgreementUrl: '/pages/terms/index' })
    a.comp.querySelector('#user-agreement').dispatchEvent('tap')
    a.comp.querySelector('#privacy-policy').dispatchEvent('tap')
    const b = render(target, { privacyPolicyUrl: '/pages/privacy/index' })
    b.comp.querySelector('#privacy-policy').dispatchEvent('tap')
    await tick()
    expect(fake.navigations.slice(before)).toEqual([
      { api: 'navigateTo', url: '/pages/terms/index' },
      { api: 'openPrivacyContract' },
      { api: 'navigateTo', url: '/pages/privacy/index' },
    ])
    expect(a.of('link').map((e) => e.detail.kind)).toEqual(['user-agreement', 'privacy-policy'])
    expect(a.comp.data.agreed).toBe(false)
  })

  test('wrong-type property: one warning naming it, the default used', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined)
    const { comp } = render(target, { phoneLogin: 'yes please', loginText: '进入' })
    await tick()
    expect(comp.data.phoneLogin).toBe(false)
    expect(comp.querySelector('#phone')).toBeFalsy()
    expect(text(comp, '#login')).toBe('进入')
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn.mock.calls[0][0]).toMatch(/<auth-login-panel>: property phoneLogin must be a boolean, got "yes please"; using the default false/)
    warn.mockRestore()
  })
})
