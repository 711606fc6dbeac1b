/**
 * The example's developer server: a thin user of weapp-auth-server. The kit does the auth —
 * code2Session, JWT + rotating refresh tokens, the phone-number code, the shared access_token,
 * msg_sec_check — and this file adds what is the app's own:
 *
 * - POST /api/auth/login | refresh | phone | logout   the kit's fastify plugin (weapp-auth-server/fastify);
 *                           logins from QQ, Douyin and Alipay too when their providers are configured
 *                           (QQ_*, DOUYIN_*, ALIPAY_* as the bin reads them: providersFromEnv)
 * - GET  /api/user/me       → the user                                   (Bearer token)
 * - POST /api/user/profile  { nickName?, avatarUrl? } → the user          (Bearer token; the nickname
 *                           is checked on the server with the content check of the user's host)
 * - DELETE /api/user/me     deletes the account (the kit's auth.deleteUser; its avatars too)
 * - POST /api/upload/avatar, GET /uploads/:name   the kit's avatar routes (createAvatars): type from
 *                           the bytes, URLs from PUBLIC_URL (else this server's own address)
 * - with devEndpoints: POST /api/dev/expire-tokens[?refresh=1], GET /api/dev/stats (the kit's)
 *
 * session_key and openid stay in the kit: no response ever carries them.
 */
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import {
  AuthServerError,
  BadRequestError,
  createAuthServer,
  memoryStore,
  providersFromEnv,
  redisStore,
  sqliteStore,
  storeUsers,
  DEFAULT_USER_FIELDS,
  type AuthServer,
  type HostPlatform,
  type SessionProvider,
  type Store,
  type StoreUser,
  type StoreUserRepository,
} from 'weapp-auth-server'
import { allowEmptyJsonBody, createAvatars, maskPhoneNumber, weappAuth, weappAuthDevEndpoints, weappAuthErrorHandler, type AuthenticatedUser } from 'weapp-auth-server/fastify'

export interface ServerOptions {
  /** Mini program AppID / AppSecret. Default: WX_APPID / WX_SECRET. */
  appid?: string
  secret?: string
  /** Where WeChat's APIs are. Default: WX_API_BASE, else https://api.weixin.qq.com. */
  wxApiBase?: string
  /** HS256 secret (≥ 32 characters). Default: JWT_SECRET, else a random one per process. */
  jwtSecret?: string
  /** Access-token lifetime in seconds. Default: JWT_TTL_SECONDS or 7 days. */
  jwtTtlSeconds?: number
  /** Where avatars are stored. Default: a folder `uploads` beside the server. */
  uploadDir?: string
  /**
   * Adds POST /api/dev/expire-tokens and GET /api/dev/stats, for the end-to-end demo. Default:
   * EXAMPLE_DEV_ENDPOINTS=1. Never enable it on a public server.
   */
  devEndpoints?: boolean
  /** Maximum avatar size in bytes. Default 2 MB. */
  maxUploadBytes?: number
  /** The address clients reach this server at; avatar URLs start with it. Default PUBLIC_URL. */
  publicUrl?: string
  /** Other hosts' code exchanges. Default: from QQ_*, DOUYIN_*, ALIPAY_* (providersFromEnv), none when unset. */
  providers?: Partial<Record<HostPlatform, SessionProvider>>
  /**
   * Where users and sessions are kept. Default, as the ready-made server chooses: REDIS_URL set →
   * Redis; STORE=memory → memory; otherwise SQLite at SQLITE_PATH (default ./weapp-auth.db).
   */
  store?: Store
  logger?: boolean
}

function storeFromEnv(env: NodeJS.ProcessEnv): Store {
  if (env.REDIS_URL) return redisStore(env.REDIS_URL)
  if (env.STORE === 'memory') return memoryStore()
  return sqliteStore(env.SQLITE_PATH || './weapp-auth.db')
}

/** What a new user is called until they set a nickname: what each host itself shows. */
const DEFAULT_NICKNAMES: Record<HostPlatform, string> = { weixin: '微信用户', qq: 'QQ用户', douyin: '抖音用户', alipay: '支付宝用户' }

/**
 * The kit's store-backed users, remembering which host each came from (`platform`, set once at
 * creation): the nickname check below is WeChat's and only applies to WeChat users.
 */
function usersWithHost(store: Store): StoreUserRepository {
  const base = storeUsers(store)
  return {
    ...base,
    async findOrCreate({ openid, platform }) {
      const stored = await store.findOrCreateUser(`${platform}:${openid}`, { ...DEFAULT_USER_FIELDS, nickName: DEFAULT_NICKNAMES[platform], platform })
      return { ...stored.fields, id: stored.id } as StoreUser
    },
  }
}

export interface ExampleServer {
  app: FastifyInstance
  auth: AuthServer<StoreUser>
}

function publicView(user: StoreUser) {
  return { ...user, phoneNumber: user.phoneNumber ? maskPhoneNumber(user.phoneNumber) : undefined }
}

