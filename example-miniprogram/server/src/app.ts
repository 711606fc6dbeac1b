/**
 * The reference developer server: the seed document's FastAPI backend done right, on fastify.
 * - POST /api/auth/login    { code } (JSON body; `?code=` also accepted) → { token, expiresIn, refreshToken, user }
 * - POST /api/auth/refresh  { refreshToken } → same; refresh tokens rotate (each works once)
 * - GET  /api/user/me       → the user                                   (Bearer token)
 * - POST /api/user/profile  { nickName?, avatarUrl? } → the user          (Bearer token)
 * - POST /api/upload/avatar multipart field `file` (png/jpeg/webp/gif, ≤ 2 MB) → { url }   (Bearer token)
 * - GET  /uploads/:name     the stored file
 * - POST /api/auth/phone    { code } → { phoneNumber }                   (Bearer token)
 * session_key and openid stay here: no response ever carries them.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import multipart from '@fastify/multipart'
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose'
import { createMockWechat, createRealWechat, WechatError, type Wechat } from './wechat'

export interface ServerOptions {
  /** JWT lifetime in seconds. Default: JWT_TTL_SECONDS or 7 days. */
  jwtTtlSeconds?: number
  /** HS256 secret. Default: JWT_SECRET or a random one per process. */
  jwtSecret?: string
  /** Where avatars are stored. Default: a folder `uploads` beside the server. */
  uploadDir?: string
  /**
   * Adds POST /api/dev/expire-tokens and GET /api/dev/stats, for the end-to-end demo. Default:
   * EXAMPLE_DEV_ENDPOINTS=1. Never enable it on a public server.
   */
  devEndpoints?: boolean
  /** Maximum avatar size in bytes. Default 2 MB. */
  maxUploadBytes?: number
  wechat?: Wechat
  logger?: boolean
}

export interface User {
  id: number
  nickName: string
  avatarUrl: string
  phoneNumber?: string
}

const IMAGE_TYPES: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' }

export interface ExampleServer {
  app: FastifyInstance
  /** Server-side expiry of every access token issued so far (and, with `refresh`, every refresh token). */
  expireAllTokens(options?: { refresh?: boolean }): void
  stats: { logins: number; refreshes: number; unauthorized: number }
  wechat: Wechat
}

