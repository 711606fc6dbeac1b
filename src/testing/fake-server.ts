/**
 * An in-memory developer server for the fake `wx`: login with WeChat's code rules (a code works
 * once and for 5 minutes; errcode 40163 / 40029 otherwise), opaque or JWT-shaped tokens,
 * refresh-token rotation, a protected `/api/user/me`, and switches for the faults tests need.
 * Pass `server.handler` to `createFakeWx({ handler })`.
 */
import type { CodeCheck, FakeHandler, FakeReply, FakeRequest, FakeWx } from './fake-wx'
import { checked } from './settings'

export interface FakeAuthServerOptions {
  /** Access token lifetime in seconds, sent as `expiresIn`. Default 7200. */
  tokenTtl?: number
  /** Issue refresh tokens (rotated on every refresh). Default true. */
  refreshTokens?: boolean
  /** Issue JWT-shaped tokens carrying `exp` instead of opaque ones. Default false. */
  jwt?: boolean
  /** Paths. Defaults: /api/auth/login, /api/auth/refresh, /api/user/me. */
  paths?: { login?: string; refresh?: string; me?: string }
  /**
   * Checks the login request's credentials and marks them used. Default: `fake.redeemCode` of the
   * `code` in the body or query (WeChat's rules). Another host's rules go here (Douyin: an empty
   * `code` with an `anonymousCode` is a guest login).
   */
  redeem?: (req: FakeRequest) => CodeCheck
}

export type FakeRoute = (req: FakeRequest, ctx: { userId: string | null }) => FakeReply | Promise<FakeReply>

export interface FakeAuthServer {
  handler: FakeHandler
  stats: { logins: number; refreshes: number; unauthorized: number; requests: number; rejectedCodes: number }
  /**
   * 0 (default): login works. An HTTP status (100–599): the login endpoint answers it (500: server
   * down). Anything else throws a TypeError, as for every switch below.
   */
  loginStatus: number
  /** 0 (default): refresh works. An HTTP status (100–599): the refresh endpoint answers it. */
  refreshStatus: number
  /** Answer 401 to every protected route whatever the token. Default false. */
  alwaysUnauthorized: boolean
  /** Server-side expiry: every access token issued so far is refused from now on. */
  expireTokens(): void
  /** Every refresh token issued so far is refused from now on. */
  revokeRefreshTokens(): void
  /** Adds a route: `protect` (default true) answers 401 without a valid bearer token. */
  route(method: string, path: string, fn: FakeRoute, protect?: boolean): void
  /** Tokens currently accepted. */
  validTokens(): string[]
}

function b64url(s: string): string {
  const table = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  let out = ''
  let buffer = 0
  let bits = 0
  for (let i = 0; i < s.length; i++) {
    buffer = (buffer << 8) | (s.charCodeAt(i) & 0xff)
    bits += 8
    while (bits >= 6) {
      bits -= 6
      out += table.charAt((buffer >> bits) & 63)
    }
  }
  if (bits > 0) out += table.charAt((buffer << (6 - bits)) & 63)
  return out
}

