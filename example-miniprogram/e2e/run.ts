/**
 * `npm run example`: the example mini program's whole flow, end to end, over real HTTP.
 * Starts the reference server (a child process on a free loopback port), renders the example's
 * own pages with miniprogram-simulate, with the SDK's fake wx bridged to that server, and walks
 * the flow as a user would. Exits non-zero if a step fails, the server dies, or the run stalls.
 */
import './resolve-sdk'
import type { ChildProcess } from 'node:child_process'
import * as path from 'node:path'
import { installDom } from './dom'
import { createBridgedWx } from './bridge'
import { compileExample } from './compile'
import { spawnServer } from './spawn-server'
import { avatarEvent, nicknameReviewEvent, phoneEvent } from 'weapp-auth/testing'

const root = path.join(__dirname, '..')
const c = (code: number) => (s: string) => (process.stdout.isTTY || process.env.FORCE_COLOR ? `\x1b[${code}m${s}\x1b[0m` : s)
const dim = c(2)
const green = c(32)
const red = c(31)
const cyan = c(36)
const yellow = c(33)
const bold = c(1)
const t0 = Date.now()
const log = (s: string) => console.log(dim(`${String(Date.now() - t0).padStart(5)}ms `) + s)

let server: ChildProcess | null = null
let failed = false
function fail(message: string): never {
  failed = true
  console.error('\n' + red(bold('✗ ' + message)))
  stop(1)
  throw new Error(message)
}
function stop(code: number): void {
  if (server && server.exitCode === null) {
    server.removeAllListeners('exit')
    server.kill()
  }
  process.exit(code)
}
// Watchdog: the whole flow takes a few seconds; never hang.
setTimeout(() => fail('the run took longer than 45 s: a step is stuck'), 45000).unref()

async function startServer(): Promise<string> {
  const spawned = await spawnServer({ EXAMPLE_QUIET: '1' })
  server = spawned.child
  server.on('exit', (code, signal) => {
    if (!failed) fail(`the example server exited unexpectedly (${signal || 'code ' + code}). Its output:\n${spawned.output().slice(-2000)}`)
  })
  return spawned.url
}

