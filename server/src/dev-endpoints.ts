/**
 * Development-only endpoints for the end-to-end demo (`npm run example`): they make the server
 * expire every token so the SDK's renewal can be watched, and count what happened. Never register
 * them on a public server — anyone could log every user out. The bin mounts them only with
 * NODE_ENV=development and WEAPP_AUTH_DEV_ENDPOINTS=1.
 *
 * - `POST {prefix}/expire-tokens` → every access token issued so far answers 401 (needs the core's
 *   `revocation: true`); with `?refresh=1` every refresh token too, so the SDK must log in afresh.
 * - `GET {prefix}/stats` → `{ logins, refreshes, unauthorized }`: successful logins and refreshes,
 *   and 401s on authenticated routes (not on login/refresh), counted since start.
 */
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { AuthServer, PublicUser } from './types'

export interface DevEndpointsOptions<U extends PublicUser = PublicUser> {
  auth: AuthServer<U>
  /** Default `/api/dev`. */
  prefix?: string
  /** Where `weappAuth` is mounted, to tell logins and refreshes apart. Default `/api/auth`. */
  authPrefix?: string
  /** Clock in ms, for tests. Default Date.now. */
  now?: () => number
}

export interface DevStats {
  logins: number
  refreshes: number
  unauthorized: number
}

const plugin: FastifyPluginAsync<DevEndpointsOptions> = async (app, options) => {
  const { auth } = options
  if (!auth || typeof auth.revokeIssuedBefore !== 'function') throw new TypeError('weappAuthDevEndpoints: options.auth must be the AuthServer.')
  const prefix = options.prefix ?? '/api/dev'
  const authPrefix = options.authPrefix ?? '/api/auth'
  const now = options.now ?? Date.now
  const stats: DevStats = { logins: 0, refreshes: 0, unauthorized: 0 }

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url
    const status = reply.statusCode
    if (route === authPrefix + '/login') {
      if (status < 300) stats.logins++
    } else if (route === authPrefix + '/refresh') {
      if (status < 300) stats.refreshes++
    } else if (status === 401) stats.unauthorized++
  })

  app.post(prefix + '/expire-tokens', async (request) => {
    const q = (request.query || {}) as Record<string, unknown>
    const refresh = q.refresh === '1' || q.refresh === 'true'
    // Tokens carry `iat` in whole seconds: revoke everything issued up to the end of this second,
    // then answer only once the next second has begun, so that the tokens the client gets next
    // (iat ≥ notBefore) are not revoked too.
    const notBefore = Math.floor(now() / 1000) + 1
    await auth.revokeIssuedBefore(notBefore, { refresh })
    const wait = notBefore * 1000 - now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait + 5))
    return { ok: true, notBefore, refresh }
  })

  app.get(prefix + '/stats', async () => ({ ...stats }))
}

/** Registers the development endpoints (see the file's comment). */
export const weappAuthDevEndpoints = fp(plugin, { fastify: '5.x', name: 'weapp-auth-server-dev-endpoints' })
