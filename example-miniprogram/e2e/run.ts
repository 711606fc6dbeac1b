/**
 * `npm run example`: the example mini program's whole flow, end to end, over real HTTP.
 * Starts the kit's fake WeChat API and the server (child processes on free loopback ports),
 * renders the example's own pages with miniprogram-simulate, with the SDK's fake wx bridged to
 * that server, and walks the flow as a user would. Exits non-zero if a step fails, a process dies,
 * or the run stalls.
 *
 * EXAMPLE_SERVER=example (default): the example's own server (example-miniprogram/server, the kit
 * plus its own routes; avatars through the kit's createAvatars). EXAMPLE_SERVER=bin: the bare
 * `weapp-auth-server` bin with its dev endpoints, PUBLIC_URL and UPLOAD_DIR; the avatar is
 * uploaded to its own route.
 *
 * EXAMPLE_PLATFORM=weixin (default) | douyin | alipay | qq: the host the mini program runs on. For
 * another host the run also starts that host's fake API (its own process, its rules: single-use
 * codes, its error shapes, Alipay's RSA2-signed gateway) and configures the server's provider for
 * it; the SDK's fake of that host (`tt`, `my`, `qq`) is installed as its global beside
 * miniprogram-simulate's own `wx`, and the example's `createAuth` (no platform option) must detect
 * it. Steps the host lacks (avatar: chooseAvatar is WeChat's; scopes on Alipay: no my.authorize)
 * are skipped with the reason.
 *
 * EXAMPLE_KIT=dist (default) loads weapp-auth-server's built dist/ (run `npm run build -w
 * weapp-auth-server` first), as an installed package; EXAMPLE_KIT=src runs its sources through tsx
 * (test/example/e2e-hosts.test.ts uses it, so jest needs no server build).
 */
