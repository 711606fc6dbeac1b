/**
 * Prometheus metrics (src/metrics.ts) in-process: buildApp with `metrics`, the core's events, the
 * metrics' own listener (GET /metrics only), one registry per instance, METRICS_PORT/METRICS_HOST in
 * loadConfig. The real bin with METRICS_PORT is in bin.test.ts.
 */
import type { FastifyInstance } from 'fastify'
import { createAuthServer, memoryStore, ConfigError, type AuthServer, type Store } from 'weapp-auth-server'
import { createFakeWechat, type FakeWechat } from 'weapp-auth-server/testing'
import { buildApp } from '../src/app'
import { loadConfig } from '../src/config'
import { StoreUnavailableError } from '../src/errors'
import { createMetrics, startMetricsServer, type Metrics } from '../src/metrics'

const APPID = 'wxmetricstest00001'
const SECRET = 'metrics-test-app-secret-000000000'
const JWT_SECRET = 'metrics-test-jwt-secret-at-least-32-bytes'

let fake: FakeWechat
beforeAll(async () => {
  fake = await createFakeWechat({ appid: APPID, secret: SECRET })
})
afterAll(async () => {
  await fake?.close()
})

interface Kit {
  metrics: Metrics
  auth: AuthServer
  store: Store
  app: FastifyInstance
  base: string
  storeDown: { value: boolean }
  close(): Promise<void>
}

async function kit(options: { loginRateLimit?: { max: number; windowSeconds: number } | false } = {}): Promise<Kit> {
  const metrics = createMetrics({ defaultMetrics: false })
  const store = memoryStore()
  const storeDown = { value: false }
  const ping = store.ping.bind(store)
  store.ping = async () => {
    if (storeDown.value) throw new StoreUnavailableError('the test took the store down')
    return ping()
  }
  const auth = createAuthServer({
    appid: APPID,
    secret: SECRET,
    jwt: { secret: JWT_SECRET },
    store,
    wxApiBase: fake.url,
    loginRateLimit: options.loginRateLimit ?? false,
    onEvent: (event) => metrics.onEvent(event),
    fetch: metrics.timedFetch(),
  })
  const app = buildApp({ auth, log: false, metrics })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    metrics,
    auth,
    store,
    app,
    base,
    storeDown,
    close: async () => {
      await app.close()
      await auth.close()
      await store.close()
    },
  }
}

