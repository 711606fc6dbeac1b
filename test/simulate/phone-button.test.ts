/**
 * @jest-environment jsdom
 *
 * <auth-phone-button>, from its sources and as built, on the faithful fake wx: bound, denied,
 * quota, error, the real-time verification button, a double tap, wrong-type properties.
 */
import { phoneEvent } from 'weapp-auth/testing'
import { fake, newAuth, render, sent, server, settle, targets, text, tick } from './components'

let down = false
server.route('POST', '/api/auth/phone', (req) =>
  down ? { statusCode: 503, data: { error: 'unavailable' } } : { data: { phoneNumber: '138****' + String((req.data as { code: string }).code).slice(-4) } },
)

describe.each(targets('phone-button'))('<auth-phone-button> from $name', (target) => {
  beforeEach(() => {
    down = false
    target.wiring.provideAuth(newAuth())
  })

  test('idle: the getPhoneNumber button with its default text', async () => {
    const { comp } = render(target)
    await tick()
    expect(comp.data.state).toBe('idle')
    expect(text(comp, '#phone')).toBe('使用微信手机号')
    expect(text(comp, '#status')).toBe('')
  })

  test('ok → binding → bound: the code goes to the server with the token; `bound` carries the answer', async () => {
    const { comp, of } = render(target, { text: '一键绑定' })
    expect(text(comp, '#phone')).toBe('一键绑定')
    fake.setLatency(40)
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.ok('code-1234'))
    await tick(5)
    fake.setLatency(0)
    expect(comp.data.state).toBe('binding')
    await settle()
    const req = sent('/api/auth/phone').pop()!
    expect(req.data).toEqual({ code: 'code-1234', platform: 'weixin' })
    expect(req.header.Authorization).toMatch(/^Bearer /)
    expect(comp.data.state).toBe('bound')
    expect(text(comp, '#status')).toBe('手机号已绑定')
    expect(comp.data.phoneNumber).toBe('138****1234')
    expect(of('bound')[0].detail).toEqual({ phoneNumber: '138****1234' })
  })

  test('denied → the denied state and event, nothing sent', async () => {
    const before = fake.requests.length
    const { comp, of } = render(target)
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.denied())
    await tick()
    expect(comp.data.state).toBe('denied')
    expect(text(comp, '#status')).toBe('你拒绝了授权，可改用短信验证')
    expect(of('denied')[0].detail).toEqual({ errMsg: 'getPhoneNumber:fail user deny' })
    expect(of('error')).toEqual([])
    expect(fake.requests.length).toBe(before)
  })

  test('quota used up (errno 1400001) → the quota state, `error` PHONE_QUOTA, nothing sent', async () => {
    const before = fake.requests.length
    const { comp, of } = render(target)
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.quotaExhausted())
    await tick()
    expect(comp.data.state).toBe('quota')
    expect(text(comp, '#status')).toBe('手机号验证次数已用完，请改用短信验证')
    expect(of('error')[0].detail.code).toBe('PHONE_QUOTA')
    expect(fake.requests.length).toBe(before)
  })

  test('the server fails → error state, `error` with the HTTP code; the button works again after', async () => {
    down = true
    const { comp, of } = render(target)
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.ok('code-5555'))
    await tick()
    expect(comp.data.state).toBe('error')
    expect(of('error')[0].detail.code).toBe('HTTP_ERROR')
    down = false
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.ok('code-6666'))
    await tick()
    expect(comp.data.state).toBe('bound')
  })

  test('a double tap sends one request', async () => {
    const before = sent('/api/auth/phone').length
    const { comp, of } = render(target)
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.ok('code-0001'))
    comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.ok('code-0002'))
    await tick()
    expect(sent('/api/auth/phone').length - before).toBe(1)
    expect(of('bound')).toHaveLength(1)
  })

  test('realtime: the getRealtimePhoneNumber button and its own event; its deny and quota too', async () => {
    const { comp, of } = render(target, { realtime: true })
    await tick()
    comp.querySelector('#phone').dispatchEvent('getrealtimephonenumber', phoneEvent.realtime.ok('rt-7777'))
    await tick()
    expect(sent('/api/auth/phone').pop()!.data).toEqual({ code: 'rt-7777', platform: 'weixin' })
    expect(of('bound')).toHaveLength(1)
    const before = fake.requests.length
    comp.querySelector('#phone').dispatchEvent('getrealtimephonenumber', phoneEvent.realtime.denied())
    await tick()
    expect(comp.data.state).toBe('denied')
    comp.querySelector('#phone').dispatchEvent('getrealtimephonenumber', phoneEvent.realtime.quotaExhausted())
    await tick()
    expect(comp.data.state).toBe('quota')
    expect(fake.requests.length).toBe(before)
  })

  test('wrong-type property: one warning naming it, the default used; realtime="true" from WXML is read as true', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined)
    const { comp } = render(target, { realtime: 1 })
    await tick()
    expect(comp.data.realtime).toBe(false)
    expect(warn).toHaveBeenCalledTimes(1)
    expect(warn.mock.calls[0][0]).toMatch(/<auth-phone-button>: property realtime must be a boolean, got number; using the default false/)
    const { comp: c2 } = render(target, { realtime: 'true' })
    await tick()
    expect(c2.data.realtime).toBe(true)
    expect(warn).toHaveBeenCalledTimes(1)
    warn.mockRestore()
  })
})
