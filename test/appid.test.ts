/**
 * The login names its mini program: the SDK sends `appid` from getAccountInfoSync, so one server
 * can serve several apps; DevTools' tourist id is never sent, and a `login.data.appid` of yours wins.
 */
import { setup } from './helpers/setup'

const loginBody = (fake: ReturnType<typeof setup>['fake']) => fake.requests.find((r) => r.path === '/api/auth/login')!.data as Record<string, unknown>

test('the AppID the host reports goes with the code and the host', async () => {
  const { auth, fake } = setup({ wx: { appId: 'wx0123456789abcdef' } })
  await auth.login()
  expect(loginBody(fake)).toEqual({ appid: 'wx0123456789abcdef', code: fake.issuedCodes[0], platform: 'weixin' })
})

test("DevTools' tourist id (no AppID) is not sent", async () => {
  const { auth, fake } = setup()
  await auth.login()
  expect(loginBody(fake)).toEqual({ code: fake.issuedCodes[0], platform: 'weixin' })
})

test('login.data.appid of yours wins; the code and the host are always the SDK\'s', async () => {
  const { auth, fake } = setup({ wx: { appId: 'wx0123456789abcdef' }, auth: { login: { url: '/api/auth/login', data: { appid: 'wxmine', code: 'forged', platform: 'qq' } } } })
  await auth.login()
  expect(loginBody(fake)).toEqual({ appid: 'wxmine', code: fake.issuedCodes[0], platform: 'weixin' })
})
