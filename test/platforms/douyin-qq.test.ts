import { douyinPlatform } from '../../src/platforms/douyin'
import { qqPlatform } from '../../src/platforms/qq'
import { createFakeQq } from '../../src/testing/fake-qq'
import { createFakeTt } from '../../src/testing/fake-tt'
import { call } from './call'

describe('Douyin adapter over the fake tt', () => {
  it('logs in with both the code and the anonymous code, each issued by tt.login', async () => {
    const fake = createFakeTt()
    const p = douyinPlatform(fake.tt as any)
    const r = await call(p.login)
    expect(fake.redeemCode(r.res.code)).toBe('ok')
    expect(r.res.anonymousCode).toBe(fake.issuedAnonymousCodes[0])
    expect(p.host).toBe('douyin')
    expect((await call(p.checkSession)).ok).toBe(true)
    fake.behavior.checkSession = false
    expect((await call(p.checkSession)).ok).toBe(false)
  })

  it("maps Douyin's errNo to errno", async () => {
    const fake = createFakeTt()
    fake.behavior.login = 'fail'
    const raw = await call(fake.tt.login)
    expect(raw.err).toEqual({ errMsg: 'login:fail network error', errNo: 1 })
    const r = await call(douyinPlatform(fake.tt as any).login)
    expect(r.err).toEqual({ errMsg: 'login:fail network error', errno: 1 })
  })

  it('passes request status and header through, and drops encryption it does not have', async () => {
    const fake = createFakeTt({ handler: (req) => ({ statusCode: 401, data: { h: req.header.Authorization }, header: { 'X-A': '1' } }) })
    const p = douyinPlatform(fake.tt as any)
    const r = await call(p.request, { url: 'https://api.example.com/me', header: { Authorization: 'Bearer x' }, dataType: 'text' })
    expect(r.res.statusCode).toBe(401)
    expect(r.res.header['X-A']).toBe('1')
    expect(JSON.parse(r.res.data)).toEqual({ h: 'Bearer x' })
    expect(p.canIUse!('setStorage.object.encrypt')).toBe(false)
    expect(p.canIUse!('request')).toBe(true)
    await call(p.setStorage, { key: 'k', data: 'v', encrypt: true })
    expect(fake.storageSnapshot()).toEqual({ k: 'v' })
    expect(p.getStorageSync('k')).toBe('v')
  })

  it('takes the phone code when the host gives one, else encryptedData and iv', () => {
    const p = douyinPlatform(createFakeTt().tt as any)
    expect(p.phoneCredential({ errMsg: 'getPhoneNumber:ok', encryptedData: 'E', iv: 'I' })).toEqual({ platform: 'douyin', encryptedData: 'E', iv: 'I' })
    expect(p.phoneCredential({ errMsg: 'getPhoneNumber:ok', code: 'c', encryptedData: 'E', iv: 'I' })).toEqual({ platform: 'douyin', code: 'c' })
    expect(p.phoneCredential({ errMsg: 'getPhoneNumber:fail auth deny' })).toBeNull()
  })
})

describe('QQ adapter over the fake qq', () => {
  it('has wx shapes: login code, request, storage, scopes; no privacy calls', async () => {
    const fake = createFakeQq({ handler: () => ({ statusCode: 200, data: { ok: 1 } }) })
    const p = qqPlatform(fake.qq as any)
    const r = await call(p.login)
    expect(fake.redeemCode(r.res.code)).toBe('ok')
    expect((await call(p.request, { url: 'https://api.example.com/x' })).res.data).toEqual({ ok: 1 })
    p.setStorageSync('k', [1])
    expect(p.getStorageSync('k')).toEqual([1])
    expect((await call(p.authorize, { scope: 'scope.userLocation' })).ok).toBe(true)
    expect(p.getPrivacySetting).toBeUndefined()
    expect(p.host).toBe('qq')
  })
})
