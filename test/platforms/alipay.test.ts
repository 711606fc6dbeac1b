import { alipayPlatform } from '../../src/platforms/alipay'
import { createFakeMy } from '../../src/testing/fake-my'
import { call } from './call'

const API = 'https://api.example.com'

describe('Alipay adapter over the fake my', () => {
  it('logs in with my.getAuthCode (auth_base, silent) and hands the authCode on as the code', async () => {
    const fake = createFakeMy()
    const p = alipayPlatform(fake.my as any)
    const r = await call(p.login)
    expect(r.ok).toBe(true)
    expect(fake.calls.getAuthCode).toBe(1)
    expect(fake.redeemCode(r.res.code)).toBe('ok')
    expect(fake.redeemCode(r.res.code)).toBe('used')
    expect(p.host).toBe('alipay')
  })

  it('maps a getAuthCode failure to { errMsg, errno } and has no checkSession', async () => {
    const fake = createFakeMy()
    fake.behavior.login = 'fail'
    const p = alipayPlatform(fake.my as any)
    const r = await call(p.login)
    expect(r.ok).toBe(false)
    expect(r.err.errMsg).toMatch(/^getAuthCode:fail network error \(12\)$/)
    expect(r.err.errno).toBe(12)
    expect(p.checkSession).toBeUndefined()
  })

  it('sends header as headers and reads status / headers from older base libraries', async () => {
    const fake = createFakeMy({ responseFields: 'legacy', handler: (req) => ({ statusCode: 201, data: { seen: req.header.authorization }, header: { 'X-Id': '7' } }) })
    const p = alipayPlatform(fake.my as any)
    const r = await call(p.request, { url: API + '/x', method: 'POST', header: { authorization: 'Bearer t' }, data: { a: 1 }, dataType: 'text' })
    expect(r.res.statusCode).toBe(201)
    expect(r.res.header['X-Id']).toBe('7')
    expect(JSON.parse(r.res.data)).toEqual({ seen: 'Bearer t' })
    expect(fake.requests[0].data).toEqual({ a: 1 })
  })

  it('delivers a 401 that Alipay reports through fail (error 19 with the response) as a response', async () => {
    const fake = createFakeMy({ handler: () => ({ statusCode: 401, data: { error: 'expired' } }) })
    const p = alipayPlatform(fake.my as any)
    const r = await call(p.request, { url: API + '/me', dataType: 'text' })
    expect(r.ok).toBe(true)
    expect(r.res.statusCode).toBe(401)
    expect(JSON.parse(r.res.data)).toEqual({ error: 'expired' })
  })

  it('reports error 19 without a status as a failure naming it, and a 401 delivered through success as is', async () => {
    const bare = alipayPlatform(createFakeMy({ httpErrors: 'fail-bare', handler: () => ({ statusCode: 401 }) }).my as any)
    const r1 = await call(bare.request, { url: API + '/me' })
    expect(r1.ok).toBe(false)
    expect(r1.err).toEqual({ errMsg: 'request:fail http status error (19)', errno: 19 })
    const plain = alipayPlatform(createFakeMy({ httpErrors: 'success', handler: () => ({ statusCode: 401, data: 'no' }) }).my as any)
    const r2 = await call(plain.request, { url: API + '/me', dataType: 'text' })
    expect(r2.res.statusCode).toBe(401)
  })

  it('maps a timeout to an errMsg the core recognises, and aborts through the task', async () => {
    const fake = createFakeMy({ handler: () => ({ hang: true }) })
    const p = alipayPlatform(fake.my as any)
    const r = await call(p.request, { url: API + '/slow', timeout: 20 })
    expect(r.err.errMsg).toMatch(/timeout/)
    expect(r.err.errno).toBe(13)
    let task: any
    const aborted = new Promise<any>((resolve) => {
      task = p.request({ url: API + '/slow', fail: resolve, success: () => resolve('answered') })
    })
    task.abort()
    expect((await aborted).errMsg).toMatch(/abort/)
    await fake.idle()
  })

  it('keeps storage by key: round trip, a missing key reads as "", and a failed write throws', () => {
    const fake = createFakeMy()
    const p = alipayPlatform(fake.my as any)
    expect(p.getStorageSync('k')).toBe('')
    p.setStorageSync('k', { token: 't' })
    expect(p.getStorageSync('k')).toEqual({ token: 't' })
    expect(fake.storageSnapshot()).toEqual({ k: { token: 't' } })
    p.removeStorageSync('k')
    expect(p.getStorageSync('k')).toBe('')
    fake.behavior.storageWrite = 'throw'
    expect(() => p.setStorageSync('k', 1)).toThrow(/setStorageSync:fail .*exceed storage/)
    expect(p.canIUse!('setStorage.object.encrypt')).toBe(false)
  })

  it('uploads with fileName and fileType, and maps a missing file to error 11', async () => {
    const fake = createFakeMy({ handler: (req) => ({ statusCode: 200, data: { got: req.name, size: req.file!.size } }) })
    const p = alipayPlatform(fake.my as any, { uploadFileType: 'image' })
    const path = fake.addTempFile('abc', 'jpg')
    const r = await call(p.uploadFile, { url: API + '/avatar', filePath: path, name: 'avatar' })
    expect(r.res.statusCode).toBe(200)
    expect(JSON.parse(r.res.data)).toEqual({ got: 'avatar', size: 3 })
    const missing = await call(p.uploadFile, { url: API + '/avatar', filePath: 'http://tmp/none.jpg', name: 'avatar' })
    expect(missing.err.errno).toBe(11)
    const raw = await call(fake.my.uploadFile, { url: API + '/avatar', filePath: path })
    expect(raw.err).toEqual({ error: 2, errorMessage: expect.stringMatching(/fileName and fileType/) })
  })

  it('hands the encrypted phone response to the server, and nothing when the user refuses', async () => {
    const fake = createFakeMy()
    const p = alipayPlatform(fake.my as any) as any
    const r = await call(p.getPhoneNumber)
    expect(p.phoneCredential(r.res)).toEqual({ platform: 'alipay', response: r.res.response })
    fake.phoneNumber = 'deny'
    const denied = await call(p.getPhoneNumber)
    expect(denied.ok).toBe(false)
    expect(p.phoneCredential(denied.err)).toBeNull()
    expect((p as { authorize?: unknown }).authorize).toBeUndefined()
  })
})
