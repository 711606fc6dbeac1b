/**
 * The hosts the behavioural suites run on, each over its faithful fake from weapp-auth/testing:
 * the host's own global (`wx`, `qq`, `tt`, `my`, `uni`, `Taro`), the adapter the app would pass
 * as `platform`, the host call that yields the login code, and how the host reports a failed
 * login. `world()` wires a host to the in-memory developer server and an auth instance, the way
 * test/helpers/setup.ts does for WeChat alone.
 *
 * The server keeps each host's code rules: a code works once (WeChat/QQ jscode2session, Douyin
 * jscode2session, Alipay alipay.system.oauth.token all refuse a used code), and on Douyin the
 * anonymous code is single use too and is what a guest (not logged in to Douyin) logs in with
 * (https://developer.open-douyin.com/docs/resource/zh-CN/mini-app/develop/server/basic-abilities/log-in/code-2-session).
 */
import { createAuth, type Auth, type AuthOptions, type Platform } from 'weapp-auth'
import { alipayPlatform, douyinPlatform, qqPlatform, weixinPlatform, type HostName, type HostPlatform } from 'weapp-auth/platforms'
import {
  createFakeAuthServer,
  createFakeMy,
  createFakeQq,
  createFakeTaro,
  createFakeTt,
  createFakeUni,
  createFakeWx,
  type CodeCheck,
  type FakeAuthServer,
  type FakeAuthServerOptions,
  type FakeReply,
  type FakeRequest,
  type FakeWx,
  type FakeWxOptions,
} from 'weapp-auth/testing'
import type { FakeMyOptions } from '../../src/testing/fake-my'
import type { FakeTt } from '../../src/testing/fake-tt'

export const BASE = 'https://api.example.com'
export const LOGIN = '/api/auth/login'
export const REFRESH = '/api/auth/refresh'
export const KEY = 'weapp-auth'

/** The engine controls every host fake shares (scripted login, handler, latency, storage, counters). */
export type Engine = FakeWx

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type HostObject = Record<string, any>

export interface Made {
  fake: Engine
  /** The host's global object as the app sees it (`wx`, `qq`, `tt`, `my`, `uni`, `Taro`). */
  global: HostObject
  /**
   * What the app passes as `platform`: the host's adapter from weapp-auth/platforms, or for
   * uni-app and Taro the framework object itself (createAuth recognises it). Call it after
   * instrumenting `global`: adapters bind the calls they take.
   */
  option(): Platform | HostPlatform
}

export interface HostCase {
  /** Label in test names. */
  label: string
  /** What `auth.platform.host` and the login body's `platform` say. */
  host: HostName
  /** The host call that yields the login code (`fake.calls[loginCall]`). */
  loginCall: 'login' | 'getAuthCode'
  /** The `errMsg` and `errno` a host login failure (the engine's "network error") carries once through the adapter. */
  loginFailure: RegExp
  loginErrno: number
  /** The host tells whether its login session is alive (`checkSession`); Alipay cannot. */
  checksSession: boolean
  /** On Douyin, a user not logged in to the host app gets an anonymous code only: a guest login, not a failure. */
  guestLogin: boolean
  /** Seeds the host's storage the host's own way (a value a previous launch or another library left). */
  store(global: HostObject, key: string, value: unknown): void
  make(options?: FakeWxOptions): Made
}

const byKey = (g: HostObject, key: string, value: unknown) => g.setStorageSync(key, value)

/** A host whose calls have wx's names and shapes (WeChat, QQ, Douyin): its label, name and fake with adapter. */
const wxShaped = (label: string, host: HostName, make: (o?: FakeWxOptions) => Made): HostCase => ({
  label,
  host,
  loginCall: 'login',
  loginFailure: /^login:fail network error$/,
  loginErrno: 1,
  checksSession: true,
  guestLogin: host === 'douyin',
  store: byKey,
  make,
})

