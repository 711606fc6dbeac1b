/**
 * One person across a company's apps: two WeChat mini programs of one open-platform account, each
 * its own server with its own AppID and fake WeChat, sharing one store (a real Redis). The same
 * unionid is one user; a QQ user with the same unionid string is another person; two accounts
 * that turn out to share a unionid are never merged, and the app is told. No answer carries an
 * openid, a unionid or a session_key.
 */
import { createAuthServer, redisStore, type AuthServer, type Store } from 'weapp-auth-server'
import { createFakeQq, createFakeWechat, type FakeQq, type FakeWechat } from 'weapp-auth-server/testing'
import { qqProvider } from 'weapp-auth-server'
import { startRedis, type RedisHandle } from './helpers/redis'

const JWT_SECRET = 'unionid-test-jwt-secret-at-least-32-bytes!!'
const SHOP = { appid: 'wxshop000000000001', secret: 'shop-app-secret-0000000000000000' }
const MEMBER = { appid: 'wxmember0000000001', secret: 'member-app-secret-00000000000000' }
const QQ = { appid: '1112223335', secret: 'unionid-test-qq-secret-000000000' }

let redis: RedisHandle
let shopWx: FakeWechat
let memberWx: FakeWechat
let qqHost: FakeQq
let stores: Store[] = []
let shop: AuthServer
let member: AuthServer
const conflicts: Array<{ platform: string; kept: string; other: string }> = []

beforeAll(async () => {
  ;[redis, shopWx, memberWx, qqHost] = await Promise.all([startRedis(), createFakeWechat(SHOP), createFakeWechat(MEMBER), createFakeQq(QQ)])
  const make = (app: { appid: string; secret: string }, fake: FakeWechat) => {
    const store = redisStore(redis.url)
    stores.push(store)
    return createAuthServer({
      ...app,
      jwt: { secret: JWT_SECRET },
      store,
      wxApiBase: fake.url,
      loginRateLimit: false,
      providers: { qq: qqProvider({ ...QQ, apiBase: qqHost.url }) },
      onIdentityConflict: (c) => void conflicts.push(c),
    })
  }
  shop = make(SHOP, shopWx)
  member = make(MEMBER, memberWx)
})

afterAll(async () => {
  await Promise.all([shop?.close(), member?.close()])
  await Promise.all(stores.map((s) => s.close()))
  await Promise.all([redis?.stop(), shopWx?.close(), memberWx?.close(), qqHost?.close()])
})

test('the same person in the shop and the member app is one user, with one profile', async () => {
  const inShop = await shop.login({ code: shopWx.mintCode('openid-shop-1', { unionid: 'UNION-1' }) })
  await (shop.users as unknown as { updateUser(id: string, p: object): Promise<unknown> }).updateUser(String(inShop.user.id), { nickName: '小林' })
  const inMember = await member.login({ code: memberWx.mintCode('openid-member-1', { unionid: 'UNION-1' }) })
  expect(inMember.user.id).toBe(inShop.user.id)
  expect(inMember.user).toMatchObject({ nickName: '小林' })
  // Each token opens the account on either server (one store, one user).
  expect((await member.verify(inShop.token)).sub).toBe(inShop.user.id)
  for (const answer of [inShop, inMember]) {
    const text = JSON.stringify(answer)
    for (const secret of ['openid-shop-1', 'openid-member-1', 'UNION-1', shopWx.sessionKeyOf('openid-shop-1') as string, memberWx.sessionKeyOf('openid-member-1') as string]) {
      expect(text).not.toContain(secret)
    }
  }
})

test('a user first seen before the app was bound keeps their account when the unionid arrives, and the other app finds it', async () => {
  const before = await shop.login({ code: shopWx.mintCode('openid-shop-2') })
  const bound = await shop.login({ code: shopWx.mintCode('openid-shop-2', { unionid: 'UNION-2' }) })
  expect(bound.user.id).toBe(before.user.id)
  const elsewhere = await member.login({ code: memberWx.mintCode('openid-member-2', { unionid: 'UNION-2' }) })
  expect(elsewhere.user.id).toBe(before.user.id)
})

test('two accounts that turn out to share a unionid are never merged silently: each keeps its own, and onIdentityConflict names both', async () => {
  const a = await shop.login({ code: shopWx.mintCode('openid-shop-3') })
  const b = await member.login({ code: memberWx.mintCode('openid-member-3') })
  expect(a.user.id).not.toBe(b.user.id)
  expect((await shop.login({ code: shopWx.mintCode('openid-shop-3', { unionid: 'UNION-3' }) })).user.id).toBe(a.user.id)
  const clash = await member.login({ code: memberWx.mintCode('openid-member-3', { unionid: 'UNION-3' }) })
  expect(clash.user.id).toBe(b.user.id)
  expect(conflicts).toContainEqual({ platform: 'weixin', kept: b.user.id, other: a.user.id })
})

test("QQ's unionid is its own space: the same string on QQ is another person", async () => {
  const wx = await shop.login({ code: shopWx.mintCode('openid-shop-4', { unionid: 'SAME-STRING' }) })
  const qq = await shop.login({ code: qqHost.mintCode('qq-openid-4', { unionid: 'SAME-STRING' }), platform: 'qq' })
  expect(qq.user.id).not.toBe(wx.user.id)
})

test('deleting the account in one app ends it in both; the person later starts again as one new user', async () => {
  const inShop = await shop.login({ code: shopWx.mintCode('openid-shop-5', { unionid: 'UNION-5' }) })
  const inMember = await member.login({ code: memberWx.mintCode('openid-member-5', { unionid: 'UNION-5' }) })
  await member.deleteUser(String(inMember.user.id))
  await expect(shop.verify(inShop.token)).rejects.toMatchObject({ status: 401 })
  const again = await shop.login({ code: shopWx.mintCode('openid-shop-5', { unionid: 'UNION-5' }) })
  expect(again.user.id).not.toBe(inShop.user.id)
  expect((await member.login({ code: memberWx.mintCode('openid-member-5', { unionid: 'UNION-5' }) })).user.id).toBe(again.user.id)
})
