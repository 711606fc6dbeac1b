/**
 * `weapp-auth-server/fastify`: the SDK's contract routes on fastify 5, over any `AuthServer`.
 *
 *   const auth = createAuthServer({ appid, secret, jwt: { secret: JWT_SECRET } })
 *   app.register(weappAuth, { auth })                    // POST /api/auth/{login,refresh,phone,logout}
 *   app.get('/api/me', { preHandler: app.authenticate }, (req) => ({ id: req.user!.id }))
 *   app.get('/api/profile', { preHandler: app.authenticateUser }, (req) => req.user!.profile)
 *
 * Routes (under `prefix`, default `/api/auth`):
 * - `POST /login`   `{ code, platform?, anonymousCode?, appid? }` (JSON body, or `?code=` as the SDK's
 *   `codeIn: 'query'` sends it) → `{ token, expiresIn, refreshToken, user }`. Rate-limited per
 *   `request.ip` by the core (429 with `retry-after`).
 * - `POST /refresh` `{ refreshToken }` → the same shape. A refresh token in the query string is
 *   refused (400 `refresh_token_in_query`) even when the body has one too: query strings end up in
 *   access logs and proxies' caches.
 * - `POST /phone`   (Bearer) what the host handed out: WeChat `{ code }`; QQ / Douyin
 *   `{ encryptedData, iv, platform }`; Alipay `{ response, platform: 'alipay' }` (see phone-number.ts)
 *   → `{ phoneNumber: '138****5678' }`, or what `onPhoneNumber` returns.
 * - `POST /logout`  (Bearer) `{}`, `{ all: true }` or `{ others: true }` → 204: ends this session
 *   (its refresh family), every session of the user, or all but this one. Ended sessions' access
 *   tokens are refused on every instance from the next request.
 * - `GET /sessions` (Bearer) → `{ sessions: [{ id, platform, appid, createdAt, lastUsedAt,
 *   expiresAt, current }] }`, one per login, never a token.
 * - `DELETE /sessions/:id` (Bearer) → 204; 404 `not_found` for an id that is not one of the
 *   user's sessions.
 *
 * The plugin is wrapped with fastify-plugin, so `app.authenticate` (a preHandler that sets
 * `request.user = { id, claims }` or answers 401) and `app.authenticateUser` (the same, plus
 * `request.user.profile`: the user, read with the token check) are visible to the whole app. The routes live in
 * their own encapsulated context with their own JSON parser (16 KiB limit, an empty body is
 * allowed for `?code=`), content types (JSON only) and error handler, so nothing here changes how
 * the app's other routes parse or fail.
 *
 * Every error answers `{ error, message, errcode? }` with a stable `error` code (see errors.ts):
 * a core `AuthServerError` as `toHttpBody` maps it; malformed JSON → 400 `invalid_json`; a body
 * over the limit → 413 `payload_too_large`; a content type other than JSON → 400 `bad_request`;
 * anything unexpected → 500 `internal_error` with no details (the error itself is logged). A
 * response never carries a stack trace.
 */
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { AuthServerError, BadRequestError, RateLimitError, TokenError, toHttpBody } from './errors'
import { maskPhoneNumber } from './mask'
import { phoneCredentialFrom } from './phone-number'
import type { AuthServer, Claims, HostPlatform, PhoneInfo, PublicUser } from './types'

/** What `app.authenticate` puts on `request.user`. */
export interface AuthenticatedUser {
  /** The token's `sub`: the id your users repository gave the user. */
  id: string
  claims: Claims
  /**
   * Set by `app.authenticateUser` only: the user as your users repository answers it (null when
   * it has no such user). With the default users it came with the token check, at no extra cost.
   */
  profile?: PublicUser | null
}

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler: `Authorization: Bearer <jwt>` → `request.user`; otherwise 401 with a stable `error` code. */
    authenticate: preHandlerAsyncHookHandler
    /**
     * preHandler: as `authenticate`, and `request.user.profile` is the user (`auth.authenticate`):
     * for routes that answer with the user's data, in the same store round trip as the token check.
     */
    authenticateUser: preHandlerAsyncHookHandler
  }
  interface FastifyRequest {
    /** Set by `app.authenticate`; null on routes that do not use it. */
    user: AuthenticatedUser | null
  }
}

