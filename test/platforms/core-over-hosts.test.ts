/**
 * Today's core (createAuth, unchanged) over each host adapter and its fake: the guarantees hold
 * on every host before phase 2 wires detection and the login body. A burst of 50 requests with a
 * server-expired token costs one host login and one login request, within the host's task limit.
 */
import { createAuth, type AuthOptions } from 'weapp-auth'
import { createFakeAuthServer } from 'weapp-auth/testing'
import { alipayPlatform } from '../../src/platforms/alipay'
import { douyinPlatform } from '../../src/platforms/douyin'
import type { HostPlatform } from '../../src/platforms/host'
import { qqPlatform } from '../../src/platforms/qq'
import { taroPlatform } from '../../src/platforms/taro'
import { uniPlatform } from '../../src/platforms/uni-app'
import { createFakeFramework } from './framework-fakes'
import { createFakeMy } from '../../src/testing/fake-my'
import { createFakeQq } from '../../src/testing/fake-qq'
import { createFakeTt } from '../../src/testing/fake-tt'

const BASE = 'https://api.example.com'
const latency = () => 1 + Math.floor(Math.random() * 5)

const hosts: Array<[string, () => { fake: any; platform: HostPlatform; loginCall: string }]> = [
  ['qq', () => { const fake = createFakeQq({ latency }); return { fake, platform: qqPlatform(fake.qq as any), loginCall: 'login' } }],
  ['douyin', () => { const fake = createFakeTt({ latency }); return { fake, platform: douyinPlatform(fake.tt as any), loginCall: 'login' } }],
  ['alipay', () => { const fake = createFakeMy({ latency }); return { fake, platform: alipayPlatform(fake.my as any), loginCall: 'getAuthCode' } }],
  ['alipay, older base library', () => { const fake = createFakeMy({ latency, responseFields: 'legacy', httpErrors: 'success' }); return { fake, platform: alipayPlatform(fake.my as any), loginCall: 'getAuthCode' } }],
  ['uni-app', () => { const fake = createFakeFramework('uni', { latency }); return { fake, platform: uniPlatform(fake.uni as any), loginCall: 'login' } }],
  ['Taro', () => { const fake = createFakeFramework('taro', { latency }); return { fake, platform: taroPlatform(fake.taro as any), loginCall: 'login' } }],
]

describe.each(hosts)('createAuth over the %s adapter', (_name, make) => {
  test('logs in with the host code, then a burst of 50 expired requests → 1 host login, 1 login request, all answered', async () => {
    const { fake, platform, loginCall } = make()
    const server = createFakeAuthServer(fake)
    fake.setHandler(server.handler)
    server.route('GET', '/api/items', (req, ctx) => ({ data: { user: ctx.userId, i: req.query.i } }))
    const auth = createAuth({ baseURL: BASE, login: { url: '/api/auth/login' }, platform } as AuthOptions)
    await auth.login()
    expect(fake.calls[loginCall]).toBe(1)
    expect(server.stats.rejectedCodes).toBe(0)
    server.expireTokens()
    fake.resetCounters()
    for (const k of Object.keys(fake.calls)) fake.calls[k] = 0
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => auth.get<{ i: string }>('/api/items', { data: { i } })))
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)))
    expect(fake.calls[loginCall]).toBe(1)
    expect(fake.requests.filter((r: any) => r.path === '/api/auth/login')).toHaveLength(1)
    expect(fake.network.peak).toBeLessThanOrEqual(platform.networkTaskLimit)
    expect(auth.getToken()).toBeTruthy()
    expect(fake.storageSnapshot()).toEqual({ 'weapp-auth': expect.objectContaining({ token: auth.getToken() }) })
  })
})
