/**
 * Prometheus metrics for the ready-made server (bin.ts), with prom-client, in the Prometheus text
 * format. `createMetrics()` makes a registry of its own (never prom-client's global one, so several
 * apps can live in one process); the bin feeds it the core's events (`onEvent`), each request's
 * answer (`observeRequest`, from buildApp's onResponse hook) and each WeChat API call's duration
 * (`timedFetch`). `startMetricsServer` serves `GET /metrics` on a listener of its own (METRICS_PORT,
 * METRICS_HOST): never on the public port, and that listener answers nothing else (404).
 *
 * Every label value comes from a fixed set (route patterns, error codes, platforms, API paths):
 * never a token, a code, a user id or a raw URL.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { ERROR_STATUS } from './errors'
import type { AuthServerEvent, HostPlatform } from './types'

/** The auth routes as buildApp mounts them (weappAuth's default prefix). */
export const LOGIN_ROUTE = '/api/auth/login'
export const REFRESH_ROUTE = '/api/auth/refresh'

const PLATFORMS: readonly HostPlatform[] = ['weixin', 'qq', 'douyin', 'alipay']

/** One answered request, as buildApp's onResponse hook sees it. */
export interface RequestObservation {
  /** The route pattern (`/uploads/:name`), or 'unmatched' for a 404 without a route: never the raw URL. */
  route: string
  method: string
  status: number
  seconds: number
  /** The `error` code of the answer, when it is an error. */
  error?: string
  /** The platform a login asked for (the body's or query's `platform`; absent: weixin). */
  platform?: string
}

export type SessionEndReason = 'logout' | 'logout_all' | 'logout_others' | 'ended' | 'deleted'

export interface Metrics {
  readonly registry: Registry
  /** Give it to createAuthServer's `onEvent`. */
  onEvent(event: AuthServerEvent): void
  /** Called once per answered request (buildApp's `metrics` option). */
  observeRequest(observation: RequestObservation): void
  /** A fetch that times every call into weapp_auth_host_api_duration_seconds{api} (give it to createAuthServer's `fetch`). */
  timedFetch(inner?: typeof fetch): typeof fetch
  /** The Prometheus text. */
  text(): Promise<string>
  readonly contentType: string
}

/** An error code the server can send, or 'other': a label never carries anything else. */
function errorLabel(code: string | undefined, status: number): string {
  if (code && Object.prototype.hasOwnProperty.call(ERROR_STATUS, code)) return code
  return status >= 400 ? 'other' : 'ok'
}

function platformLabel(platform: string | undefined): string {
  if (platform === undefined || platform === '') return 'weixin'
  return (PLATFORMS as readonly string[]).includes(platform) ? platform : 'unknown'
}

/** A host API path (`sns/jscode2session`), kept to its safe characters: the server's own paths, never user input. */
function apiLabel(url: string): string {
  let pathname: string
  try {
    pathname = new URL(url).pathname
  } catch {
    return 'unknown'
  }
  const api = pathname.replace(/^\/+/, '').replace(/[^A-Za-z0-9_./-]/g, '_').slice(0, 64)
  return api || 'unknown'
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry()
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry })
  const registers = [registry]

  const logins = new Counter({ name: 'weapp_auth_logins_total', help: 'Logins by platform and outcome (ok, or the error code of a failed login).', labelNames: ['platform', 'outcome'] as const, registers })
  const refreshes = new Counter({ name: 'weapp_auth_refreshes_total', help: 'Refreshes by outcome (ok, or the error code).', labelNames: ['outcome'] as const, registers })
  const reuse = new Counter({ name: 'weapp_auth_refresh_reuse_total', help: 'Refresh tokens presented again after their rotation (the family is revoked).', registers })
  const rateLimited = new Counter({ name: 'weapp_auth_rate_limited_total', help: 'Answers 429 by route.', labelNames: ['route'] as const, registers })
  const upstream = new Counter({ name: 'weapp_auth_upstream_errors_total', help: 'Failed host API calls by API and error code.', labelNames: ['api', 'code'] as const, registers })
  const accessTokens = new Counter({ name: 'weapp_auth_access_token_fetches_total', help: 'access_token fetches from the host, forced (the cached one was refused) or not.', labelNames: ['forced'] as const, registers })
  const storeErrors = new Counter({ name: 'weapp_auth_store_errors_total', help: 'Answers with error store_unavailable.', registers })
  const sessionsEnded = new Counter({ name: 'weapp_auth_sessions_ended_total', help: 'Sessions ended, by reason (logout, logout_all, logout_others, ended, deleted).', labelNames: ['reason'] as const, registers })
  const decryptBudget = new Counter({ name: 'weapp_auth_decrypt_budget_spent_total', help: "Users whose session_key was dropped after too many failed decryptions.", registers })
  const durations = new Histogram({ name: 'weapp_auth_http_request_duration_seconds', help: 'Request durations by route pattern, method and status.', labelNames: ['route', 'method', 'status'] as const, registers })
  const hostApi = new Histogram({ name: 'weapp_auth_host_api_duration_seconds', help: "WeChat server API call durations by API path (failures included).", labelNames: ['api'] as const, buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers })

  const sessionEnded = (reason: SessionEndReason) => sessionsEnded.inc({ reason })

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),

    onEvent(event) {
      switch (event.type) {
        case 'refresh_reuse':
          return reuse.inc()
        case 'upstream_error':
          return upstream.inc({ api: event.api, code: event.code })
        case 'access_token':
          return accessTokens.inc({ forced: String(event.forced) })
        case 'logout':
          return sessionEnded(event.scope === 'all' ? 'logout_all' : event.scope === 'others' ? 'logout_others' : 'logout')
        case 'session_ended':
          return sessionEnded('ended')
        case 'user_deleted':
          return sessionEnded('deleted')
        case 'decrypt_budget_spent':
          return decryptBudget.inc()
        // login and refresh are counted from the answers (observeRequest), failures included.
        case 'login':
        case 'refresh':
          return
      }
    },

    observeRequest(o) {
      durations.observe({ route: o.route, method: o.method, status: String(o.status) }, o.seconds)
      const outcome = o.status < 400 ? 'ok' : errorLabel(o.error, o.status)
      if (o.method === 'POST' && o.route === LOGIN_ROUTE) logins.inc({ platform: platformLabel(o.platform), outcome })
      if (o.method === 'POST' && o.route === REFRESH_ROUTE) refreshes.inc({ outcome })
      if (o.status === 429) rateLimited.inc({ route: o.route })
      if (o.error === 'store_unavailable') storeErrors.inc()
    },

    timedFetch(inner = globalThis.fetch) {
      const timed = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
        const end = hostApi.startTimer({ api: apiLabel(url) })
        try {
          const res = await inner(input, init)
          // The body is read by the caller: time until the headers, which is what the host controls most.
          return res
        } finally {
          end()
        }
      }
      return timed as typeof fetch
    },
  }
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string
  close(): Promise<void>
}

/** `GET /metrics` (and HEAD) on a listener of its own; every other path or method is 404 / 405. */
export async function startMetricsServer(metrics: Metrics, where: { port: number; host: string }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url || '').split('?')[0]
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: only GET /metrics here.\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' }).end('Only GET /metrics.\n')
      return
    }
    metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Could not collect the metrics.\n'),
    )
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(where.port, where.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { address, port } = server.address() as AddressInfo
  const host = address.includes(':') ? `[${address}]` : address
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