export function createFakeAuthServer(fake: FakeWx, options: FakeAuthServerOptions = {}): FakeAuthServer {
  const ttl = options.tokenTtl === undefined ? 7200 : options.tokenTtl
  const paths = Object.assign({ login: '/api/auth/login', refresh: '/api/auth/refresh', me: '/api/user/me' }, options.paths || {})
  const tokens = new Map<string, { userId: string; exp: number }>()
  const refreshTokens = new Map<string, string>()
  const routes = new Map<string, { fn: FakeRoute; protect: boolean }>()
  const users = new Map<string, { id: string; nickName: string }>()
  let seq = 0
  const stats = { logins: 0, refreshes: 0, unauthorized: 0, requests: 0, rejectedCodes: 0 }

  function issue(userId: string): Record<string, unknown> {
    seq++
    const exp = Math.floor(Date.now() / 1000) + ttl
    const token = options.jwt
      ? b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })) + '.' + b64url(JSON.stringify({ sub: userId, exp })) + '.sig' + seq
      : 'tok-' + seq + '-' + Math.random().toString(36).slice(2, 10)
    tokens.set(token, { userId, exp })
    const out: Record<string, unknown> = { token, user: users.get(userId) }
    if (!options.jwt) out.expiresIn = ttl
    if (options.refreshTokens !== false) {
      const rt = 'rt-' + seq + '-' + Math.random().toString(36).slice(2, 10)
      refreshTokens.set(rt, userId)
      out.refreshToken = rt
    }
    return out
  }

  function bearer(req: FakeRequest): string | null {
    for (const k of Object.keys(req.header)) {
      if (k.toLowerCase() === 'authorization') {
        const m = /^Bearer (.+)$/.exec(req.header[k])
        return m ? m[1] : null
      }
    }
    return null
  }

  function userOf(req: FakeRequest): string | null {
    const t = bearer(req)
    if (!t) return null
    const e = tokens.get(t)
    if (!e || e.exp * 1000 <= Date.now()) return null
    return e.userId
  }

  const switches = { loginStatus: 0, refreshStatus: 0, alwaysUnauthorized: false }
  const status = (name: 'loginStatus' | 'refreshStatus') => ({
    enumerable: true,
    get: () => switches[name],
    set: (v: unknown) => {
      if (v !== 0 && !(typeof v === 'number' && v % 1 === 0 && v >= 100 && v <= 599)) {
        throw new TypeError(`server.${name} takes 0 (it works) or an HTTP status 100–599, got ${typeof v === 'string' ? `'${v}'` : String(v)}.`)
      }
      switches[name] = v
    },
  })
  // The three switches are data properties here, then accessors that check what is assigned (below).
  const server: FakeAuthServer = {
    stats,
    loginStatus: 0,
    refreshStatus: 0,
    alwaysUnauthorized: false,
    handler: async (req) => {
      stats.requests++
      if (req.path === paths.login && req.method === 'POST') {
        if (server.loginStatus) return { statusCode: server.loginStatus, data: { error: 'login unavailable' } }
        const body = (req.data && typeof req.data === 'object' ? req.data : {}) as Record<string, unknown>
        const check = options.redeem ? options.redeem(req) : fake.redeemCode(body.code !== undefined ? body.code : req.query.code)
        if (check !== 'ok') {
          stats.rejectedCodes++
          const errcode = check === 'used' ? 40163 : 40029
          return { statusCode: 400, data: { errcode, errmsg: check === 'used' ? 'code been used' : 'invalid code' } }
        }
        stats.logins++
        // One user per code here; a real server finds the user by openid.
        const userId = 'u' + stats.logins
        users.set(userId, { id: userId, nickName: 'User ' + stats.logins })
        return { data: issue(userId) }
      }
      if (req.path === paths.refresh && req.method === 'POST') {
        if (server.refreshStatus) return { statusCode: server.refreshStatus, data: { error: 'refresh unavailable' } }
        const body = (req.data && typeof req.data === 'object' ? req.data : {}) as Record<string, unknown>
        const rt = body.refreshToken
        const userId = typeof rt === 'string' ? refreshTokens.get(rt) : undefined
        if (!userId) return { statusCode: 401, data: { error: 'invalid refresh token' } }
        refreshTokens.delete(rt as string)
        stats.refreshes++
        return { data: issue(userId) }
      }
      const route = routes.get(req.method + ' ' + req.path)
      if (!route) return { statusCode: 404, data: { error: 'not found' } }
      const userId = userOf(req)
      if (route.protect && (!userId || server.alwaysUnauthorized)) {
        stats.unauthorized++
        return { statusCode: 401, data: { error: 'unauthorized' } }
      }
      return route.fn(req, { userId })
    },
    expireTokens() {
      tokens.clear()
    },
    revokeRefreshTokens() {
      refreshTokens.clear()
    },
    route(method, path, fn, protect = true) {
      routes.set(method.toUpperCase() + ' ' + path, { fn, protect })
    },
    validTokens() {
      return Array.from(tokens.keys())
    },
  }
  Object.defineProperties(server, {
    loginStatus: status('loginStatus'),
    refreshStatus: status('refreshStatus'),
    alwaysUnauthorized: {
      enumerable: true,
      get: () => switches.alwaysUnauthorized,
      set: (v: unknown) => (switches.alwaysUnauthorized = checked('server.alwaysUnauthorized', 'boolean', v as boolean)),
    },
  })
  server.route('GET', paths.me, (_req, ctx) => ({ data: users.get(ctx.userId as string) }))
  return server
}
