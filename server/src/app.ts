/**
 * The env-configured server's fastify app, apart from the process code (bin.ts) so tests can build
 * it in-process. `buildApp({ auth, ... })` serves:
 *
 * - the plugin's routes under /api/auth (login, refresh, phone, logout);
 * - `GET  /api/user/me`       (Bearer) → the public user from the users repository;
 * - `DELETE /api/user/me`     (Bearer) → 204: the account is deleted (auth.deleteUser: fields,
 *   identities, sessions; every token of the user refused at once);
 * - `POST /api/user/profile`  (Bearer) `{ nickName?, avatarUrl? }` → the updated public user. The
 *   nickname (1–20 characters, trimmed) is checked on the server with the content check of the
 *   host the session logged in from (WeChat's msg_sec_check, QQ's, Douyin's, Alipay's), because
 *   the client's check can be bypassed: `risky` → 422 content_risky, and nothing is saved.
 *   `avatarUrl` must be https (http too in development);
 * - with `avatars`: `POST /api/upload/avatar` (Bearer, multipart `file`) → `{ url }`, and
 *   `GET /uploads/:name` (avatars.ts);
 * - `GET  /healthz` → 200 `{ ok: true, store }`, or 503 when the store is down;
 * - with `devEndpoints`: `POST /api/dev/expire-tokens[?refresh=1]`, `GET /api/dev/stats`.
 *
 * One JSON log line per request (time, method, route — never the query string —, status, ms,
 * request id, user id): no token, code, refresh token or query string is ever logged.
 */
import { randomUUID } from 'node:crypto'
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { weappAuthDevEndpoints } from './dev-endpoints'
import { AuthServerError, BadRequestError, toHttpBody } from './errors'
import { allowEmptyJsonBody, maskPhoneNumber, sendError, weappAuth, weappAuthErrorHandler, type AuthenticatedUser } from './fastify'
import type { Avatars } from './avatars'
import type { Metrics } from './metrics'
import type { AuthServer, HostPlatform, PublicUser } from './types'

export interface AppOptions {
  auth: AuthServer
  /** `POST /api/upload/avatar` and `GET /uploads/:name` (createAvatars), when given. */
  avatars?: Avatars
  /** http avatar URLs allowed; dev endpoints possible. */
  development?: boolean
  /** Mount POST /api/dev/expire-tokens and GET /api/dev/stats (give the core `revocation: true`). */
  devEndpoints?: boolean
  /** fastify's trustProxy (request.ip from X-Forwarded-For): true, or the proxies' addresses/CIDRs. Default false. */
  trustProxy?: boolean | string
  /** Where the JSON log lines go. Default stdout; false: no logs. */
  log?: false | { write(line: string): void }
  /** Told of every answered request (route pattern, method, status, duration, error code): see metrics.ts. */
  metrics?: Pick<Metrics, 'observeRequest'>
}

/** The `error` code of a JSON error answer (the payload fastify is about to send), for the metrics. */
function errorCodeOf(payload: unknown): string | undefined {
  if (typeof payload !== 'string' || payload.length > 4096 || !payload.startsWith('{')) return undefined
  try {
    const error = (JSON.parse(payload) as { error?: unknown }).error
    return typeof error === 'string' ? error : undefined
  } catch {
    return undefined
  }
}

/** The platform a login asked for (body or query), for the metrics' platform label (checked against the known ones there). */
function loginPlatformOf(request: { body?: unknown; query?: unknown }): string | undefined {
  for (const source of [request.body, request.query]) {
    const platform = source && typeof source === 'object' ? (source as { platform?: unknown }).platform : undefined
    if (typeof platform === 'string') return platform
  }
  return undefined
}

const PROFILE_BODY_LIMIT = 16 * 1024
const MAX_NICKNAME = 20
const MAX_URL = 1024