async function call(url: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = {}
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  if (init.token) headers.authorization = 'Bearer ' + init.token
  const res = await fetch(url, { method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'), headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text }
}

/** The value of one sample line (`name{labels} value`), labels in any order; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have: Record<string, string> = {}
    for (const pair of (m[2] ?? '').match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = pair.indexOf('=')
      have[pair.slice(0, eq)] = pair.slice(eq + 2, -1)
    }
    if (Object.keys(labels).length === Object.keys(have).length && Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3])
  }
  return undefined
}

describe('metrics from a running app', () => {
  test('logins (ok and failed, by platform), refreshes, reuse, 401s, 404s, store errors, sessions ended, host API timings; never a secret in the text', async () => {
    const k = await kit()
    const secrets: string[] = []
    try {
      const code = fake.mintCode('o-metrics-alice')
      const login = await call(k.base + '/api/auth/login', { body: { code } })
      expect(login.status).toBe(200)
      const { token, refreshToken, user } = login.json
      secrets.push(code, token, refreshToken, 'o-metrics-alice', String(user.id))

      expect((await call(k.base + '/api/auth/login', { body: { code } })).json.error).toBe('wechat_code_used') // a used code
      expect((await call(k.base + '/api/auth/login', { body: {} })).json.error).toBe('code_required')
      expect((await call(k.base + '/api/auth/login', { body: { code: 'x', platform: 'secret-platform-name' } })).json.error).toBe('unsupported_platform')
      secrets.push('secret-platform-name')

      const refreshed = await call(k.base + '/api/auth/refresh', { body: { refreshToken } })
      expect(refreshed.status).toBe(200)
      secrets.push(refreshed.json.token, refreshed.json.refreshToken)
      expect((await call(k.base + '/api/auth/refresh', { body: { refreshToken } })).json.error).toBe('refresh_token_reused')

      expect((await call(k.base + '/api/user/me')).status).toBe(401)
      expect((await call(k.base + '/api/nothing/' + token + '?code=' + code)).status).toBe(404)

      // A phone number: one access_token fetch from WeChat.
      const second = await call(k.base + '/api/auth/login', { body: { code: fake.mintCode('o-metrics-bob') } })
      secrets.push(second.json.token, second.json.refreshToken, String(second.json.user.id), '13812345678')
      expect((await call(k.base + '/api/auth/phone', { body: { code: fake.mintPhoneCode('13812345678') }, token: second.json.token })).status).toBe(200)
      expect((await call(k.base + '/api/auth/logout', { method: 'POST', body: { all: true }, token: second.json.token })).status).toBe(204)

      const third = await call(k.base + '/api/auth/login', { body: { code: fake.mintCode('o-metrics-carol') } })
      secrets.push(third.json.token, third.json.refreshToken, String(third.json.user.id))
      expect((await call(k.base + '/api/auth/logout', { method: 'POST', token: third.json.token })).status).toBe(204)

      k.storeDown.value = true
      expect((await call(k.base + '/healthz')).json.error).toBe('store_unavailable')
      k.storeDown.value = false
      expect((await call(k.base + '/healthz')).status).toBe(200)

      const text = await k.metrics.text()
      expect(sample(text, 'weapp_auth_logins_total', { platform: 'weixin', outcome: 'ok' })).toBe(3)
      expect(sample(text, 'weapp_auth_logins_total', { platform: 'weixin', outcome: 'wechat_code_used' })).toBe(1)
      expect(sample(text, 'weapp_auth_logins_total', { platform: 'weixin', outcome: 'code_required' })).toBe(1)
      expect(sample(text, 'weapp_auth_logins_total', { platform: 'unknown', outcome: 'unsupported_platform' })).toBe(1)
      expect(sample(text, 'weapp_auth_refreshes_total', { outcome: 'ok' })).toBe(1)
      expect(sample(text, 'weapp_auth_refreshes_total', { outcome: 'refresh_token_reused' })).toBe(1)
      expect(sample(text, 'weapp_auth_refresh_reuse_total')).toBe(1)
      expect(sample(text, 'weapp_auth_upstream_errors_total', { api: 'sns/jscode2session', code: 'wechat_code_used' })).toBe(1)
      expect(sample(text, 'weapp_auth_access_token_fetches_total', { forced: 'false' })).toBe(1)
      expect(sample(text, 'weapp_auth_store_errors_total')).toBe(1)
      expect(sample(text, 'weapp_auth_sessions_ended_total', { reason: 'logout_all' })).toBe(1)
      expect(sample(text, 'weapp_auth_sessions_ended_total', { reason: 'logout' })).toBe(1)
      expect(sample(text, 'weapp_auth_http_request_duration_seconds_count', { route: '/api/user/me', method: 'GET', status: '401' })).toBe(1)
      expect(sample(text, 'weapp_auth_http_request_duration_seconds_count', { route: 'unmatched', method: 'GET', status: '404' })).toBe(1)
      expect(sample(text, 'weapp_auth_http_request_duration_seconds_count', { route: '/api/auth/login', method: 'POST', status: '200' })).toBe(3)
      expect(sample(text, 'weapp_auth_http_request_duration_seconds_count', { route: '/healthz', method: 'GET', status: '503' })).toBe(1)
      expect(sample(text, 'weapp_auth_host_api_duration_seconds_count', { api: 'sns/jscode2session' })).toBe(4)
      expect(sample(text, 'weapp_auth_host_api_duration_seconds_count', { api: 'cgi-bin/stable_token' })).toBe(1)
      // No query string, raw path, token, code, openid, phone number or user id in any label.
      expect(text).not.toMatch(/\?|\/api\/nothing/)
      for (const secret of secrets) expect(text).not.toContain(secret)

      // Account deletion ends the user's sessions.
      const fourth = await call(k.base + '/api/auth/login', { body: { code: fake.mintCode('o-metrics-dave') } })
      expect((await call(k.base + '/api/user/me', { method: 'DELETE', token: fourth.json.token })).status).toBe(204)
      expect(sample(await k.metrics.text(), 'weapp_auth_sessions_ended_total', { reason: 'deleted' })).toBe(1)
    } finally {
      await k.close()
    }
  })

  test('429s by route; each instance has a registry of its own', async () => {
    const limited = await kit({ loginRateLimit: { max: 1, windowSeconds: 60 } })
    const other = await kit()
    try {
      const answers = []
      for (let i = 0; i < 3; i++) answers.push((await call(limited.base + '/api/auth/login', { body: { code: fake.mintCode('o-metrics-rl-' + i) } })).status)
      expect(answers).toContain(429)
      const text = await limited.metrics.text()
      const count429 = answers.filter((s) => s === 429).length
      expect(sample(text, 'weapp_auth_rate_limited_total', { route: '/api/auth/login' })).toBe(count429)
      expect(sample(text, 'weapp_auth_logins_total', { platform: 'weixin', outcome: 'rate_limited' })).toBe(count429)
      // The other instance counted nothing of it.
      expect(sample(await other.metrics.text(), 'weapp_auth_rate_limited_total', { route: '/api/auth/login' })).toBeUndefined()
      expect(sample(await other.metrics.text(), 'weapp_auth_logins_total', { platform: 'weixin', outcome: 'ok' })).toBeUndefined()
    } finally {
      await limited.close()
      await other.close()
    }
  })

  test('process metrics come with the default registry setup', async () => {
    const text = await createMetrics().text()
    expect(text).toMatch(/^process_cpu_user_seconds_total /m)
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m)
  })
})

describe('the metrics listener', () => {
  test('GET /metrics only: the Prometheus text; everything else 404 (405 for another method); the app answers no /metrics', async () => {
    const k = await kit()
    const server = await startMetricsServer(k.metrics, { port: 0, host: '127.0.0.1' })
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
      await call(k.base + '/api/auth/login', { body: { code: fake.mintCode('o-metrics-erin') } })
      const res = await fetch(server.url)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      expect(sample(await res.text(), 'weapp_auth_logins_total', { platform: 'weixin', outcome: 'ok' })).toBe(1)
      const origin = server.url.replace(/\/metrics$/, '')
      expect((await fetch(origin + '/metrics?x=1')).status).toBe(200)
      for (const p of ['/', '/healthz', '/api/auth/login', '/metrics/x', '/api/user/me']) expect((await fetch(origin + p)).status).toBe(404)
      expect((await fetch(origin + '/api/auth/login', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(404)
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(405)
      // The public app has no /metrics.
      expect((await call(k.base + '/metrics')).status).toBe(404)
    } finally {
      await server.close()
      await k.close()
    }
  })
})

describe('configuration', () => {
  const base = { WX_APPID: APPID, WX_SECRET: SECRET, JWT_SECRET }
  test('METRICS_PORT unset: no metrics; set: 127.0.0.1 unless METRICS_HOST', () => {
    expect(loadConfig(base).metrics).toBeUndefined()
    expect(loadConfig({ ...base, METRICS_PORT: '9464' }).metrics).toEqual({ port: 9464, host: '127.0.0.1' })
    expect(loadConfig({ ...base, METRICS_PORT: '0' }).metrics).toEqual({ port: 0, host: '127.0.0.1' })
    expect(loadConfig({ ...base, METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metrics).toEqual({ port: 9464, host: '0.0.0.0' })
  })

  test('a wrong METRICS_PORT or METRICS_HOST is named with the other problems', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig(env)
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        return (err as ConfigError).problems
      }
      return []
    }
    expect(problems({ WX_SECRET: SECRET, JWT_SECRET, PORT: 'eighty', METRICS_PORT: 'ninety' })).toEqual([
      expect.stringMatching(/^PORT must be a port number/),
      expect.stringMatching(/^METRICS_PORT must be a port number 0–65535, got "ninety"/),
      expect.stringMatching(/^WX_APPID is required/),
    ])
    expect(problems({ ...base, METRICS_PORT: '70000' })).toEqual([expect.stringMatching(/^METRICS_PORT must be a port number/)])
    expect(problems({ ...base, PORT: '8080', METRICS_PORT: '8080' })).toEqual([expect.stringMatching(/^METRICS_PORT must differ from PORT \(8080\)/)])
    expect(problems({ ...base, METRICS_PORT: '3000' })).toEqual([expect.stringMatching(/^METRICS_PORT must differ from PORT \(3000\)/)])
    expect(problems({ ...base, METRICS_HOST: '0.0.0.0' })).toEqual([expect.stringMatching(/^METRICS_HOST is set but METRICS_PORT is not/)])
    expect(problems({ ...base, METRICS_PORT: '9464', METRICS_HOST: 'http://x/' })).toEqual([expect.stringMatching(/^METRICS_HOST must be an address/)])
  })
})
