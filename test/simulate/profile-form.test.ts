/**
 * @jest-environment jsdom
 *
 * <auth-profile-form>, from its sources and as built, on the faithful fake wx: every state, every
 * event, the unwired case, double taps, a closed avatar picker and wrong-type properties.
 */
import { avatarEvent, nicknameReviewEvent } from 'weapp-auth/testing'
import { fake, newAuth, render, sent, server, settle, targets, text, tick } from './components'

let failUploads = false
server.route('POST', '/api/upload/avatar', (req) => (failUploads ? { networkError: 'request:fail net::ERR_CONNECTION_RESET' } : { data: { url: 'https://cdn.example.com/a/' + req.file!.size + '.jpeg' } }))
server.route('POST', '/api/user/profile', (req) => ({ data: { id: 1, nickName: (req.data as { nickName: string }).nickName } }))

describe.each(targets('profile-form'))('<auth-profile-form> from $name', (target) => {
  beforeEach(() => {
    failUploads = false
    target.wiring.provideAuth(newAuth())
  })

  test('idle: shows the initial avatar and nickname, the labels and their aria-labels', async () => {
    const { comp, events } = render(target, { avatarUrl: 'https://cdn.example.com/me.png', nickName: '小红', submitText: '完成' })
    await tick()
    expect(comp.data.state).toBe('idle')
    expect(comp.data.avatarLabel).toBe('选择头像')
    expect(text(comp, '.auth-profile-form__label')).toBe('昵称')
    expect(text(comp, '#save')).toBe('完成')
    expect(comp.data.avatarUrl).toBe('https://cdn.example.com/me.png')
    expect(comp.data.nickName).toBe('小红')
    expect(events).toEqual([])
  })

  test('choose an avatar → uploading → uploaded (with the token), `uploaded` event with the hosted URL', async () => {
    const { comp, of } = render(target)
    fake.setLatency(40)
    comp.querySelector('#avatar').dispatchEvent('chooseavatar', avatarEvent(fake, '12345'))
    await tick(5)
    fake.setLatency(0)
    expect(comp.data.state).toBe('uploading')
    expect(text(comp, '#status')).toBe('头像上传中…')
    await settle()
    expect(comp.data.state).toBe('uploaded')
    expect(text(comp, '#status')).toBe('头像已上传')
    expect(comp.data.avatarUrl).toBe('https://cdn.example.com/a/5.jpeg')
    expect(of('uploaded')[0].detail.avatarUrl).toBe('https://cdn.example.com/a/5.jpeg')
    expect(sent('/api/upload/avatar').pop()!.header.Authorization).toMatch(/^Bearer /)
  })

  test('a second chooseavatar or a submit during the upload is ignored: one request', async () => {
    const before = sent('/api/upload/avatar').length
    const { comp } = render(target)
    fake.setLatency(30)
    comp.querySelector('#avatar').dispatchEvent('chooseavatar', avatarEvent(fake, 'a'))
    comp.querySelector('#avatar').dispatchEvent('chooseavatar', avatarEvent(fake, 'bb'))
    comp.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '小明' } } })
    await settle()
    fake.setLatency(0)
    expect(sent('/api/upload/avatar').length - before).toBe(1)
    expect(comp.data.avatarUrl).toBe('https://cdn.example.com/a/1.jpeg')
  })

  test('the avatar picker closed: no event, or one without a path → nothing happens', async () => {
    const before = fake.requests.length
    const { comp, events } = render(target)
    comp.querySelector('#avatar').dispatchEvent('chooseavatar', { detail: { errMsg: 'chooseAvatar:fail cancel' } })
    comp.querySelector('#avatar').dispatchEvent('chooseavatar', {})
    await tick()
    expect(comp.data.state).toBe('idle')
    expect(text(comp, '#status')).toBe('')
    expect(fake.requests.length).toBe(before)
    expect(events).toEqual([])
  })

  test('upload fails on the network → error state, the previous avatar back, `error` with the code', async () => {
    failUploads = true
    const { comp, of } = render(target, { avatarUrl: 'https://cdn.example.com/old.png' })
    comp.querySelector('#avatar').dispatchEvent('chooseavatar', avatarEvent(fake))
    await tick()
    expect(comp.data.state).toBe('error')
    expect(text(comp, '#status')).toBe('网络异常，请稍后重试')
    expect(comp.data.avatarUrl).toBe('https://cdn.example.com/old.png')
    expect(of('error')).toHaveLength(1)
    expect(of('error')[0].detail.code).toBe('NETWORK_ERROR')
  })

  test('nickname review: fail blocks saving (nothing sent), pass unblocks; submit saves the trimmed name → `saved`', async () => {
    const { comp, of } = render(target)
    const before = sent('/api/user/profile').length
    comp.querySelector('#nick').dispatchEvent('nicknamereview', nicknameReviewEvent(false))
    await tick()
    expect(comp.data.state).toBe('review-failed')
    comp.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '' } } })
    await tick()
    expect(sent('/api/user/profile').length).toBe(before)
    expect(text(comp, '#status')).toBe('昵称未通过微信的安全检测，请换一个')

    comp.querySelector('#nick').dispatchEvent('nicknamereview', nicknameReviewEvent(true))
    await tick()
    expect(comp.data.state).toBe('idle')
    fake.setLatency(40)
    comp.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '  小明  ' } } })
    await tick(5)
    fake.setLatency(0)
    expect(comp.data.state).toBe('saving')
    expect(text(comp, '#status')).toBe('保存中…')
    await settle()
    expect(sent('/api/user/profile').pop()!.data).toEqual({ nickName: '小明' })
    expect(comp.data.state).toBe('saved')
    expect(text(comp, '#status')).toBe('已保存')
    expect(of('saved')[0].detail).toEqual({ id: 1, nickName: '小明' })
  })

  test('nickname review timed out: saving goes ahead (the server checks the name)', async () => {
    const { comp, of } = render(target)
    comp.querySelector('#nick').dispatchEvent('nicknamereview', nicknameReviewEvent(false, true))
    comp.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '阿强' } } })
    await tick()
    expect(of('saved')).toHaveLength(1)
  })

  test('a double tap on save sends one request', async () => {
    const before = sent('/api/user/profile').length
    const { comp, of } = render(target)
    comp.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '小刚' } } })
    comp.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '小刚' } } })
    await tick()
    expect(sent('/api/user/profile').length - before).toBe(1)
    expect(of('saved')).toHaveLength(1)
  })

  test('an empty or too long nickname: invalid state naming maxLength, nothing sent', async () => {
    const before = sent('/api/user/profile').length
    const { comp, of } = render(target, { maxLength: 4 })
    comp.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '五个字名字' } } })
    await tick()
    expect(comp.data.state).toBe('invalid')
    expect(text(comp, '#status')).toBe('请填写昵称，最多 4 个字')
    expect(of('error')[0].detail.code).toBe('INVALID_INPUT')
    expect(sent('/api/user/profile').length).toBe(before)
  })

  test('wrong-type properties: one warning naming each, the default used; attribute strings read as numbers', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined)
    const { comp } = render(target, { maxLength: 'lots', submitText: 42, nickName: '小美' })
    await tick()
    expect(comp.data.maxLength).toBe(20)
    expect(comp.data.submitText).toBe('保存')
    expect(warn).toHaveBeenCalledTimes(2)
    expect(warn.mock.calls.map((c) => c[0]).join('\n')).toMatch(/property maxLength must be a number, got "lots"; using the default 20/)
    expect(warn.mock.calls.map((c) => c[0]).join('\n')).toMatch(/property submitText must be a string, got number; using the default "保存"/)
    warn.mockClear()
    const { comp: c2 } = render(target, { maxLength: '30' })
    await tick()
    expect(c2.data.maxLength).toBe(30)
    expect(warn).not.toHaveBeenCalled()
    warn.mockRestore()
  })
})