/** The public view of a user: everything the repository returns, with the phone number masked. */
const SECRET_KEYS = new Set(['openid', 'unionid', 'session_key', 'sessionKey'])
function publicView(user: PublicUser): PublicUser {
  // One copy that never holds the secret keys (deleting them would slow every later use of the object).
  const out: Record<string, unknown> = {}
  for (const key in user) if (!SECRET_KEYS.has(key)) out[key] = user[key]
  if (typeof out.phoneNumber === 'string' && out.phoneNumber) out.phoneNumber = maskPhoneNumber(out.phoneNumber)
  return out as PublicUser
}

function loggerOptions(stream: { write(line: string): void }): FastifyServerOptions['logger'] {
  // The lines of one millisecond share one formatted time: toISOString showed up in the profiles under load.
  let lastMs = -1
  let lastTime = ''
  return {
    level: 'info',
    base: null,
    messageKey: 'msg',
    timestamp: () => {
      const ms = Date.now()
      if (ms !== lastMs) {
        lastMs = ms
        lastTime = `,"time":"${new Date(ms).toISOString()}"`
      }
      return lastTime
    },
    formatters: { level: (label: string) => ({ level: label }) },
    // fastify's own req/res serializers would print the URL with its query string: never.
    serializers: {
      req: (req: { method?: string; url?: string }) => ({ method: req.method, url: String(req.url || '').split('?')[0] }),
      res: (res: { statusCode?: number }) => ({ status: res.statusCode }),
    },
    stream,
  }
}