export interface WeappAuthOptions<U extends PublicUser = PublicUser> {
  /** The core: `createAuthServer(options)`. */
  auth: AuthServer<U>
  /** Where the routes are mounted. Default `/api/auth`. */
  prefix?: string
  /** Body limit of these routes, in bytes. Default 16 KiB (a login body is a few dozen bytes). */
  bodyLimit?: number
  /**
   * Called with the number WeChat returned for `POST {prefix}/phone`, to store it. Its result (if
   * an object) is the answer; otherwise the answer is `{ phoneNumber }` masked like `138****5678`.
   */
  onPhoneNumber?: (userId: string, info: PhoneInfo) => unknown
}

const DEFAULT_PREFIX = '/api/auth'
const DEFAULT_BODY_LIMIT = 16 * 1024
const PLATFORMS: readonly HostPlatform[] = ['weixin', 'qq', 'douyin', 'alipay']

export { maskPhoneNumber }

/** Maps any error to the JSON answer a client gets: `{ status, body, headers }`. Never a stack. */
export function httpError(err: unknown): { status: number; body: { error: string; message: string; errcode?: number }; headers: Record<string, string> } {
  const headers: Record<string, string> = {}
  if (err instanceof AuthServerError) {
    const { status, body } = toHttpBody(err)
    if (err instanceof RateLimitError) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfter)))
    if (status === 401) headers['www-authenticate'] = `Bearer error="invalid_token"`
    return { status, body, headers }
  }
  const e = err as Partial<FastifyError> | undefined
  const code = e && typeof e.code === 'string' ? e.code : ''
  const statusCode = e && typeof e.statusCode === 'number' ? e.statusCode : 0
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err instanceof SyntaxError && statusCode === 400)) {
    return { status: 400, body: { error: 'invalid_json', message: 'The body is not valid JSON.' }, headers }
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || statusCode === 413) {
    return { status: 413, body: { error: 'payload_too_large', message: 'The body is larger than this route accepts.' }, headers }
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || statusCode === 415) {
    return { status: 400, body: { error: 'bad_request', message: 'Send the body as application/json.' }, headers }
  }
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { status: 400, body: { error: 'bad_request', message: 'The body is empty but its content-type says JSON.' }, headers }
  }
  // fastify's own 4xx errors (bad content-length, validation, …): their messages describe the request, not the server.
  if (statusCode >= 400 && statusCode < 500 && e && typeof e.message === 'string') {
    return { status: statusCode === 404 ? 404 : 400, body: { error: statusCode === 404 ? 'not_found' : 'bad_request', message: e.message }, headers }
  }
  return { status: 500, body: { error: 'internal_error', message: 'Internal error' }, headers }
}

/** Sends `httpError(err)`; logs the error when it is a 500 (the client sees no details). */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const { status, body, headers } = httpError(err)
  if (status >= 500 && !(err instanceof AuthServerError)) request.log.error({ err }, 'unexpected error')
  else if (status >= 500) request.log.warn({ error: body.error, reason: (err as Error).message }, 'upstream or store failure')
  return reply.code(status).headers(headers).send(body)
}

/** An error handler for the app's own routes that answers like the plugin's routes: `app.setErrorHandler(weappAuthErrorHandler)`. */
export function weappAuthErrorHandler(this: FastifyInstance, err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendError(request, reply, err)
}

function bearer(header: string | undefined): string | null {
  if (!header) return null
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header)
  return m ? m[1] : null
}

function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('bad_request', 'The body must be a JSON object.')
  return body as Record<string, unknown>
}

function optionalString(obj: Record<string, unknown>, field: string): string | undefined {
  const v = obj[field]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw new BadRequestError('bad_request', `${field} must be a string.`)
  return v
}

function queryObject(query: unknown): Record<string, unknown> {
  return query && typeof query === 'object' ? (query as Record<string, unknown>) : {}
}

