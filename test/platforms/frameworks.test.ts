import { AuthError } from 'weapp-auth'
import { taroPlatform } from '../../src/platforms/taro'
import { uniPlatform } from '../../src/platforms/uni-app'
import { detectPlatform } from '../../src/platforms/detect'
import { createFakeTaro, createFakeUni } from '../../src/testing/fake-framework'
import { createFakeMy } from '../../src/testing/fake-my'
import { createFakeQq } from '../../src/testing/fake-qq'
import { createFakeTt } from '../../src/testing/fake-tt'
import { createFakeWx } from '../../src/testing/fake-wx'
import { call } from './call'

describe('uni-app built for Alipay: the status of an HTTP error (my.request error 19) as uni passes it on', () => {
  const handler = (r: { path: string; header: Record<string, string> }) =>
    r.path === '/login' ? { data: { token: 'fresh' } } : r.header.Authorization === 'Bearer fresh' ? { data: { ok: 1 } } : { statusCode: 401, data: { error: 'token_expired' } }

  it('with the status (uni keeps it as statusCode on fail): a 401 is an answer, and the SDK renews and retries', async () => {
    const fake = createFakeUni({ uniPlatform: 'mp-alipay', handler })
    fake.wx.setStorageSync('weapp-auth', { v: 1, token: 'stale' })
    const p = uniPlatform(fake.uni as any)
    const raw = await call(p.request, { url: 'https://api.example.com/x', header: { Authorization: 'Bearer stale' } })
    expect(raw.res).toMatchObject({ statusCode: 401, data: { error: 'token_expired' } })
    const { createAuth } = await import('weapp-auth')
    const auth = createAuth({ baseURL: 'https://api.example.com', login: { url: '/login' }, platform: fake.uni })
    await expect(auth.get('/x')).resolves.toEqual({ ok: 1 })
    expect(fake.calls.login).toBe(1)
  })

  it('without the status (older base libraries): a failure, and one warning naming the way out', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined)
    try {
      const fake = createFakeUni({ uniPlatform: 'mp-alipay', handler, alipayHttpErrors: 'fail-bare' })
      const p = uniPlatform(fake.uni as any)
      for (let i = 0; i < 3; i++) {
        const r = await call(p.request, { url: 'https://api.example.com/x' })
        expect(r.err).toEqual({ errMsg: 'request:fail http status error' })
      }
      const warnings = warn.mock.calls.map((c) => String(c[0])).filter((m) => /error 19/.test(m))
      expect(warnings).toEqual(['[weapp-auth] Alipay error 19 without a status: a 401 cannot renew here; answer 200 + an error code, with isUnauthorized.'])
    } finally {
      warn.mockRestore()
    }
  })
})

describe('uni-app and Taro adapters', () => {
  it('read the host from the build target, and refuse a target that is no mini program host', () => {
    expect(uniPlatform(createFakeUni({ uniPlatform: 'mp-toutiao' }).uni as any).host).toBe('douyin')
    expect(taroPlatform(createFakeTaro({ env: 'ALIPAY' }).taro as any).host).toBe('alipay')
    expect(taroPlatform(createFakeTaro({ env: 'ALIPAY' }).taro as any).checkSession).toBeUndefined()
    expect(() => uniPlatform(createFakeUni({ uniPlatform: 'web' }).uni as any)).toThrow(AuthError)
    expect(() => taroPlatform(createFakeTaro({ env: 'WEB' }).taro as any)).toThrow(/Taro target "WEB" is not a supported mini program host/)
    expect(taroPlatform(createFakeTaro({ env: 'WEB' }).taro as any, { host: 'weixin' }).host).toBe('weixin')
  })

  it("Taro: a failed call reaches fail and leaves no unhandled rejection; abort works on Taro's request promise", async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown) => unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    try {
      const fake = createFakeTaro({ handler: () => ({ networkError: 'net down' }) })
      const p = taroPlatform(fake.taro as any)
      const r = await call(p.request, { url: 'https://api.example.com/x' })
      expect(r.err.errMsg).toBe('request:fail net down')
      fake.setHandler(() => ({ hang: true }))
      const pending = await new Promise<any>((resolve) => {
        const task: any = p.request({ url: 'https://api.example.com/slow', fail: resolve, success: resolve })
        task.abort()
      })
      expect(pending.errMsg).toMatch(/abort/)
      await new Promise((res) => setTimeout(res, 20))
      expect(unhandled).toEqual([])
      // the unwrapped Taro call does reject: the adapter is what silences it
      await expect(fake.taro.login({ fail: () => undefined, success: () => undefined }).then(() => 'ok')).resolves.toBe('ok')
      fake.behavior.login = 'fail'
      await expect(fake.taro.login({ fail: () => undefined })).rejects.toEqual({ errMsg: 'login:fail network error', errno: 1 })
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('uni: login and storage through the wx-shaped callbacks', async () => {
    const fake = createFakeUni()
    const p = uniPlatform(fake.uni as any)
    const r = await call(p.login)
    expect(fake.redeemCode(r.res.code)).toBe('ok')
    p.setStorageSync('k', { a: 1 })
    expect(p.getStorageSync('k')).toEqual({ a: 1 })
  })
})

describe('host detection from the globals', () => {
  const g = global as any
  afterEach(() => {
    for (const k of ['wx', 'qq', 'tt', 'my']) delete g[k]
  })
  it('finds qq before wx (QQ also defines wx), then tt, then my, then wx', () => {
    g.wx = createFakeWx().wx
    expect(detectPlatform().host).toBe('weixin')
    g.qq = createFakeQq().qq
    expect(detectPlatform().host).toBe('qq')
    delete g.qq
    delete g.wx
    g.tt = createFakeTt().tt
    expect(detectPlatform().host).toBe('douyin')
    delete g.tt
    g.my = createFakeMy().my
    expect(detectPlatform().host).toBe('alipay')
  })
  it('throws a CONFIG error naming the globals it looked for', () => {
    expect(() => detectPlatform()).toThrow(/looked for the globals qq, tt, my, wx/)
    try {
      detectPlatform()
    } catch (e) {
      expect((e as AuthError).code).toBe('CONFIG')
    }
  })
})