export const HOSTS: HostCase[] = [
  wxShaped('weixin (wx)', 'weixin', (o) => {
    const fake = createFakeWx(o)
    return { fake, global: fake.wx, option: () => weixinPlatform(fake.wx) }
  }),
  wxShaped('qq (qq)', 'qq', (o) => {
    const fake = createFakeQq(o)
    return { fake, global: fake.qq, option: () => qqPlatform(fake.qq) }
  }),
  wxShaped('douyin (tt)', 'douyin', (o) => {
    const fake = createFakeTt(o)
    return { fake, global: fake.tt, option: () => douyinPlatform(fake.tt) }
  }),
  ...(
    [
      ['alipay (my)', {}],
      ['alipay (my, older base library: status/headers, HTTP errors through success)', { responseFields: 'legacy', httpErrors: 'success' }],
    ] as Array<[string, FakeMyOptions]>
  ).map(
    ([label, my]): HostCase => ({
      label,
      host: 'alipay',
      loginCall: 'getAuthCode',
      loginFailure: /^getAuthCode:fail network error \(12\)$/,
      loginErrno: 12,
      checksSession: false,
      guestLogin: false,
      store: (g, key, data) => g.setStorageSync({ key, data }),
      make: (o) => {
        const fake = createFakeMy(Object.assign({}, o, my))
        return { fake, global: fake.my, option: () => alipayPlatform(fake.my) }
      },
    }),
  ),
  // uni-app and Taro pass the framework object itself, as apps do. On Alipay targets both hand out
  // wx shapes too (uni maps getAuthCode → login and authCode → code, `headers`/`status` →
  // `header`/`statusCode`; docs/platforms.md), and neither maps checkSession. On Douyin targets
  // tt.login's anonymousCode and tt's errNo failures come through.
  ...(
    [
      ['uni-app (mp-weixin, platform: uni)', 'uni', 'weixin'],
      ['Taro (WEAPP, platform: Taro)', 'taro', 'weixin'],
      ['uni-app (mp-alipay, platform: uni)', 'uni', 'alipay'],
      ['Taro (ALIPAY, platform: Taro)', 'taro', 'alipay'],
      ['uni-app (mp-toutiao, platform: uni)', 'uni', 'douyin'],
      ['Taro (TT, platform: Taro)', 'taro', 'douyin'],
    ] as Array<[string, 'uni' | 'taro', 'weixin' | 'alipay' | 'douyin']>
  ).map(
    ([label, framework, host]): HostCase => ({
      label,
      host,
      loginCall: 'login',
      loginFailure: /^login:fail network error$/,
      loginErrno: 1,
      checksSession: host !== 'alipay',
      guestLogin: host === 'douyin',
      store: byKey,
      make: (o) => {
        if (framework === 'uni') {
          const fake = createFakeUni(Object.assign({}, o, { uniPlatform: { weixin: 'mp-weixin', alipay: 'mp-alipay', douyin: 'mp-toutiao' }[host] }))
          return { fake, global: fake.uni, option: () => fake.uni }
        }
        const fake = createFakeTaro(Object.assign({}, o, { env: { weixin: 'WEAPP', alipay: 'ALIPAY', douyin: 'TT' }[host] }))
        return { fake, global: fake.taro, option: () => fake.taro }
      },
    }),
  ),
]

/** `describe.each` rows: [label, case]. */
export const EACH_HOST = HOSTS.map((h) => [h.label, h] as const)

/**
 * The developer server's check of the login credentials, with the host's rules: on Douyin
 * (jscode2session: `code` and/or `anonymous_code`, each single use) the anonymous code must be one
 * tt.login issued and not used yet, and an empty `code` with an anonymous code is a guest login.
 * Undefined: WeChat's rules (the fake server's default), which QQ and Alipay codes follow too.
 */
export function hostRedeem(c: HostCase, fake: Engine): ((req: FakeRequest) => CodeCheck) | undefined {
  if (c.host !== 'douyin') return undefined
  const tt = fake as unknown as FakeTt
  return (req) => {
    const body = (req.data && typeof req.data === 'object' ? req.data : {}) as Record<string, unknown>
    const code = body.code !== undefined ? body.code : req.query.code
    const anonymousCode = body.anonymousCode !== undefined ? body.anonymousCode : req.query.anonymousCode
    if (anonymousCode !== undefined) {
      const check = tt.redeemAnonymousCode(anonymousCode)
      if (check !== 'ok') return check
    }
    if (code === '' || code === undefined) return anonymousCode !== undefined ? 'ok' : 'invalid'
    return fake.redeemCode(code)
  }
}

export interface World {
  c: HostCase
  fake: Engine
  global: HostObject
  /** The adapter in use (`auth.platform`). */
  platform: HostPlatform
  server: FakeAuthServer
  /** The fake server's handler, installed (wrap it to inject a fault on one path). */
  handler: (req: FakeRequest) => FakeReply | Promise<FakeReply>
  auth: Auth
  /** `error` events, in order. */
  errors: Error[]
  /** Requests that reached `path`. */
  sent(path: string): FakeRequest[]
  /** A new instance on the same host and storage (the next app launch), with extra options. */
  relaunch(extra?: Partial<AuthOptions>): Auth
}

/** A host fake, its adapter, the developer server (with `/api/items` echoing `i`) and an auth instance. */
export function world(
  c: HostCase,
  opts: { auth?: Partial<AuthOptions>; fake?: FakeWxOptions; server?: FakeAuthServerOptions; instrument?: (global: HostObject) => void } = {},
): World {
  const made = c.make(opts.fake)
  if (opts.instrument) opts.instrument(made.global)
  const option = made.option()
  const fake = made.fake
  const server = createFakeAuthServer(fake as unknown as FakeWx, Object.assign({ redeem: hostRedeem(c, fake) }, opts.server))
  server.route('GET', '/api/items', (req, ctx) => ({ data: { user: ctx.userId, i: req.query.i } }))
  const handler = server.handler
  fake.setHandler(handler)
  const relaunch = (extra: Partial<AuthOptions> = {}): Auth =>
    createAuth(Object.assign({ baseURL: BASE, login: { url: LOGIN }, platform: option }, opts.auth || {}, extra) as AuthOptions)
  const auth = relaunch()
  const platform = auth.platform
  const errors: Error[] = []
  auth.on('error', (e) => errors.push(e))
  return { c, fake, global: made.global, platform, server, handler, auth, errors, sent: (path) => fake.requests.filter((r) => r.path === path), relaunch }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Random latency of 1-5 ms per request, so answers come back out of order. */
export const jitter = () => 1 + Math.floor(Math.random() * 5)

/** Resets the request log, the network peak and every host call count. */
export function resetAll(fake: Engine): void {
  fake.resetCounters()
  for (const k of Object.keys(fake.calls)) fake.calls[k] = 0
}