async function waitFor<T>(what: string, get: () => T | undefined | null | false, ms = 8000): Promise<T> {
  const start = Date.now()
  for (;;) {
    const v = get()
    if (v) return v
    if (Date.now() - start > ms) fail(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function check(cond: unknown, message: string): void {
  if (!cond) fail(message)
  log(green('  ✓ ') + message)
}

async function main() {
  console.log(bold('weapp-auth example: the whole flow against the reference server\n'))
  const url = await startServer()
  log(cyan('server ') + url + dim(' (mock code2Session, real HTTP over loopback)'))
  const api = async (p: string, init?: RequestInit) => (await fetch(url + p, init)).json()

  // The fake wx, bridged to the server; every request is logged with its status.
  const fake = createBridgedWx((req, status) => {
    const p = req.url.replace(url, '')
    const auth = req.header.Authorization ? dim(' [Bearer …' + req.header.Authorization.slice(-6) + ']') : ''
    const col = typeof status === 'number' && status < 400 ? green : status === 401 ? yellow : red
    log(`${cyan(req.kind === 'upload' ? 'upload ' : 'request')} ${req.method} ${p} → ${col(String(status))}${auth}`)
  })
  const g = global as unknown as Record<string, unknown>
  g.wx = fake.wx // before miniprogram-simulate: it keeps the methods of an existing wx
  installDom()
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const simulate = require('miniprogram-simulate')

  // The example's config, then its app.ts: App() runs onLaunch → checkAndLogin().
  const mp = compileExample(path.join(root, '..', '.tmp', 'example-build'))
  const { config } = require(path.join(mp, 'config'))
  config.baseURL = url
  // The SDK's decisions (plain "→ 200" lines repeat the request log above them).
  config.debug = (line: string) => /→ \d+$/.test(line) || log(yellow('sdk     ') + line)
  let appDef: { onLaunch?: () => void } = {}
  g.App = (def: typeof appDef) => (appDef = def)
  require(path.join(mp, 'app'))
  const { getAuth } = require(path.join(mp, 'auth'))
  const auth = getAuth()

  const page = (name: string) => {
    const comp = simulate.render(simulate.load(path.join(mp, `pages/${name}/index`), name + '-page', { compiler: 'simulate' }))
    comp.attach(document.createElement('parent-wrapper'))
    return comp
  }
  const stats = () => api('/api/dev/stats') as Promise<{ logins: number; refreshes: number; unauthorized: number }>

  console.log(bold('\n1. Launch → login → home shows the user'))
  appDef.onLaunch!()
  const home = page('home')
  await waitFor('home shows the user', () => home.data.user)
  check((await stats()).logins === 1, 'one login at launch (wx.login → code → POST /api/auth/login)')
  check(home.querySelector('#nick').dom.textContent === '微信用户', `home shows "${home.data.user.nickName}"`)
  check(!JSON.stringify(fake.storageSnapshot()).includes('session_key'), 'storage holds the token record, no session_key or openid')

  console.log(bold('\n2. Token expires → 5 concurrent requests → one renewal → all retried'))
  await api('/api/dev/expire-tokens', { method: 'POST' })
  log(dim('server: every access token issued so far now answers 401'))
  let before = await stats()
  home.querySelector('#reload').dispatchEvent('tap')
  await waitFor('home reloaded', () => /已刷新 5/.test(home.data.status) || /失败/.test(home.data.status))
  let after = await stats()
  check(/已刷新 5/.test(home.data.status), 'all 5 requests succeeded after the renewal')
  check(after.refreshes - before.refreshes === 1 && after.logins === before.logins, 'exactly one renewal for the burst (refresh token, no new login)')

  await api('/api/dev/expire-tokens?refresh=1', { method: 'POST' })
  log(dim('server: access and refresh tokens revoked'))
  before = await stats()
  home.setData({ status: '' })
  home.querySelector('#reload').dispatchEvent('tap')
  await waitFor('home reloaded again', () => /已刷新 5|失败/.test(home.data.status))
  after = await stats()
  check(after.logins - before.logins === 1, 'refresh refused → exactly one full re-login (wx.login afresh) for all 5 requests')

  console.log(bold('\n3. Profile: choose an avatar → uploaded; nickname reviewed → saved'))
  const profile = page('profile')
  profile.querySelector('#avatar').dispatchEvent('chooseavatar', avatarEvent(fake, 'JPEGDATA'))
  await waitFor('avatar uploaded', () => /头像已上传|失败/.test(profile.data.status) && profile.data.status)
  check(profile.data.status === '头像已上传', `avatar uploaded: ${profile.data.avatarUrl.replace(url, '')}`)
  const served = await fetch(profile.data.avatarUrl)
  check(served.status === 200 && (await served.text()) === 'JPEGDATA', 'the server serves the uploaded avatar back')
  profile.querySelector('#nick').dispatchEvent('nicknamereview', nicknameReviewEvent(true))
  profile.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '  小明  ' } } })
  await waitFor('nickname saved', () => /已保存|失败|不能/.test(profile.data.status) && profile.data.status)
  const me = await auth.get('/api/user/me')
  check(me.nickName === '小明', `nickname saved and trimmed: "${me.nickName}"`)

  console.log(bold('\n4. Phone number: the getPhoneNumber code goes to the server'))
  const phone = page('phone')
  phone.querySelector('#bind').dispatchEvent('getphonenumber', phoneEvent.ok())
  await waitFor('phone bound', () => /已绑定|失败/.test(phone.data.status) && phone.data.status)
  check(/^138\*{4}\d{4}$/.test(phone.data.phoneNumber), `phone bound, shown masked: ${phone.data.phoneNumber}`)
  const sentBefore = fake.requests.length
  phone.querySelector('#bind').dispatchEvent('getphonenumber', phoneEvent.denied())
  await waitFor('denial shown', () => /拒绝/.test(phone.data.status))
  check(fake.requests.length === sentBefore, 'a denial shows a message and sends nothing')

  console.log(bold('\n5. Settings: scope denied, then granted via the settings page'))
  const settings = page('settings')
  fake.userChoices.authorize = 'deny'
  settings.querySelector('#album').dispatchEvent('tap')
  await waitFor('first answer', () => settings.data.scopeState)
  check(settings.data.scopeState === 'denied', 'the user says no to the prompt → denied')
  fake.userChoices.openSetting = { 'scope.writePhotosAlbum': true }
  settings.setData({ scopeState: '' })
  settings.querySelector('#album').dispatchEvent('tap')
  await waitFor('second answer', () => settings.data.scopeState)
  check(fake.modals.length === 1 && settings.data.scopeState === 'granted', `rationale shown ("${fake.modals[0] && fake.modals[0].title}") → settings → granted`)

  console.log(bold('\n6. Logout'))
  home.querySelector('#logout').dispatchEvent('tap')
  await waitFor('home shows logged out', () => home.querySelector('#state').dom.textContent === '未登录')
  check(!auth.isLoggedIn() && home.querySelector('#state').dom.textContent === '未登录', 'home shows logged out')
  check(!('weapp-auth' in fake.storageSnapshot()), 'the session record is gone from storage')

  const s = await stats()
  console.log(green(bold(`\n✓ the whole flow passed in ${Date.now() - t0} ms`)) + dim(` (server: ${s.logins} logins, ${s.refreshes} refreshes, ${s.unauthorized} 401s)`))
  stop(0)
}

main().catch((err) => {
  if (!failed) {
    failed = true
    console.error(red(bold('\n✗ ' + ((err && err.message) || String(err)))))
  }
  stop(1)
})