const plugin: FastifyPluginAsync<WeappAuthOptions> = async (app, options) => {
  const auth = options && options.auth
  if (!auth || typeof auth.login !== 'function' || typeof auth.verify !== 'function' || typeof auth.authenticate !== 'function') {
    throw new TypeError('weappAuth: options.auth must be the AuthServer from createAuthServer(options).')
  }
  const prefix = options.prefix === undefined ? DEFAULT_PREFIX : options.prefix
  if (typeof prefix !== 'string' || (prefix !== '' && (!prefix.startsWith('/') || prefix.endsWith('/')))) {
    throw new TypeError(`weappAuth: prefix must be '' or a path like '/api/auth' (no trailing slash), got ${JSON.stringify(prefix)}.`)
  }
  const bodyLimit = options.bodyLimit === undefined ? DEFAULT_BODY_LIMIT : options.bodyLimit
  if (!Number.isInteger(bodyLimit) || bodyLimit < 256) throw new TypeError(`weappAuth: bodyLimit must be an integer of at least 256 bytes, got ${String(options.bodyLimit)}.`)
  if (options.onPhoneNumber !== undefined && typeof options.onPhoneNumber !== 'function') throw new TypeError('weappAuth: onPhoneNumber must be a function.')

  const authenticate: preHandlerAsyncHookHandler = async function (request, reply) {
    const token = bearer(request.headers.authorization)
    if (!token) {
      return sendError(request, reply, new TokenError('unauthorized', 'Send the access token as Authorization: Bearer <token>.'))
    }
    try {
      const claims = await auth.verify(token)
      request.user = { id: String(claims.sub), claims }
    } catch (err) {
      return sendError(request, reply, err)
    }
  }
  const authenticateUser: preHandlerAsyncHookHandler = async function (request, reply) {
    const token = bearer(request.headers.authorization)
    if (!token) {
      return sendError(request, reply, new TokenError('unauthorized', 'Send the access token as Authorization: Bearer <token>.'))
    }
    try {
      const { claims, user } = await auth.authenticate(token)
      request.user = { id: String(claims.sub), claims, profile: user }
    } catch (err) {
      return sendError(request, reply, err)
    }
  }
  if (!app.hasRequestDecorator('user')) app.decorateRequest('user', null)
  if (!app.hasDecorator('authenticate')) app.decorate('authenticate', authenticate)
  if (!app.hasDecorator('authenticateUser')) app.decorate('authenticateUser', authenticateUser)

  // The routes, in their own context: JSON only, an empty body allowed, the limit, the error answers.
  await app.register(
    async (routes) => {
      routes.removeAllContentTypeParsers()
      routes.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_req, text, done) => {
        const s = String(text)
        if (s.trim() === '') return done(null, undefined)
        try {
          done(null, JSON.parse(s))
        } catch {
          done(new BadRequestError('invalid_json', 'The body is not valid JSON.'), undefined)
        }
      })
      routes.setErrorHandler(weappAuthErrorHandler)
      routes.setNotFoundHandler((request, reply) =>
        reply.code(404).send({ error: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}.` }),
      )

      routes.post('/login', { bodyLimit }, async (request) => {
        const body = bodyObject(request.body)
        const query = queryObject(request.query)
        let code = optionalString(body, 'code')
        if (code === undefined) code = optionalString(query, 'code')
        const platform = optionalString(body, 'platform') ?? optionalString(query, 'platform')
        if (platform !== undefined && !PLATFORMS.includes(platform as HostPlatform)) {
          throw new BadRequestError('unsupported_platform', `platform must be one of ${PLATFORMS.join(', ')}, got ${JSON.stringify(platform.slice(0, 32))}.`)
        }
        const anonymousCode = optionalString(body, 'anonymousCode') ?? optionalString(query, 'anonymousCode')
        // A Douyin guest (not logged in to Douyin) brings only an anonymousCode: the core decides.
        const guest = platform === 'douyin' && anonymousCode !== undefined && anonymousCode !== ''
        if ((code === undefined || code === '') && !guest) throw new BadRequestError('code_required', 'code is required: a JSON body { "code": "…" } or ?code=…, from wx.login.')
        if (code === undefined) code = ''
        const input: { code: string; platform?: HostPlatform; anonymousCode?: string; appid?: string } = { code }
        if (platform !== undefined) input.platform = platform as HostPlatform
        if (anonymousCode !== undefined) input.anonymousCode = anonymousCode
        // The mini program's AppID (the SDK sends it where the host tells it): picks the app on a server of several.
        const appid = optionalString(body, 'appid') ?? optionalString(query, 'appid')
        if (appid !== undefined && appid !== '') input.appid = appid
        return auth.login(input, { client: request.ip })
      })

      routes.post('/refresh', { bodyLimit }, async (request) => {
        const query = queryObject(request.query)
        if ('refreshToken' in query || 'refresh_token' in query) {
          throw new BadRequestError('refresh_token_in_query', 'Send the refresh token in the JSON body, never in the query string (it would end up in logs).')
        }
        const body = bodyObject(request.body)
        const refreshToken = optionalString(body, 'refreshToken') ?? optionalString(body, 'refresh_token')
        if (!refreshToken) throw new BadRequestError('refresh_token_required', 'refreshToken is required: a JSON body { "refreshToken": "…" }.')
        return auth.refresh(refreshToken)
      })

      routes.post('/phone', { bodyLimit, preHandler: authenticate }, async (request) => {
        const user = request.user as AuthenticatedUser
        const body = bodyObject(request.body)
        const query = queryObject(request.query)
        // A bare WeChat code (the body, or `?code=` as the SDK's codeIn: 'query' sends it); anything
        // else is a host's credential, checked and routed on its platform by the core.
        const code = optionalString(body, 'code') ?? optionalString(query, 'code')
        const platform = optionalString(body, 'platform') ?? optionalString(query, 'platform')
        const bare = code !== undefined && code !== '' && (platform === undefined || platform === 'weixin') && body.encryptedData === undefined && body.response === undefined
        const input = bare ? (code as string) : phoneCredentialFrom({ ...body, code, platform })
        const info = await auth.phoneNumber(user.id, input, user.claims.plt === undefined ? {} : { platform: user.claims.plt, ...(user.claims.app ? { appid: user.claims.app } : {}) })
        if (options.onPhoneNumber) {
          const shaped = await options.onPhoneNumber(user.id, info)
          if (shaped && typeof shaped === 'object') return shaped
        }
        return { phoneNumber: maskPhoneNumber(info.purePhoneNumber || info.phoneNumber) }
      })

      routes.post('/logout', { bodyLimit, preHandler: authenticate }, async (request, reply) => {
        const body = request.body
        if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) throw new BadRequestError('bad_request', 'Send {}, { all: true } or { others: true }.')
        const { all, others } = (body ?? {}) as Record<string, unknown>
        for (const [name, value] of [['all', all], ['others', others]] as const) {
          if (value !== undefined && typeof value !== 'boolean') throw new BadRequestError('bad_request', `${name} must be true or false.`)
        }
        await auth.logout((request.user as AuthenticatedUser).claims, { all: all === true, others: others === true })
        return reply.code(204).send()
      })

      routes.get('/sessions', { preHandler: authenticate }, async (request) => {
        const { id, claims } = request.user as AuthenticatedUser
        return { sessions: await auth.sessions(id, claims.fam) }
      })

      routes.delete<{ Params: { id: string } }>('/sessions/:id', { preHandler: authenticate }, async (request, reply) => {
        await auth.endSession((request.user as AuthenticatedUser).id, request.params.id)
        return reply.code(204).send()
      })
    },
    { prefix },
  )
}

/**
 * Makes `app`'s JSON parser take an empty body as no body. Some hosts' request APIs (Alipay's
 * my.request) send `content-type: application/json` with an empty body on a DELETE: that is not a
 * 400. A body with content goes to fastify's own parser, unchanged.
 */
export function allowEmptyJsonBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (String(body).trim() === '') return done(null, undefined)
    parseJson(request, String(body), done)
  })
}

/** The fastify plugin: `app.register(weappAuth, { auth, prefix? })`. */
export const weappAuth = fp(plugin, { fastify: '5.x', name: 'weapp-auth-server' })
export default weappAuth

/** Development-only endpoints for end-to-end demos (see dev-endpoints.ts): never on a public server. */
export { weappAuthDevEndpoints } from './dev-endpoints'
export type { DevEndpointsOptions, DevStats } from './dev-endpoints'

/** Avatar upload and serving (`POST /api/upload/avatar`, `GET /uploads/:name`), as the ready-made server has them: see avatars.ts. */
export { createAvatars, imageTypeOf, DEFAULT_AVATAR_MAX_BYTES } from './avatars'
export type { Avatars, AvatarOptions } from './avatars'