import { MINIPROGRAM_DIST } from './resolve-sdk'
import type { ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { installDom } from './dom'
import { createBridgedHost } from './bridge'
import { compileExample } from './compile'
import { spawnServer, APPID as EXAMPLE_APPID, EXAMPLE_PLATFORMS, type ExamplePlatform, type SpawnedServer } from './spawn-server'
import { avatarEvent, nicknameReviewEvent, phoneEvent, privacyAgreeEvent } from 'weapp-auth/testing'

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

const kind = process.env.EXAMPLE_SERVER || 'example'
if (kind !== 'example' && kind !== 'bin') {
  console.error(`EXAMPLE_SERVER must be example or bin, got ${JSON.stringify(kind)}`)
  process.exit(2)
}
const platform = (process.env.EXAMPLE_PLATFORM || 'weixin') as ExamplePlatform
if (!EXAMPLE_PLATFORMS.includes(platform)) {
  console.error(`EXAMPLE_PLATFORM must be one of ${EXAMPLE_PLATFORMS.join(', ')}, got ${JSON.stringify(process.env.EXAMPLE_PLATFORM)}`)
  process.exit(2)
}
/** What the run says and checks per host. */
interface HostFacts {
  name: string
  /** What the example's server calls a new user (example-miniprogram/server/src/app.ts). */
  nickname: string
  /** The fake host API's call that exchanges a login code. */
  loginApi: string
  /** The client call that yields the login code. */
  loginCall: string
  /** What step 4 sends to the server. */
  phone: string
  /** The fake host API's call that checks a nickname on the server. */
  checkApi: string
}
const ENCRYPTED_PHONE = 'the getPhoneNumber encryptedData/iv go to the server, which decrypts them with the session_key'
const HOSTS: Record<ExamplePlatform, HostFacts> = {
  weixin: { name: 'WeChat', nickname: '微信用户', loginApi: 'jscode2session', loginCall: 'wx.login', phone: 'the getPhoneNumber code goes to the server', checkApi: 'msg_sec_check' },
  qq: { name: 'QQ', nickname: 'QQ用户', loginApi: 'jscode2session', loginCall: 'qq.login', phone: ENCRYPTED_PHONE, checkApi: 'MsgSecCheck' },
  douyin: {
    name: 'Douyin',
    nickname: '抖音用户',
    loginApi: 'jscode2session',
    loginCall: 'tt.login',
    phone: 'the getPhoneNumber code (base library 3.51.0+) goes to the server, which exchanges it with Douyin',
    checkApi: 'antidirt',
  },
  alipay: {
    name: 'Alipay',
    nickname: '支付宝用户',
    loginApi: 'oauth_token',
    loginCall: "my.getAuthCode({ scopes: 'auth_base' })",
    phone: "my.getPhoneNumber's signed, encrypted response goes to the server, which verifies and decrypts it",
    checkApi: 'content_detect',
  },
}
const facts = HOSTS[platform]
const hostName = facts.name
const kit = (process.env.EXAMPLE_KIT || 'dist') as 'dist' | 'src'
if (kit !== 'dist' && kit !== 'src') {
  console.error(`EXAMPLE_KIT must be dist or src, got ${JSON.stringify(kit)}`)
  process.exit(2)
}
let server: ChildProcess | null = null
let spawned: SpawnedServer | null = null
let failed = false
function fail(message: string): never {
  if (!failed) console.error('\n' + red(bold('✗ ' + message)))
  failed = true
  stop(1)
  throw new Error(message)
}
let stopping = false
function stop(code: number): void {
  if (stopping) return
  stopping = true
  // A step can fail on a connection reset a moment before the server's 'exit' event arrives:
  // wait for it briefly, so that a dead server is named as the cause.
  setTimeout(() => {
    const s = spawned
    if (code !== 0 && s) {
      const children: Array<[string, ChildProcess]> = [['the server', s.child], ['the fake WeChat API', s.wechat]]
      if (s.host) children.push([`the fake ${hostName} API`, s.host.child])
      for (const [name, child] of children) {
        if (child.exitCode !== null || child.signalCode !== null) {
          console.error(red(`  cause: ${name} process had exited (${child.signalCode || 'code ' + child.exitCode}). Output:\n`) + s.output().slice(-2000))
        }
      }
    }
    if (s) s.stop()
    else if (server && server.exitCode === null) server.kill()
    process.exit(code)
  }, code === 0 ? 0 : 200)
}
// Watchdog: the whole flow takes a few seconds; never hang.
setTimeout(() => fail('the run took longer than 45 s: a step is stuck'), 45000).unref()

async function startServer(): Promise<SpawnedServer> {
  const s = await spawnServer({ EXAMPLE_QUIET: '1' }, { kind: kind as 'example' | 'bin', kit, platform })
  spawned = s
  server = s.child
  s.child.on('exit', (code, signal) => {
    if (!failed) fail(`the ${kind === 'bin' ? 'weapp-auth-server bin' : 'example server'} exited unexpectedly (${signal || 'code ' + code}). Its output:\n${s.output().slice(-2000)}`)
  })
  s.wechat.on('exit', (code, signal) => {
    if (!failed) fail(`the fake WeChat API exited unexpectedly (${signal || 'code ' + code}). Output:\n${s.output().slice(-2000)}`)
  })
  if (s.host) {
    s.host.child.on('exit', (code, signal) => {
      if (!failed) fail(`the fake ${hostName} API exited unexpectedly (${signal || 'code ' + code}). Output:\n${s.output().slice(-2000)}`)
    })
  }
  return s
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
  console.log(bold(`weapp-auth example on ${hostName}: the whole flow against ${kind === 'bin' ? 'the bare weapp-auth-server bin' : "the example's server (weapp-auth-server + its own routes)"}\n`))
  const started = await startServer()
  const url = started.url
  log(cyan('server ') + url + dim(` (${kind === 'bin' ? 'server/dist/bin.js' : 'example-miniprogram/server'}, pid ${started.child.pid}, real HTTP over loopback)`))
  log(cyan('wechat ') + started.wechatUrl + dim(' (the kit\'s fake WeChat API: codes work once, WeChat\'s errcodes)'))
  if (started.host) log(cyan(platform.padEnd(7)) + started.host.url + dim(` (the kit's fake ${hostName} API, its own process: codes work once, ${hostName}'s error shapes)`))
  const api = async (p: string, init?: RequestInit) => (await fetch(url + p, init)).json()
  const hostStats = async (): Promise<Record<string, number>> => (started.host ? ((await (await fetch(started.host.url + '/__fake/stats')).json()) as Record<string, number>) : {})

  // The host's fake (wx, tt, my or qq), bridged to the server; every request is logged with its status.
  const bridged = createBridgedHost(platform, started.host ? started.host.url : null, (req, status) => {
    const p = req.url.replace(url, '')
    const auth = req.header.Authorization ? dim(' [Bearer …' + req.header.Authorization.slice(-6) + ']') : ''
    const col = typeof status === 'number' && status < 400 ? green : status === 401 ? yellow : red
    log(`${cyan(req.kind === 'upload' ? 'upload ' : 'request')} ${req.method} ${p} → ${col(String(status))}${auth}`)
  })
  const fake = bridged.fake
  const g = global as unknown as Record<string, unknown>
  // WeChat: before miniprogram-simulate, which keeps the methods of an existing wx. Other hosts: the
  // host's global beside simulate's own wx, as on a device running that host.
  g[bridged.globalName] = bridged.global
  installDom()
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const simulate = require('miniprogram-simulate')

  // The example's config, then its app.ts: App() runs onLaunch → checkAndLogin().
  // One build directory per run: runs side by side (npm test starts Douyin's and Alipay's at once)
  // must not overwrite each other's pages. Removed when the process exits.
  const buildDir = path.join(root, '..', '.tmp', `example-build-${process.pid}`)
  process.on('exit', () => fs.rmSync(buildDir, { recursive: true, force: true }))
  const mp = compileExample(buildDir)
  const { config } = require(path.join(mp, 'config'))
  config.baseURL = url
  // The SDK's decisions (plain "→ 200" lines repeat the request log above them).
  config.debug = (line: string) => /→ \d+$/.test(line) || log(yellow('sdk     ') + line)
  let appDef: { onLaunch?: () => void } = {}
  g.App = (def: typeof appDef) => (appDef = def)
  require(path.join(mp, 'app'))
  const { getAuth } = require(path.join(mp, 'auth'))
  const auth = getAuth()
  if (platform !== 'weixin') {
    // The detection order is qq, tt, my, wx: the host's global wins over simulate's wx.
    check(typeof g.wx === 'object' && g.wx !== null && auth.platform.host === platform, `createAuth() with no platform option detected ${hostName} (global ${bridged.globalName}) although miniprogram-simulate defines a global wx`)
  }
  // What the host lacks shows in its calls: the chooseAvatar button is WeChat's alone, and the
  // adapter leaves out a call its host does not have (Alipay: authorize). docs/platforms.md.
  const hasChooseAvatar = auth.platform.host === 'weixin'
  const hasAuthorize = typeof auth.platform.authorize === 'function'

  // The pages' usingComponents name 'weapp-auth/components/<name>/index', which DevTools finds in
  // miniprogram_npm after "build npm": here, the built components in miniprogram_dist.
  const usingComponents = (name: string): Record<string, string> => {
    const out: Record<string, string> = {}
    for (const c of ['profile-form', 'phone-button', 'privacy-popup', 'login-panel']) out['auth-' + c] = path.relative(path.join(mp, 'pages', name), path.join(MINIPROGRAM_DIST, 'components', c, 'index'))
    return out
  }
  const page = (name: string) => {
    const comp = simulate.render(simulate.load(path.join(mp, `pages/${name}/index`), name + '-page', { compiler: 'simulate', usingComponents: usingComponents(name) }))
    comp.attach(document.createElement('parent-wrapper'))
    return comp
  }
  const stats = () => api('/api/dev/stats') as Promise<{ logins: number; refreshes: number; unauthorized: number }>

  console.log(bold('\n1. Launch → login → home shows the user'))
  appDef.onLaunch!()
  const home = page('home')
  await waitFor('home shows the user', () => home.data.user)
  check((await stats()).logins === 1, `one login at launch (${facts.loginCall} → code → POST /api/auth/login)`)
  if (platform !== 'weixin') {
    const loginBody = fake.requests.find((r) => r.url.endsWith('/api/auth/login'))!.data as Record<string, unknown>
    check(loginBody.platform === platform && (platform !== 'douyin' || typeof loginBody.anonymousCode === 'string'), `the login body says where the code comes from: ${JSON.stringify(Object.keys(loginBody))}, platform "${loginBody.platform}"`)
    const calls = await hostStats()
    check(calls[facts.loginApi] === 1, `the server exchanged the code with the fake ${hostName} API (${facts.loginApi}: ${calls[facts.loginApi]})`)
  } else {
    const loginBody = fake.requests.find((r) => r.url.endsWith('/api/auth/login'))!.data as Record<string, unknown>
    check(loginBody.appid === EXAMPLE_APPID, `the login body names the mini program (appid ${loginBody.appid}), which the server checks against the apps it serves`)
  }
  // The bin's users are the kit's default (every new user is "微信用户"); the example's server names them per host.
  check(home.querySelector('#nick').dom.textContent === (kind === 'bin' ? '微信用户' : facts.nickname), `home shows "${home.data.user.nickName}"`)
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
  check(after.logins - before.logins === 1, `refresh refused → exactly one full re-login (${facts.loginCall} afresh) for all 5 requests`)

  console.log(bold('\n3. Profile: choose an avatar → uploaded; nickname reviewed → saved'))
  const profile = page('profile')
  // <auth-profile-form> inside the page: the same buttons and input, and its state.
  const form = profile.querySelector('#profile')
  check(!!form && form.data.wired === true, '<auth-profile-form> is wired to the app\'s instance by the one provideAuth(auth) line in app.ts')
  if (!hasChooseAvatar) {
    log(yellow('  – skipped: ') + `avatar upload — ${hostName} has no chooseAvatar button (docs/platforms.md, "Client: open abilities")`)
  } else {
    // A JPEG as far as its first bytes go: the bin reads the type from them, not from the name.
    const JPEG = '\xff\xd8\xff\xe0JPEGDATA'
    form.querySelector('#avatar').dispatchEvent('chooseavatar', avatarEvent(fake, JPEG))
    await waitFor('avatar uploaded', () => /uploaded|error/.test(form.data.state) && form.data.state)
    check(form.data.state === 'uploaded' && form.data.status === '头像已上传', `avatar uploaded: ${form.data.avatarUrl.replace(url, '')}`)
    const served = await fetch(form.data.avatarUrl)
    check(served.status === 200 && Buffer.from(await served.arrayBuffer()).equals(Buffer.from(JPEG, 'latin1')), 'the server serves the uploaded avatar back')
  }
  form.querySelector('#nick').dispatchEvent('nicknamereview', nicknameReviewEvent(true))
  form.querySelector('#form').dispatchEvent('submit', { detail: { value: { nickName: '  小明  ' } } })
  await waitFor('nickname saved', () => /saved|error|invalid/.test(form.data.state) && form.data.state)
  check(form.data.state === 'saved' && profile.data.nickName === '小明', `the form says "${form.data.status}", and its saved event reached the page ("${profile.data.nickName}")`)
  const me = await auth.get('/api/user/me')
  check(me.nickName === '小明', `nickname saved and trimmed: "${me.nickName}"`)
  const checked = platform === 'weixin' ? ((await (await fetch(started.wechatUrl + '/__fake/stats')).json()) as Record<string, number>) : await hostStats()
  check(checked[facts.checkApi] >= 1, `${hostName}'s own content check read the nickname on the server (${facts.checkApi}: ${checked[facts.checkApi]})`)

  console.log(bold('\n4. Phone number: ' + facts.phone))
  const phone = page('phone')
  let grant: { detail: Record<string, unknown> }
  if (platform === 'weixin') {
    // The code WeChat would put in the button's event, minted by the fake WeChat for a known number.
    const minted = await fetch(started.wechatUrl + '/__fake/phone-codes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phoneNumber: '13812345678' }) })
    const { code: phoneCode } = (await minted.json()) as { code: string }
    grant = phoneEvent.ok(phoneCode)
  } else if (platform === 'douyin') {
    // The code Douyin puts in the button's event from base library 3.51.0, minted by the fake Douyin.
    const minted = await fetch(started.host!.url + '/__fake/phone-codes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phoneNumber: '13812345678' }) })
    const { code: phoneCode } = (await minted.json()) as { code: string }
    grant = { detail: { errMsg: 'getPhoneNumber:ok', code: phoneCode } }
  } else if (platform === 'alipay') {
    // The getAuthorize button's event carries nothing: bindPhoneNumber calls my.getPhoneNumber, whose
    // bridged fake answers a real response of the fake Alipay (signed with Alipay's key, AES with the app's).
    bridged.alipayPhoneNumber = '13812345678'
    grant = { detail: {} }
  } else {
    // What the host puts in the button's event: encrypted by the fake host API with this user's session_key.
    grant = { detail: (await bridged.phoneDetail('13812345678'))! }
  }
  // <auth-phone-button> inside the page.
  const button = phone.querySelector('#phone')
  button.querySelector('#phone').dispatchEvent('getphonenumber', grant)
  await waitFor('phone bound', () => /bound|error|quota/.test(button.data.state) && button.data.state)
  check(button.data.phoneNumber === '138****5678' && phone.data.phoneNumber === '138****5678', `phone bound, shown masked: ${button.data.phoneNumber || button.data.status}`)
  const phoneBody = fake.requests.filter((r) => r.url.endsWith('/api/auth/phone')).pop()!.data as Record<string, unknown>
  check(phoneBody.platform === platform, `the phone body carried what ${hostName} hands out: ${JSON.stringify(Object.keys(phoneBody))}`)
  const sentBefore = fake.requests.length
  if (platform === 'alipay') {
    bridged.alipayPhoneChoice = 'deny'
    button.querySelector('#phone').dispatchEvent('getphonenumber', { detail: {} })
  } else {
    button.querySelector('#phone').dispatchEvent('getphonenumber', phoneEvent.denied())
  }
  await waitFor('denial shown', () => /denied|error|quota/.test(button.data.state) && button.data.state)
  check(button.data.state === 'denied' && /拒绝/.test(button.data.status) && fake.requests.length === sentBefore, `a denial shows "${button.data.status}" and sends nothing`)

  console.log(bold('\n4b. Privacy: the host asks → the popup of the page on screen → agree'))
  if (platform !== 'weixin') {
    log(yellow('  – skipped: ') + `${hostName} declares no privacy contract calls (docs/platforms.md, "Client: open abilities")`)
  } else {
    const { ensurePrivacyAuthorized } = require('weapp-auth/open') as typeof import('weapp-auth/open')
    const wxFake = fake as unknown as { privacy: { needAuthorization: boolean }; privacyAgreeTaps: string[] }
    wxFake.privacy.needAuthorization = true
    let agreed = false
    ensurePrivacyAuthorized({ platform: auth.platform }).then(() => (agreed = true), () => undefined)
    // The profile and phone pages each hold one; the phone page, opened last, is on screen.
    const popup = phone.querySelector('#privacy')
    const shown = await waitFor('the popup shown', () => popup && popup.data.show && popup)
    check(shown.data.contract === '《示例小程序隐私保护指引》', `the phone page's popup shows the contract from getPrivacySetting: ${shown.data.contract}`)
    check(!profile.querySelector('#privacy').data.show, "the profile page's popup stays closed: one popup answers")
    shown.querySelector('#auth-privacy-agree').dispatchEvent('agreeprivacyauthorization', privacyAgreeEvent(wxFake, 'auth-privacy-agree'))
    await waitFor('the privacy call goes on', () => agreed)
    check(!wxFake.privacy.needAuthorization && !shown.data.show, 'agree (the tapped agreePrivacyAuthorization button) → the waiting call goes on, the popup closes')
  }

  console.log(bold('\n5. Settings: scope denied, then granted via the settings page'))
  if (!hasAuthorize) {
    log(yellow('  – skipped: ') + `${hostName} has no authorize call to ask for a scope (docs/platforms.md, "Client: open abilities")`)
  } else {
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
  }

  console.log(bold('\n6. Logout'))
  home.querySelector('#logout').dispatchEvent('tap')
  await waitFor('home shows logged out', () => home.querySelector('#state').dom.textContent === '未登录')
  check(!auth.isLoggedIn() && home.querySelector('#state').dom.textContent === '未登录', 'home shows logged out')
  check(!('weapp-auth' in fake.storageSnapshot()), 'the session record is gone from storage')

  console.log(bold('\n7. Log out everywhere, then delete the account (the server is told first)'))
  const first = await auth.login()
  const second = await auth.login().then(() => auth.logout()).then(() => auth.login())
  const sessions = (await auth.get('/api/auth/sessions')) as { sessions: Array<{ current: boolean }> }
  check(sessions.sessions.length >= 2 && sessions.sessions.filter((x) => x.current).length === 1, `GET /api/auth/sessions lists ${sessions.sessions.length} sessions, the current one marked, no token`)
  const refusedAfter = async (token: string) => (await fetch(url + '/api/user/me', { headers: { authorization: 'Bearer ' + token } })).status
  await auth.logout({ everywhere: true })
  check(!auth.isLoggedIn(), 'auth.logout({ everywhere: true }) logged out here')
  check((await refusedAfter(first.token)) === 401 && (await refusedAfter(second.token)) === 401, "every earlier session's token is refused by the server at once (401)")
  const kept = (await auth.login()).user as { id: string }
  const { deleteAccount } = require('weapp-auth/open') as typeof import('weapp-auth/open')
  const doomed = auth.getToken() as string
  await deleteAccount(auth)
  check(!auth.isLoggedIn() && (await refusedAfter(doomed)) === 401, 'deleteAccount(auth): DELETE /api/user/me → 204, logged out, the token refused')
  const fresh = (await auth.login()).user as { id: string; nickName?: string }
  check(fresh.id !== kept.id && fresh.nickName === (kind === 'bin' ? '微信用户' : facts.nickname), `logging in again starts a new account (a new id, the nickname back to "${fresh.nickName}")`)
  auth.logout()

  const s = await stats()
  const calls = (await (await fetch(started.wechatUrl + '/__fake/stats')).json()) as Record<string, number>
  if (platform === 'weixin') {
    check(calls.jscode2session === s.logins, `WeChat saw one jscode2session per login (${calls.jscode2session})`)
    check(calls.stable_token === 1, 'one stable_token call: the access_token is cached on the server (phone and nickname check shared it)')
  } else {
    const host = await hostStats()
    check(host[facts.loginApi] === s.logins, `${hostName} saw one ${facts.loginApi} per login (${host[facts.loginApi]})`)
    const toWechat = Object.values(calls).reduce((a, b) => a + b, 0)
    check(toWechat === 0, `nothing of ${platform === "alipay" ? "an" : "a"} ${hostName} user went to WeChat (${toWechat} calls)`)
  }
  const hostCalls = platform === 'weixin' ? '' : `; fake ${hostName}: ${JSON.stringify(await hostStats())}`
  console.log(
    green(bold(`\n✓ the whole flow passed on ${hostName} in ${Date.now() - t0} ms`)) +
      dim(` (server: ${s.logins} logins, ${s.refreshes} refreshes, ${s.unauthorized} 401s; fake WeChat: ${calls.jscode2session} jscode2session, ${calls.stable_token} stable_token, ${calls.getuserphonenumber} getuserphonenumber, ${calls.msg_sec_check} msg_sec_check${hostCalls})`),
  )
  stop(0)
}

main().catch((err) => {
  if (!failed) {
    failed = true
    console.error(red(bold('\n✗ ' + ((err && err.message) || String(err)))))
  }
  stop(1)
})
