/**
 * Several WeChat mini programs on one server: each app's code is exchanged with its own secret,
 * each has its own access_token, a login names its app (never guessed), and the phone number and
 * the text check use the app the session logged in to, through refreshes too.
 */
import { createAuthServer, memoryStore, type AuthServer, type Store } from 'weapp-auth-server'
import { createFakeWechat, type FakeWechat } from 'weapp-auth-server/testing'
import { loadConfig } from '../src/config'
import { payloadOf, rejection } from './helpers/kit'

const SHOP = { appid: 'wxshopapps00000001', secret: 'shop-apps-secret-00000000000000000' }
const MEMBER = { appid: 'wxmemberapps000001', secret: 'member-apps-secret-000000000000000' }

let shopWx: FakeWechat
let memberWx: FakeWechat
let store: Store
let auth: AuthServer

beforeAll(async () => {
  // Two mini programs, two WeChat APIs: each fake knows one AppID and answers only its own codes.
  ;[shopWx, memberWx] = await Promise.all([createFakeWechat(SHOP), createFakeWechat(MEMBER)])
  store = memoryStore()
})

afterAll(async () => {
  await auth?.close()
  await store?.close()
  await Promise.all([shopWx?.close(), memberWx?.close()])
})

/** The access_tokens the member app's fake handed out (so calls made with one go to it). */
const memberTokens = new Set<string>()

/** One fetch for both fakes: a call naming the member app's AppID, or using its token, goes to its fake. */
function routedFetch(): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input))
    const body = typeof init?.body === 'string' ? init.body : ''
    const member = url.searchParams.get('appid') === MEMBER.appid || body.includes(MEMBER.appid) || memberTokens.has(url.searchParams.get('access_token') ?? '')
    const target = new URL((member ? memberWx : shopWx).url)
    url.protocol = target.protocol
    url.host = target.host
    const res = await fetch(url, init)
    if (member && /token/.test(url.pathname)) {
      const json = (await res.clone().json()) as { access_token?: string }
      if (json.access_token) memberTokens.add(json.access_token)
    }
    return res
  }) as typeof fetch
}

test('a login names its app: each is exchanged with its own secret, and the token carries the app', async () => {
  auth = createAuthServer({ ...SHOP, apps: [MEMBER], jwt: { secret: 'apps-test-jwt-secret-at-least-32-bytes!!' }, store, loginRateLimit: false, fetch: routedFetch(), wxApiBase: shopWx.url })
  const inShop = await auth.login({ code: shopWx.mintCode('o-shop'), appid: SHOP.appid })
  const inMember = await auth.login({ code: memberWx.mintCode('o-member'), appid: MEMBER.appid })
  expect(payloadOf(inShop.token)).toMatchObject({ plt: 'weixin', app: SHOP.appid })
  expect(payloadOf(inMember.token)).toMatchObject({ plt: 'weixin', app: MEMBER.appid })
  expect(shopWx.calls.jscode2session).toBe(1)
  expect(memberWx.calls.jscode2session).toBe(1)
  // The app survives a refresh (kept with the session), and the sessions list names it.
  const refreshed = await auth.refresh(inMember.refreshToken)
  expect(payloadOf(refreshed.token)).toMatchObject({ app: MEMBER.appid })
  const sessions = await auth.sessions(String(inMember.user.id))
  expect(sessions.map((s) => s.appid)).toEqual([MEMBER.appid])
})

test('no appid while several apps are served, or an app this server does not serve: 400 unknown_app, nothing sent to WeChat', async () => {
  const before = shopWx.calls.jscode2session + memberWx.calls.jscode2session
  expect(await rejection(auth.login({ code: shopWx.mintCode('o-x') }))).toMatchObject({ code: 'unknown_app', status: 400 })
  expect(await rejection(auth.login({ code: shopWx.mintCode('o-y'), appid: 'wxsomeoneelse00001' }))).toMatchObject({ code: 'unknown_app', status: 400 })
  expect(shopWx.calls.jscode2session + memberWx.calls.jscode2session).toBe(before)
})

test('each app has its own access_token, and a phone code is exchanged with the app the user logged in to', async () => {
  const shopToken = await auth.accessToken({ appid: SHOP.appid })
  const memberToken = await auth.accessToken({ appid: MEMBER.appid })
  expect(shopToken).not.toBe(memberToken)
  const login = await auth.login({ code: memberWx.mintCode('o-phone'), appid: MEMBER.appid })
  const claims = await auth.verify(login.token)
  const info = await auth.phoneNumber(String(claims.sub), memberWx.mintPhoneCode('13800001111'), { platform: 'weixin', appid: claims.app })
  expect(info.purePhoneNumber).toBe('13800001111')
  expect(memberWx.calls.getuserphonenumber).toBe(1)
  expect(shopWx.calls.getuserphonenumber).toBe(0)
  // The nickname check too: msg_sec_check of the member app, with the member app's openid.
  expect(await auth.checkText(String(claims.sub), '小明', 1, { platform: 'weixin', appid: claims.app })).toMatchObject({ suggest: 'pass' })
  expect(await auth.checkText(String(claims.sub), '违规的名字', 1, { platform: 'weixin', appid: claims.app })).toMatchObject({ suggest: 'risky' })
  expect(memberWx.calls.msg_sec_check).toBe(2)
  expect(shopWx.calls.msg_sec_check).toBe(0)
  // Several apps and a session naming none: refused, never guessed.
  expect(await rejection(auth.checkText(String(claims.sub), '小明', 1, { platform: 'weixin' }))).toMatchObject({ code: 'unknown_app' })
})

test('one app only: the appid may be left out, and another app\'s AppID is still refused', async () => {
  const single = createAuthServer({ ...SHOP, jwt: { secret: 'apps-test-jwt-secret-at-least-32-bytes!!' }, store: memoryStore(), loginRateLimit: false, wxApiBase: shopWx.url })
  try {
    await expect(single.login({ code: shopWx.mintCode('o-single') })).resolves.toBeTruthy()
    await expect(single.login({ code: shopWx.mintCode('o-single'), appid: SHOP.appid })).resolves.toBeTruthy()
    expect(await rejection(single.login({ code: shopWx.mintCode('o-single'), appid: MEMBER.appid }))).toMatchObject({ code: 'unknown_app' })
  } finally {
    await single.close()
  }
})

test('WX_APPS: pairs parsed, named in one message when wrong, and an AppID given twice refused', () => {
  const base = { JWT_SECRET: 'apps-test-jwt-secret-at-least-32-bytes!!' }
  expect(loadConfig({ ...base, WX_APPS: `${SHOP.appid}:${SHOP.secret}, ${MEMBER.appid}:${MEMBER.secret}` })).toMatchObject({
    appid: SHOP.appid,
    secret: SHOP.secret,
    moreApps: [MEMBER],
  })
  expect(loadConfig({ ...base, WX_APPID: SHOP.appid, WX_SECRET: SHOP.secret, WX_APPS: `${MEMBER.appid}:${MEMBER.secret}` }).moreApps).toEqual([MEMBER])
  expect(() => loadConfig({ ...base, WX_APPS: 'wxnosecret' })).toThrow(/WX_APPS must be appid:secret pairs/)
  expect(() => loadConfig({ ...base, WX_APPID: SHOP.appid, WX_SECRET: SHOP.secret, WX_APPS: `${SHOP.appid}:x` })).toThrow(/twice/)
})
