/**
 * @jest-environment jsdom
 *
 * miniprogram-simulate renders a component wiring chooseAvatar, a nickname input and
 * getPhoneNumber to the SDK; the fake wx answers, and the test checks what reached the (fake)
 * server and what the component shows.
 */
import * as path from 'path'
import { createAuth } from 'weapp-auth'
import { avatarEvent, createFakeAuthServer, createFakeWx, nicknameReviewEvent, phoneEvent } from 'weapp-auth/testing'
import { holder } from './fixtures/auth-holder'

const fake = createFakeWx()
// Before miniprogram-simulate loads: it keeps the methods of a global wx that already exists.
;(global as unknown as { wx: unknown }).wx = fake.wx
// eslint-disable-next-line @typescript-eslint/no-var-requires
const simulate = require('miniprogram-simulate')

const server = createFakeAuthServer(fake)
const saved: unknown[] = []
server.route('POST', '/api/upload/avatar', (req) => ({ data: { url: 'https://cdn.example.com/avatars/' + req.file!.size + '.jpeg' } }))
server.route('POST', '/api/user/profile', (req) => {
  saved.push(req.data)
  return { data: { ok: true } }
})
server.route('POST', '/api/auth/phone', (req) => ({ data: { phoneNumber: '138****' + String((req.data as { code: string }).code).slice(-4) } }))
fake.setHandler(server.handler)

const tick = () => new Promise((r) => setTimeout(r, 20))

// Loaded once: simulate runs the component file through require, which jest caches.
const componentId = simulate.load(path.join(__dirname, 'fixtures/profile-card/index'))

function render() {
  holder.auth = createAuth({ baseURL: 'https://api.example.com', login: { url: '/api/auth/login' }, platform: fake.wx })
  const id = componentId
  const comp = simulate.render(id)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}
const text = (comp: any, sel: string) => comp.querySelector(sel).dom.textContent

test('the wx that pages see is the faithful fake, not the stand-in', () => {
  const w = (global as unknown as { wx: { setStorageSync(k: string, v: unknown): void; getStorageSync(k: string): unknown } }).wx
  w.setStorageSync('probe', { a: 1 })
  expect(w.getStorageSync('probe')).toEqual({ a: 1 })
})

test('choose an avatar → uploaded with the token → the component shows the hosted URL', async () => {
  const comp = render()
  comp.querySelector('#avatar').dispatchEvent('chooseavatar', avatarEvent(fake, '12345'))
  await tick()
  expect(comp.data.avatarUrl).toBe('https://cdn.example.com/avatars/5.jpeg')
  expect(text(comp, '#status')).toBe('头像已上传')
  const up = fake.requests.filter((r) => r.kind === 'upload').pop()!
  expect(up.header.Authorization).toMatch(/^Bearer /)
  expect(up.name).toBe('file')
})

test('nickname: review failure blocks saving; after it passes the form submit saves the trimmed name', async () => {
  const comp = render()
  comp.querySelector('#nick').dispatchEvent('nicknamereview', nicknameReviewEvent(false))
  await tick()
  expect(text(comp, '#status')).toBe('昵称未通过审核')
  comp.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: 'bad' } } })
  await tick()
  expect(saved).toHaveLength(0)

  comp.querySelector('#nick').dispatchEvent('nicknamereview', nicknameReviewEvent(true))
  await tick()
  comp.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '  小明  ' } } })
  await tick()
  expect(saved.pop()).toEqual({ nickName: '小明', avatarUrl: '/images/default-avatar.png' })
  expect(text(comp, '#status')).toBe('已保存')

  comp.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '   ' } } })
  await tick()
  expect(text(comp, '#status')).toBe('请填写昵称')
  expect(saved).toHaveLength(0)
})

test('phone: ok → the code is sent and the masked number shown; denied → message, nothing sent', async () => {
  const comp = render()
  comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.ok('code-9876'))
  await tick()
  const sent = fake.requests.filter((r) => r.path === '/api/auth/phone').pop()!
  expect(sent.data).toEqual({ code: 'code-9876', platform: 'weixin' })
  expect(text(comp, '#phoneText')).toBe('138****9876')

  const before = fake.requests.length
  comp.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.denied())
  await tick()
  expect(text(comp, '#status')).toBe('你拒绝了授权')
  expect(fake.requests.length).toBe(before)
})
