/**
 * @jest-environment jsdom
 *
 * Each page of the example mini program, rendered by miniprogram-simulate, against the real
 * example server on 127.0.0.1 (the fake wx's network bridged to it), which runs weapp-auth-server
 * against the kit's fake WeChat API (its own process).
 */
import * as fs from 'fs'
import * as http from 'http'
import * as os from 'os'
import * as path from 'path'
import { avatarEvent, nicknameReviewEvent, phoneEvent } from 'weapp-auth/testing'
import { createBridgedWx } from '../../example-miniprogram/e2e/bridge'
import { spawnServer, type SpawnedServer } from '../../example-miniprogram/e2e/spawn-server'
import { config } from '../../example-miniprogram/miniprogram/config'
import { getAuth } from '../../example-miniprogram/miniprogram/auth'

const fake = createBridgedWx()
;(global as unknown as { wx: unknown }).wx = fake.wx // before miniprogram-simulate
// eslint-disable-next-line @typescript-eslint/no-var-requires
const simulate = require('miniprogram-simulate')

const pagesDir = path.join(__dirname, '../../example-miniprogram/miniprogram/pages')
// The server runs in its own process, as in `npm run example` (and jose stays out of jsdom).
let srv: SpawnedServer
let uploadDir: string
const ids: Record<string, string> = {}

beforeAll(async () => {
  uploadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-example-'))
  srv = await spawnServer({ UPLOAD_DIR: uploadDir, EXAMPLE_QUIET: '1' })
  config.baseURL = srv.url
  for (const name of ['home', 'profile', 'phone', 'settings']) ids[name] = simulate.load(path.join(pagesDir, name, 'index'), name + '-page', { compiler: 'simulate' })
})
type Stats = { logins: number; refreshes: number; unauthorized: number }
// jsdom has no fetch: ask the server through Node's http.
function devCall<T>(method: string, p: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request(srv.url + p, { method }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve(JSON.parse(body)))
    })
    req.on('error', reject)
    req.end()
  })
}
const stats = () => devCall<Stats>('GET', '/api/dev/stats')
/** The code WeChat would put in the getPhoneNumber event, minted by the fake WeChat for a known number. */
function mintPhoneCode(phoneNumber: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(srv.wechatUrl + '/__fake/phone-codes', { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve(JSON.parse(body).code))
    })
    req.on('error', reject)
    req.end(JSON.stringify({ phoneNumber }))
  })
}
const expireTokens = () => devCall('POST', '/api/dev/expire-tokens')

afterAll(async () => {
  srv.stop()
  fs.rmSync(uploadDir, { recursive: true, force: true })
})

function render(name: string) {
  const comp = simulate.render(ids[name])
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}
async function until(what: string, ok: () => unknown, ms = 5000) {
  const start = Date.now()
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error('timed out waiting for ' + what)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('home: logs in, shows the user; after server-side expiry 5 requests share one renewal; logout', async () => {
  const home = render('home')
  await until('user', () => home.data.user)
  expect(home.querySelector('#nick').dom.textContent).toBe('微信用户')
  expect((await stats()).logins).toBe(1)

  await expireTokens()
  const before = await stats()
  home.querySelector('#reload').dispatchEvent('tap')
  await until('reload', () => /已刷新 5|失败/.test(home.data.status))
  expect(home.data.status).toBe('已刷新 5 次')
  const after = await stats()
  expect(after.refreshes - before.refreshes + after.logins - before.logins).toBe(1)
  expect(after.unauthorized - before.unauthorized).toBe(5)

  home.querySelector('#logout').dispatchEvent('tap')
  await until('logged out', () => home.querySelector('#state').dom.textContent === '未登录')
  expect(getAuth().getToken()).toBeNull()
})

test('profile: avatar uploaded and served; nickname saved after the review passes', async () => {
  const profile = render('profile')
  // A JPEG by its first bytes (the server reads the type from them).
  profile.querySelector('#avatar').dispatchEvent('chooseavatar', avatarEvent(fake, '\xff\xd8\xff\xe0IMG'))
  await until('upload', () => /已上传|失败/.test(profile.data.status))
  expect(profile.data.status).toBe('头像已上传')
  expect(profile.data.avatarUrl).toMatch(new RegExp('^' + srv.url + '/uploads/'))
  expect(fs.readdirSync(uploadDir)).toHaveLength(1)

  profile.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '小红' } } })
  await until('blocked', () => profile.data.status === '请先填写昵称')
  profile.querySelector('#nick').dispatchEvent('nicknamereview', nicknameReviewEvent(true))
  profile.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: ' 小红 ' } } })
  await until('saved', () => /已保存|失败|不能/.test(profile.data.status))
  expect(profile.data.status).toBe('昵称已保存')
  expect((await getAuth().get<{ nickName: string }>('/api/user/me')).nickName).toBe('小红')
})

test('phone: the code is exchanged and the number shown masked; a denial sends nothing', async () => {
  const phone = render('phone')
  phone.querySelector('#bind').dispatchEvent('getphonenumber', phoneEvent.ok(await mintPhoneCode('13812345678')))
  await until('bound', () => /已绑定|失败/.test(phone.data.status))
  expect(phone.querySelector('#number').dom.textContent).toBe('138****5678')
  const sent = fake.requests.length
  phone.querySelector('#bind').dispatchEvent('getphonenumber', phoneEvent.denied())
  await until('denied', () => /拒绝/.test(phone.data.status))
  expect(fake.requests.length).toBe(sent)
})

test('settings: denied at the prompt, then granted through the settings page', async () => {
  const settings = render('settings')
  fake.userChoices.authorize = 'deny'
  settings.querySelector('#album').dispatchEvent('tap')
  await until('denied', () => settings.data.scopeState)
  expect(settings.data.scopeState).toBe('denied')
  fake.userChoices.openSetting = { 'scope.writePhotosAlbum': true }
  settings.setData({ scopeState: '' })
  settings.querySelector('#album').dispatchEvent('tap')
  await until('granted', () => settings.data.scopeState)
  expect(settings.data.scopeState).toBe('granted')
  expect(fake.modals).toHaveLength(1)
})
