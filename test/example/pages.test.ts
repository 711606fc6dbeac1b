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
const DIST_COMPONENTS = path.join(__dirname, '../../miniprogram_dist/components')
// simulate registers a component anew for each load() and runs its JS again to do so (it clears
// Node's require cache); jest keeps a cache of its own, so the built components' JS is run afresh
// here. Their own requires (../index.js, the registry of provideAuth; ../../open.js) stay cached: one copy.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const simulateUtils = require('miniprogram-simulate/src/utils') as { runJs(file: string): void }
const runJs = simulateUtils.runJs
simulateUtils.runJs = (file: string) => {
  if (!file.startsWith(DIST_COMPONENTS + path.sep)) return runJs(file)
  const js = file.endsWith('.js') ? file : file + '.js'
  const mod = { exports: {} }
  new Function('require', 'module', 'exports', fs.readFileSync(js, 'utf8'))((p: string) => require(path.resolve(path.dirname(js), p)), mod, mod.exports)
}
// The server runs in its own process, as in `npm run example` (and jose stays out of jsdom).
let srv: SpawnedServer
let uploadDir: string
const ids: Record<string, string> = {}

beforeAll(async () => {
  uploadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-example-'))
  srv = await spawnServer({ UPLOAD_DIR: uploadDir, EXAMPLE_QUIET: '1' })
  config.baseURL = srv.url
  // What the example's app.ts does, in one line, with the copy of weapp-auth/components that the
  // built components require (both are in miniprogram_npm after "build npm").
  ;(require(path.join(DIST_COMPONENTS, 'index.js')) as typeof import('weapp-auth/components')).provideAuth(getAuth())
  // The pages name 'weapp-auth/components/<name>/index' (miniprogram_npm after "build npm"): here,
  // the built components, only those the page's JSON names.
  const usingComponents = (name: string): Record<string, string> => {
    const out: Record<string, string> = {}
    const json = JSON.parse(fs.readFileSync(path.join(pagesDir, name, 'index.json'), 'utf8')) as { usingComponents: Record<string, string> }
    for (const tag of Object.keys(json.usingComponents)) out[tag] = path.relative(path.join(pagesDir, name), path.join(DIST_COMPONENTS, tag.replace(/^auth-/, ''), 'index'))
    return out
  }
  for (const name of ['home', 'profile', 'phone', 'settings']) ids[name] = simulate.load(path.join(pagesDir, name, 'index'), name + '-page', { compiler: 'simulate', usingComponents: usingComponents(name) })
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

test('profile: <auth-profile-form> uploads the avatar (served back) and saves the reviewed nickname', async () => {
  const profile = render('profile')
  const form = profile.querySelector('#profile')
  // A JPEG by its first bytes (the server reads the type from them).
  form.querySelector('#avatar').dispatchEvent('chooseavatar', avatarEvent(fake, '\xff\xd8\xff\xe0IMG'))
  await until('upload', () => /uploaded|error/.test(form.data.state))
  expect(form.data.status).toBe('头像已上传')
  expect(form.data.avatarUrl).toMatch(new RegExp('^' + srv.url + '/uploads/'))
  expect(fs.readdirSync(uploadDir)).toHaveLength(1)

  form.querySelector('#nick').dispatchEvent('nicknamereview', nicknameReviewEvent(false))
  form.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '' } } })
  await until('blocked', () => form.data.state === 'review-failed')
  form.querySelector('#nick').dispatchEvent('nicknamereview', nicknameReviewEvent(true))
  form.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: ' 小红 ' } } })
  await until('saved', () => /saved|error|invalid/.test(form.data.state))
  expect(form.data.status).toBe('已保存')
  expect(profile.data.nickName).toBe('小红')
  expect((await getAuth().get<{ nickName: string }>('/api/user/me')).nickName).toBe('小红')
})

test('phone: <auth-phone-button> exchanges the code and the page shows the number masked; a denial sends nothing', async () => {
  const phone = render('phone')
  const button = phone.querySelector('#phone')
  button.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.ok(await mintPhoneCode('13812345678')))
  await until('bound', () => /bound|error/.test(button.data.state))
  expect(phone.querySelector('#number').dom.textContent).toBe('138****5678')
  const sent = fake.requests.length
  button.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.denied())
  await until('denied', () => button.data.state === 'denied')
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