export function buildServer(options: ServerOptions = {}): ExampleServer {
  const appid = options.appid || process.env.WX_APPID || ''
  const secret = options.secret || process.env.WX_SECRET || ''
  if (!appid || !secret) throw new Error('WX_APPID and WX_SECRET are required (main.ts starts a fake WeChat when they are absent)')
  const devEndpoints = options.devEndpoints ?? process.env.EXAMPLE_DEV_ENDPOINTS === '1'
  const store = options.store ?? storeFromEnv(process.env)
  const users = usersWithHost(store)
  const avatars = createAvatars({
    dir: options.uploadDir || join(__dirname, '..', 'uploads'),
    maxBytes: options.maxUploadBytes,
    publicUrl: options.publicUrl || process.env.PUBLIC_URL || undefined,
    onUploaded: (userId, url) => users.updateUser(userId, { avatarUrl: url }),
  })
  const auth = createAuthServer<StoreUser>({
    appid,
    secret,
    wxApiBase: options.wxApiBase || process.env.WX_API_BASE || undefined,
    jwt: { secret: options.jwtSecret || process.env.JWT_SECRET || randomUUID() + randomUUID() },
    tokenTtlSeconds: options.jwtTtlSeconds ?? (Number(process.env.TOKEN_TTL_SECONDS || process.env.JWT_TTL_SECONDS) || undefined),
    store,
    users,
    providers: options.providers ?? providersFromEnv(process.env),
    // The dev endpoints expire tokens server-side: that needs the revocation check in verify().
    revocation: devEndpoints,
    // The app's own data of a deleted user: here, the avatars.
    onUserDeleted: async (userId) => void (await avatars.deleteAvatarsOf(userId)),
  })

  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 64 * 1024 })
  // Alipay's my.request sends application/json with an empty body on a DELETE: no body, not a 400.
  allowEmptyJsonBody(app)
  app.setErrorHandler(weappAuthErrorHandler) // { error, message } for every failure, never a stack
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not_found' }))
  app.register(weappAuth, {
    auth,
    // Keep the number WeChat returned; the client gets it masked (the plugin's default answer).
    onPhoneNumber: async (userId, info) => {
      await users.updateUser(userId, { phoneNumber: info.purePhoneNumber })
    },
  })
  if (devEndpoints) app.register(weappAuthDevEndpoints, { auth })
  // After the plugin: the avatar routes use its app.authenticate.
  app.register(async (scope) => avatars.register(scope))

  app.after(() => {
    app.get('/api/user/me', { preHandler: app.authenticate }, async (req) => {
      const user = await users.findById((req.user as AuthenticatedUser).id)
      if (!user) throw new AuthServerError('not_found', 'No such user')
      return publicView(user)
    })

    // Account deletion: the kit removes the user, their identities and every session (every token
    // of theirs is refused at once); the same WeChat user logging in later starts a new account.
    app.delete('/api/user/me', { preHandler: app.authenticate }, async (req, reply) => {
      await auth.deleteUser((req.user as AuthenticatedUser).id)
      return reply.code(204).send()
    })

    app.post('/api/user/profile', { preHandler: app.authenticate }, async (req) => {
      const { id } = req.user as AuthenticatedUser
      const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>
      const { nickName, avatarUrl } = body
      if (nickName === undefined && avatarUrl === undefined) throw new BadRequestError('bad_request', 'nickName or avatarUrl is required')
      const patch: Record<string, unknown> = {}
      if (nickName !== undefined) {
        if (typeof nickName !== 'string' || !nickName.trim() || [...nickName.trim()].length > 20) throw new BadRequestError('bad_request', 'nickName must be 1–20 characters')
        // The client's nickname review can be bypassed: the content check of the host the session
        // logged in from runs on the server too (scene 1: profile).
        const host = (req.user as AuthenticatedUser).claims.plt ?? 'weixin'
        if (auth.checksText(host)) {
          const verdict = await auth.checkText(id, nickName.trim(), 1, { platform: host })
          if (verdict.suggest === 'risky') throw new AuthServerError('content_risky', 'The content check refused this nickname')
        }
        patch.nickName = nickName.trim()
      }
      if (avatarUrl !== undefined) {
        if (typeof avatarUrl !== 'string' || !/^https?:\/\//.test(avatarUrl)) throw new BadRequestError('bad_request', 'avatarUrl must be an http(s) URL')
        patch.avatarUrl = avatarUrl
      }
      const user = await users.updateUser(id, patch)
      if (!user) throw new AuthServerError('not_found', 'No such user')
      return publicView(user)
    })

  })

  app.addHook('onClose', async () => {
    await auth.close()
    await store.close()
  })
  return { app, auth }
}

/** Starts on 127.0.0.1 (port 0: a free one). */
export async function startServer(options: ServerOptions & { port?: number } = {}) {
  const server = buildServer(options)
  const url = await server.app.listen({ host: '127.0.0.1', port: options.port ?? 0 })
  return { ...server, url, close: () => server.app.close() }
}