export function buildServer(options: ServerOptions = {}): ExampleServer {
  const ttl = options.jwtTtlSeconds ?? (Number(process.env.JWT_TTL_SECONDS) || 7 * 24 * 3600)
  const secret = new TextEncoder().encode(options.jwtSecret || process.env.JWT_SECRET || randomBytes(32).toString('hex'))
  const uploadDir = options.uploadDir || join(__dirname, '..', 'uploads')
  const maxUpload = options.maxUploadBytes || 2 * 1024 * 1024
  const wechat =
    options.wechat ||
    (process.env.WX_APPID && process.env.WX_SECRET ? createRealWechat(process.env.WX_APPID, process.env.WX_SECRET) : createMockWechat())
  mkdirSync(uploadDir, { recursive: true })

  const usersByOpenid = new Map<string, User>()
  const users = new Map<number, User>()
  const sessionKeys = new Map<string, string>() // openid → session_key, server side only (rule 1)
  const openidOf = new Map<number, string>()
  const refreshTokens = new Map<string, { userId: number; expiresAt: number }>()
  let generation = 0 // tokens carry the generation they were issued in; older ones count as expired
  const stats = { logins: 0, refreshes: 0, unauthorized: 0 }

  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 64 * 1024 })
  app.register(multipart, { limits: { fileSize: maxUpload, files: 1, fields: 10 } })

  // No stack traces in responses: every error becomes { error, message }.
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof WechatError) return reply.code(400).send({ errcode: err.errcode, errmsg: err.errmsg })
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status === 500) app.log.error(err)
    return reply.code(status).send({ error: status === 500 ? 'internal_error' : err.code || 'bad_request', message: status === 500 ? 'Internal error' : err.message })
  })
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not_found' }))

  async function issue(user: User) {
    const now = Math.floor(Date.now() / 1000)
    const token = await new SignJWT({ sub: String(user.id), gen: generation })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(secret)
    const refreshToken = randomBytes(32).toString('base64url')
    refreshTokens.set(refreshToken, { userId: user.id, expiresAt: Date.now() + 30 * 24 * 3600 * 1000 })
    return { token, expiresIn: ttl, refreshToken, user: publicUser(user) }
  }

  function publicUser(u: User) {
    return { id: u.id, nickName: u.nickName, avatarUrl: u.avatarUrl, phoneNumber: u.phoneNumber ? u.phoneNumber.replace(/^(\d{3})\d{4}(\d+)$/, '$1****$2') : undefined }
  }

  function badRequest(reply: FastifyReply, message: string) {
    return reply.code(400).send({ error: 'bad_request', message })
  }

  async function currentUser(req: FastifyRequest, reply: FastifyReply): Promise<User | null> {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization || '')
    if (!m) {
      stats.unauthorized++
      reply.code(401).send({ error: 'unauthorized', message: 'Missing bearer token' })
      return null
    }
    try {
      const { payload } = await jwtVerify(m[1], secret, { algorithms: ['HS256'] })
      if (payload.gen !== generation) throw new joseErrors.JWTExpired('token revoked', payload)
      const user = users.get(Number(payload.sub))
      if (!user) throw new Error('unknown user')
      return user
    } catch (err) {
      stats.unauthorized++
      reply.code(401).send({ error: 'unauthorized', message: err instanceof joseErrors.JWTExpired ? 'Token expired' : 'Invalid token' })
      return null
    }
  }

  app.post('/api/auth/login', async (req, reply) => {
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>
    const code = body.code ?? (req.query as Record<string, unknown>).code
    if (typeof code !== 'string' || !code) return badRequest(reply, 'code is required (JSON body { "code": "…" } or ?code=)')
    const session = await wechat.code2Session(code) // WechatError → 400 with WeChat's errcode
    let user = usersByOpenid.get(session.openid)
    if (!user) {
      user = { id: users.size + 1, nickName: '微信用户', avatarUrl: '' }
      users.set(user.id, user)
      usersByOpenid.set(session.openid, user)
      openidOf.set(user.id, session.openid)
    }
    sessionKeys.set(session.openid, session.session_key)
    stats.logins++
    return issue(user)
  })

  app.post('/api/auth/refresh', async (req, reply) => {
    const rt = (req.body as Record<string, unknown> | undefined)?.refreshToken
    if (typeof rt !== 'string' || !rt) return badRequest(reply, 'refreshToken is required')
    const entry = refreshTokens.get(rt)
    refreshTokens.delete(rt) // rotation: a refresh token works once
    if (!entry || entry.expiresAt < Date.now()) return reply.code(401).send({ error: 'invalid_refresh_token' })
    stats.refreshes++
    return issue(users.get(entry.userId)!)
  })

  app.get('/api/user/me', async (req, reply) => {
    const user = await currentUser(req, reply)
    return user ? publicUser(user) : reply
  })

  app.post('/api/user/profile', async (req, reply) => {
    const user = await currentUser(req, reply)
    if (!user) return reply
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>
    const { nickName, avatarUrl } = body
    if (nickName === undefined && avatarUrl === undefined) return badRequest(reply, 'nickName or avatarUrl is required')
    if (nickName !== undefined && (typeof nickName !== 'string' || !nickName.trim() || [...nickName.trim()].length > 20)) {
      return badRequest(reply, 'nickName must be 1–20 characters')
    }
    if (avatarUrl !== undefined && (typeof avatarUrl !== 'string' || !/^https?:\/\//.test(avatarUrl))) return badRequest(reply, 'avatarUrl must be an http(s) URL')
    if (typeof nickName === 'string') user.nickName = nickName.trim()
    if (typeof avatarUrl === 'string') user.avatarUrl = avatarUrl
    return publicUser(user)
  })

  app.post('/api/upload/avatar', async (req, reply) => {
    const user = await currentUser(req, reply)
    if (!user) return reply
    if (!req.isMultipart()) return badRequest(reply, 'multipart/form-data with a "file" field expected')
    const file = await req.file()
    if (!file || file.fieldname !== 'file') return badRequest(reply, 'a "file" field is required')
    const ext = IMAGE_TYPES[file.mimetype]
    if (!ext) {
      file.file.resume()
      return reply.code(415).send({ error: 'unsupported_type', message: 'Only png, jpeg, webp and gif images are accepted' })
    }
    const data = await file.toBuffer().catch((err: { code?: string }) => {
      if (err && err.code === 'FST_REQ_FILE_TOO_LARGE') return null
      throw err
    })
    if (!data) return reply.code(413).send({ error: 'too_large', message: `Avatars are limited to ${maxUpload} bytes` })
    const name = `${user.id}-${randomUUID()}.${ext}`
    writeFileSync(join(uploadDir, name), data)
    const host = req.headers.host || '127.0.0.1'
    const url = `${req.protocol}://${host}/uploads/${name}`
    user.avatarUrl = url
    return { url }
  })

  app.get('/uploads/:name', async (req, reply) => {
    const name = (req.params as { name: string }).name
    if (!/^[\w-]+\.(png|jpg|webp|gif)$/.test(name) || !existsSync(join(uploadDir, name))) return reply.code(404).send({ error: 'not_found' })
    const ext = name.split('.').pop()!
    const type = Object.keys(IMAGE_TYPES).find((t) => IMAGE_TYPES[t] === ext)!
    return reply.type(type).send(readFileSync(join(uploadDir, name)))
  })

  app.post('/api/auth/phone', async (req, reply) => {
    const user = await currentUser(req, reply)
    if (!user) return reply
    const code = (req.body as Record<string, unknown> | undefined)?.code ?? (req.query as Record<string, unknown>).code
    if (typeof code !== 'string' || !code) return badRequest(reply, 'code is required')
    const info = await wechat.phoneNumber(code)
    user.phoneNumber = info.purePhoneNumber
    return { phoneNumber: publicUser(user).phoneNumber }
  })

  function expireAllTokens(opts: { refresh?: boolean } = {}): void {
    generation++
    if (opts.refresh) refreshTokens.clear()
  }

  if (options.devEndpoints ?? process.env.EXAMPLE_DEV_ENDPOINTS === '1') {
    app.post('/api/dev/expire-tokens', async (req) => {
      expireAllTokens({ refresh: (req.query as Record<string, string>).refresh === '1' })
      return { ok: true }
    })
    app.get('/api/dev/stats', async () => stats)
  }

  return { app, stats, wechat, expireAllTokens }
}

/** Starts on 127.0.0.1 (port 0: a free one). */
export async function startServer(options: ServerOptions & { port?: number } = {}) {
  const server = buildServer(options)
  const address = await server.app.listen({ host: '127.0.0.1', port: options.port ?? 0 })
  return { ...server, url: address, close: () => server.app.close() }
}
