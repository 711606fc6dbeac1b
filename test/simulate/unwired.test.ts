/**
 * @jest-environment jsdom
 *
 * Every component used before `provideAuth(auth)` was called (this file never calls it): it shows
 * nothing, fires one `error` with code CONFIG naming the call, and a tap does nothing. Then the
 * uni-app / Taro way: the App's `globalData.weappAuth`, found through getApp() when the
 * components' copy of the SDK is not the app's.
 */
import { phoneEvent } from 'weapp-auth/testing'
import { fake, newAuth, render, sent, server, targets, tick } from './components'

server.route('POST', '/api/auth/phone', () => ({ data: { phoneNumber: '137****0000' } }))
const g = global as unknown as { getApp?: unknown }
afterEach(() => delete g.getApp)

const COMPONENTS: Array<[string, string, string]> = [
  ['profile-form', 'auth-profile-form', '#avatar'],
  ['phone-button', 'auth-phone-button', '#phone'],
  ['privacy-popup', 'auth-privacy-popup', '#title'],
  ['login-panel', 'auth-login-panel', '#login'],
]

describe.each(COMPONENTS)('%s', (name, tag, probe) => {
  describe.each(targets(name))('from $name', (target) => {
    test('unwired: shows nothing, one `error` CONFIG naming provideAuth; a tap does nothing', async () => {
      const before = fake.requests.length
      const { comp, of, events } = render(target)
      await tick()
      expect(comp.querySelector(probe)).toBeFalsy()
      expect(comp.dom.textContent).toBe('')
      expect(events).toHaveLength(1)
      expect(of('error')[0].detail.code).toBe('CONFIG')
      expect(of('error')[0].detail.message).toContain(`<${tag}> has no auth instance: call provideAuth(auth) from 'weapp-auth/components' in app.ts`)
      // the handlers behind the (absent) buttons do nothing either
      const methods = comp.instance as Record<string, (e?: unknown) => void>
      for (const m of ['onChooseAvatar', 'onSubmit', 'onPhone', 'onLogin', 'onAgree']) if (typeof methods[m] === 'function') methods[m]({ detail: { avatarUrl: 'http://tmp/x.png', value: { nickName: 'x' }, errMsg: 'getPhoneNumber:ok', code: 'c' } })
      await tick()
      expect(fake.requests.length).toBe(before)
      expect(events).toHaveLength(1)
    })
  })
})

describe.each(targets('phone-button'))("uni-app / Taro: the App's globalData.weappAuth, from $name", (target) => {
  test('found through getApp(): the component works with that instance', async () => {
    const auth = newAuth()
    g.getApp = () => ({ globalData: { weappAuth: auth } })
    const { comp, of } = render(target)
    await tick()
    expect(comp.data.wired).toBe(true)
    ;(comp.instance as { onPhone(e: unknown): void }).onPhone(phoneEvent.ok('code-0000'))
    await tick()
    expect(of('bound')).toHaveLength(1)
    expect(sent('/api/auth/phone').pop()!.header.Authorization).toBe('Bearer ' + auth.getToken())
  })

  test('something else there is not taken for an instance: CONFIG as without it', async () => {
    g.getApp = () => ({ globalData: { weappAuth: { token: 'x' } } })
    const { of } = render(target)
    await tick()
    expect(of('error')[0].detail.code).toBe('CONFIG')
  })
})
