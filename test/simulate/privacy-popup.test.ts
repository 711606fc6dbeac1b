/**
 * @jest-environment jsdom
 *
 * <auth-privacy-popup>, from its sources and as built, on the faithful fake wx: opened by the
 * host's prompt, the contract name and link, agree (the tapped button's id), disagree, several
 * pages open, popups going away with prompts waiting, a double tap, wrong-type properties.
 */
import { privacyAgreeEvent } from 'weapp-auth/testing'
import { fake, newAuth, render, targets, text, tick } from './components'

/** What a privacy call waiting on the user became. */
function privacyCall(target: { open: typeof import('weapp-auth/open') }) {
  const outcome = { value: 'pending' as string }
  target.open.ensurePrivacyAuthorized({ platform: fake.wx }).then(
    () => (outcome.value = 'agreed'),
    (e) => (outcome.value = e.code),
  )
  return outcome
}

describe.each(targets('privacy-popup'))('<auth-privacy-popup> from $name', (target) => {
  beforeEach(() => {
    target.wiring.provideAuth(newAuth())
    fake.privacy.needAuthorization = true
  })

  test('hidden until the host asks; then the contract name from getPrivacySetting, and `open` with the referrer', async () => {
    const { comp, of } = render(target)
    await tick()
    expect(comp.querySelector('#title')).toBeFalsy()
    const call = privacyCall(target)
    await tick()
    expect(text(comp, '#title')).toBe('用户隐私保护提示')
    expect(text(comp, '#contract')).toBe('《示例小程序隐私保护指引》')
    expect(of('open')[0].detail).toEqual({ referrer: 'requirePrivacyAuthorize' })
    expect(call.value).toBe('pending')
    comp.querySelector('#disagree').dispatchEvent('tap')
    await tick()
  })

  test('the contract link opens the contract (openPrivacyContract)', async () => {
    const { comp } = render(target)
    privacyCall(target)
    await tick()
    const before = fake.navigations.length
    comp.querySelector('#contract').dispatchEvent('tap')
    await tick()
    expect(fake.navigations.slice(before)).toEqual([{ api: 'openPrivacyContract' }])
    comp.querySelector('#disagree').dispatchEvent('tap')
    await tick()
  })

  test('agree: the agreePrivacyAuthorization button answers with its own id → the call goes on; the popup closes', async () => {
    const { comp, of } = render(target)
    const call = privacyCall(target)
    await tick()
    comp.querySelector('#auth-privacy-agree').dispatchEvent('agreeprivacyauthorization', privacyAgreeEvent(fake, 'auth-privacy-agree'))
    await tick()
    expect(call.value).toBe('agreed')
    expect(fake.privacy.needAuthorization).toBe(false)
    expect(comp.querySelector('#title')).toBeFalsy()
    expect(of('agree')).toHaveLength(1)
  })

  test('disagree: the call fails PRIVACY_DENIED; the popup closes; the next call asks again', async () => {
    const { comp, of } = render(target)
    const call = privacyCall(target)
    await tick()
    comp.querySelector('#disagree').dispatchEvent('tap')
    await tick()
    expect(call.value).toBe('PRIVACY_DENIED')
    expect(comp.querySelector('#title')).toBeFalsy()
    expect(of('disagree')).toHaveLength(1)
    const again = privacyCall(target)
    await tick()
    expect(text(comp, '#title')).toBe('用户隐私保护提示')
    comp.querySelector('#disagree').dispatchEvent('tap')
    await tick()
    expect(again.value).toBe('PRIVACY_DENIED')
  })

  test('a double tap on agree answers once', async () => {
    const { comp, of } = render(target)
    privacyCall(target)
    await tick()
    const agree = comp.querySelector('#auth-privacy-agree')
    agree.dispatchEvent('agreeprivacyauthorization', privacyAgreeEvent(fake, 'auth-privacy-agree'))
    agree.dispatchEvent('agreeprivacyauthorization', privacyAgreeEvent(fake, 'auth-privacy-agree'))
    await tick()
    expect(of('agree')).toHaveLength(1)
  })

  test('several pages open: only the page on screen shows it; one agree answers every waiting call once', async () => {
    const a = render(target)
    const b = render(target)
    a.comp.triggerPageLifeTime('hide') // page A is under page B
    const one = privacyCall(target)
    const two = privacyCall(target)
    await tick()
    expect(text(b.comp, '#title')).toBe('用户隐私保护提示')
    expect(a.comp.querySelector('#title')).toBeFalsy()
    b.comp.querySelector('#auth-privacy-agree').dispatchEvent('agreeprivacyauthorization', privacyAgreeEvent(fake, 'auth-privacy-agree'))
    await tick()
    expect([one.value, two.value]).toEqual(['agreed', 'agreed'])
    expect(b.of('agree')).toHaveLength(1)
    expect(a.of('agree')).toHaveLength(0)
    a.comp.detach()
    b.comp.detach()
  })

  test('the page on screen goes away with a call waiting: the popup below takes it; the last one gone answers disagree', async () => {
    const a = render(target)
    a.comp.triggerPageLifeTime('hide')
    const b = render(target)
    const call = privacyCall(target)
    await tick()
    expect(text(b.comp, '#title')).toBe('用户隐私保护提示')
    b.comp.detach() // navigateBack
    a.comp.triggerPageLifeTime('show')
    await tick()
    expect(text(a.comp, '#title')).toBe('用户隐私保护提示')
    expect(call.value).toBe('pending')
    a.comp.detach()
    await tick()
    expect(call.value).toBe('PRIVACY_DENIED')
  })

  test('wrong-type property: one warning naming it, the default used; texts overridable', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined)
    const { comp } = render(target, { title: ['x'], agreeText: '同意并继续', contractName: '《我的隐私政策》' })
    privacyCall(target)
    await tick()
    expect(text(comp, '#title')).toBe('用户隐私保护提示')
    expect(text(comp, '#auth-privacy-agree')).toBe('同意并继续')
    expect(text(comp, '#contract')).toBe('《我的隐私政策》')
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn.mock.calls[0][0]).toMatch(/<auth-privacy-popup>: property title must be a string, got an array; using the default "用户隐私保护提示"/)
    warn.mockRestore()
    comp.querySelector('#disagree').dispatchEvent('tap')
    await tick()
    comp.detach()
  })
})