export function buildApp(options: AppOptions): FastifyInstance {
  const { auth } = options
  const development = !!options.development
  const stream = options.log === undefined ? process.stdout : options.log
  const app = Fastify({
    logger: stream ? loggerOptions(stream) : false,
    // fastify's own per-request lines are off: the onResponse hook below writes the one line.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: options.trustProxy ?? false,
    bodyLimit: PROFILE_BODY_LIMIT,
    genReqId: () => randomUUID(),
    // Requests Node's HTTP parser refuses (a bad Content-Length, conflicting framing headers) never
    // reach a route: they get the same { error, message } shape as every other error.
    clientErrorHandler: (err, socket) => {
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || !socket.writable) return void socket.destroy()
      const body = JSON.stringify({ error: 'bad_request', message: 'The request is not valid HTTP (its framing or headers are malformed).' })
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    },
  })

  app.setErrorHandler(weappAuthErrorHandler)
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}.` }))
  // Alipay's my.request sends application/json with an empty body on a DELETE: no body, not a 400.
  allowEmptyJsonBody(app)

  // The hooks on every request are callback-style: no promise per hook.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
  // Graceful close: requests already in flight finish, and their keep-alive connections close
  // with the answer (an idle keep-alive connection would otherwise hold close() open).
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  // The error code of each error answer, for the metrics (never its message).
  const errorCodes = new WeakMap<object, string>()
  const { metrics } = options
  app.addHook('onSend', (request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    if (metrics && reply.statusCode >= 400) {
      const code = errorCodeOf(payload)
      if (code) errorCodes.set(request, code)
    }
    done(null, payload)
  })
  // The one line per request. Only these fields: no header, body or query string can leak a token.
  app.addHook('onResponse', (request, reply, done) => {
    // request.routeOptions builds a new object on every read: read it once.
    const pattern = request.routeOptions.url
    const line: Record<string, unknown> = {
      method: request.method,
      route: pattern || request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    }
    if (request.user) line.userId = request.user.id
    request.log.info(line, 'request')
    if (metrics) {
      const route = pattern || 'unmatched'
      metrics.observeRequest({
        route,
        method: request.method,
        status: reply.statusCode,
        seconds: reply.elapsedTime / 1000,
        error: errorCodes.get(request),
        platform: route === '/api/auth/login' ? loginPlatformOf(request) : undefined,
      })
    }
    done()
  })

  app.register(weappAuth, {
    auth,
    onPhoneNumber: async (userId, info) => {
      const users = auth.users as { updateUser?: (id: string, patch: Record<string, unknown>) => Promise<unknown> }
      if (typeof users.updateUser === 'function') await users.updateUser(userId, { phoneNumber: info.purePhoneNumber || info.phoneNumber })
      return undefined // the default answer: the masked number
    },
  })
  if (options.devEndpoints) app.register(weappAuthDevEndpoints, { auth })
  const { avatars } = options
  if (avatars) app.register(async (scope) => avatars.register(scope))

  app.after(() => {
    // The user comes with the token check (one store round trip for both, with the default users).
    app.get('/api/user/me', { preHandler: app.authenticateUser }, async (request) => {
      if (typeof auth.users.findById !== 'function') throw new AuthServerError('not_found', 'This server’s users repository has no findById.')
      const user = (request.user as AuthenticatedUser).profile
      if (!user) throw new AuthServerError('not_found', 'No such user (the account was removed).')
      return publicView(user)
    })

    app.delete('/api/user/me', { preHandler: app.authenticate }, async (request, reply) => {
      await auth.deleteUser((request.user as AuthenticatedUser).id)
      return reply.code(204).send()
    })

    app.post('/api/user/profile', { preHandler: app.authenticate }, async (request) => {
      const { id, claims } = request.user as AuthenticatedUser
      const body = request.body
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('bad_request', 'Send a JSON object { nickName?, avatarUrl? }.')
      const { nickName, avatarUrl } = body as Record<string, unknown>
      if (nickName === undefined && avatarUrl === undefined) throw new BadRequestError('bad_request', 'nickName or avatarUrl is required.')
      const patch: Record<string, unknown> = {}
      if (nickName !== undefined) {
        const nick = typeof nickName === 'string' ? nickName.trim() : ''
        const length = [...nick].length
        if (length < 1 || length > MAX_NICKNAME) throw new BadRequestError('bad_request', `nickName must be a string of 1–${MAX_NICKNAME} characters (after trimming).`)
        patch.nickName = nick
      }
      if (avatarUrl !== undefined) {
        let url: URL | null = null
        if (typeof avatarUrl === 'string' && avatarUrl.length <= MAX_URL) {
          try {
            url = new URL(avatarUrl)
          } catch {
            url = null
          }
        }
        const allowed = development ? ['https:', 'http:'] : ['https:']
        if (!url || !allowed.includes(url.protocol)) {
          throw new BadRequestError('bad_request', `avatarUrl must be an ${development ? 'http(s)' : 'https'} URL of at most ${MAX_URL} characters.`)
        }
        patch.avatarUrl = avatarUrl
      }
      // The client's nickname review can be bypassed: check on the server too (scene 1: profile),
      // with the content check of the host the session logged in from (the token's plt).
      // A host without a check of its own (a provider of yours without checkText) saves it unchecked.
      const host = claims.plt ?? (auth.users.findById ? ((await auth.users.findById(id)) as { platform?: HostPlatform } | null | undefined)?.platform : undefined) ?? 'weixin'
      if (typeof patch.nickName === 'string' && auth.checksText(host)) {
        const verdict = await auth.checkText(id, patch.nickName, 1, { platform: host, ...(claims.app ? { appid: claims.app } : {}) })
        if (verdict.suggest === 'risky') throw new AuthServerError('content_risky', `The content check refused this nickname${verdict.label ? ` (label ${verdict.label})` : ''}.`)
      }
      const users = auth.users as { updateUser?: (id: string, patch: Record<string, unknown>) => Promise<PublicUser | null> }
      if (typeof users.updateUser !== 'function') throw new AuthServerError('not_found', 'This server’s users repository has no updateUser.')
      const updated = await users.updateUser(id, patch)
      if (!updated) throw new AuthServerError('not_found', 'No such user (the account was removed).')
      return publicView(updated)
    })

    app.get('/healthz', async (request, reply) => {
      try {
        await auth.health()
        return { ok: true, store: auth.store.kind }
      } catch (err) {
        if (!(err instanceof AuthServerError)) return sendError(request, reply, err)
        // The details (host, port, the driver's error) go to the log only.
        request.log.warn({ error: err.code, reason: err.message }, 'health check failed')
        return reply.code(503).send({ ok: false, store: auth.store.kind, ...toHttpBody(err).body })
      }
    })
  })

  return app
}
