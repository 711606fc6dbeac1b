/**
 * One base error, `AuthServerError`, with a stable machine-readable `code` (sent to clients as
 * `{ error: code, message }`) and the HTTP `status` an adapter answers with; one subclass per
 * failure kind. Adapters never send a stack trace: `toHttpBody(err)` is all a client sees.
 */

/** Every `error` code a client can receive, with its HTTP status. */
export const ERROR_STATUS = {
  // 400: the request itself is wrong
  bad_request: 400,
  invalid_json: 400,
  code_required: 400,
  code_too_long: 400,
  refresh_token_required: 400,
  refresh_token_in_query: 400,
  decrypt_failed: 400,
  watermark_mismatch: 400,
  signature_invalid: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  // 401: the caller's credentials are missing or no longer good
  unauthorized: 401,
  invalid_token: 401,
  token_expired: 401,
  token_revoked: 401,
  invalid_refresh_token: 401,
  refresh_token_expired: 401,
  refresh_token_reused: 401,
  // the token names data this server no longer has (the store was reset or replaced): log in again
  token_stale: 401,
  // the token's user no longer exists: log in again
  user_not_found: 401,
  // 422: well-formed but refused by WeChat's content check (msg_sec_check said risky)
  content_risky: 422,
  // 403: the host refused to hand over what was asked (Alipay's phone number without the user's authorization)
  phone_not_authorized: 403,
  // 403: a host's credential from a session of another host (an Alipay phone response from a WeChat login)
  platform_mismatch: 403,
  // 409: an Alipay phone response another user already presented
  phone_response_used: 409,
  // 409: the server no longer has what the request needs (log in again, then ask again)
  session_key_expired: 409,
  // 429: too many requests (ours, or WeChat's 45011)
  rate_limited: 429,
  // WeChat answered with an errcode
  wechat_invalid_code: 400, // 40029
  wechat_code_used: 400, // 40163
  wechat_rate_limited: 429, // 45011
  wechat_busy: 503, // -1
  wechat_invalid_credential: 502, // 40001 / 42001 / 40125 that one forced refresh did not cure
  wechat_error: 502, // any other errcode
  // WeChat could not be reached, or answered something that is not its JSON
  wechat_unreachable: 502,
  wechat_bad_response: 502,
  wechat_timeout: 504,
  // the store (Redis) is down: fail fast, nothing half-written
  store_unavailable: 503,
  not_configured: 503,
  // a platform the server has no provider for
  unsupported_platform: 400,
  unknown_app: 400,
  not_found: 404,
  internal_error: 500,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export class AuthServerError extends Error {
  readonly code: ErrorCode
  readonly status: number
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message)
    this.name = 'AuthServerError'
    this.code = code
    this.status = ERROR_STATUS[code]
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause
  }
}

/** The request is malformed: missing or over-long fields, bad JSON, a token in a query string. */
export class BadRequestError extends AuthServerError {
  constructor(code: ErrorCode, message: string) {
    super(code, message)
    this.name = 'BadRequestError'
  }
}

/** An access or refresh token is missing, malformed, expired, revoked or replayed (401). */
export class TokenError extends AuthServerError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'TokenError'
  }
}

/**
 * WeChat (or another host's API) answered with an errcode. Other hosts (QQ, Douyin, Alipay:
 * src/providers/) reuse this class with `host` naming them and `code` mapped from their own
 * error codes onto the same meanings (a bad login code is `wechat_invalid_code` on every host).
 */
export class WechatApiError extends AuthServerError {
  readonly errcode: number
  readonly errmsg: string
  /** Which API answered, e.g. `sns/jscode2session`. */
  readonly api: string
  /** Which host answered: 'WeChat' (default), 'QQ', 'Douyin' or 'Alipay'. */
  readonly host: string
  constructor(api: string, errcode: number, errmsg: string, options?: { host?: string; code?: ErrorCode }) {
    const host = options?.host ?? 'WeChat'
    super(options?.code ?? wechatCode(errcode), `${host} ${api} answered errcode ${errcode}: ${errmsg}`)
    this.name = 'WechatApiError'
    this.api = api
    this.host = host
    this.errcode = errcode
    this.errmsg = errmsg
  }
}

/** WeChat could not be reached, timed out, or answered something that is not its JSON. */
export class UpstreamError extends AuthServerError {
  readonly api: string
  constructor(code: 'wechat_unreachable' | 'wechat_timeout' | 'wechat_bad_response', api: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'UpstreamError'
    this.api = api
  }
}

/** The store (Redis) is unreachable or failed: the request fails fast with 503. */
export class StoreUnavailableError extends AuthServerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('store_unavailable', message, options)
    this.name = 'StoreUnavailableError'
  }
}

/** Too many requests for one key within a window. */
export class RateLimitError extends AuthServerError {
  /** Seconds until the window resets. */
  readonly retryAfter: number
  constructor(message: string, retryAfter: number) {
    super('rate_limited', message)
    this.name = 'RateLimitError'
    this.retryAfter = retryAfter
  }
}

/**
 * A wrong option at `createAuthServer` / `redisStore` / the env-configured server. Thrown at setup,
 * never per request. Given several problems (`loadConfig` collects every wrong setting), the
 * message names them all: "3 settings to fix: (1) … (2) … (3) …"; `problems` lists them.
 */
export class ConfigError extends Error {
  /** Every problem found, one sentence each. */
  readonly problems: string[]
  constructor(message: string | string[]) {
    const problems = typeof message === 'string' ? [message] : message
    super(problems.length === 1 ? problems[0] : `${problems.length} settings to fix: ${problems.map((p, i) => `(${i + 1}) ${p}`).join(' ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export function isAuthServerError(err: unknown): err is AuthServerError {
  return err instanceof AuthServerError
}

export function wechatCode(errcode: number): ErrorCode {
  switch (errcode) {
    case 40029:
      return 'wechat_invalid_code'
    case 40163:
      return 'wechat_code_used'
    case 45011:
      return 'wechat_rate_limited'
    case -1:
      return 'wechat_busy'
    case 40001:
    case 42001:
    case 40125:
      return 'wechat_invalid_credential'
    default:
      return 'wechat_error'
  }
}

/**
 * Failures whose own message names what is behind the server (the store's host and port, the
 * error of a connection to WeChat): a client gets this fixed text instead, and the adapter logs
 * the error's own message (`sendError` does).
 */
export const PUBLIC_MESSAGES: Partial<Record<ErrorCode, string>> = {
  store_unavailable: 'The server cannot reach its store right now; try again shortly.',
  wechat_unreachable: "The host's API could not be reached; try again shortly.",
}

/** The JSON body an adapter sends for an error: `{ error, message }`, plus WeChat's `errcode` when there is one. Never a stack. */
export function toHttpBody(err: unknown): { status: number; body: { error: ErrorCode; message: string; errcode?: number } } {
  if (err instanceof AuthServerError) {
    const body: { error: ErrorCode; message: string; errcode?: number } = { error: err.code, message: PUBLIC_MESSAGES[err.code] ?? err.message }
    if (err instanceof WechatApiError) body.errcode = err.errcode
    return { status: err.status, body }
  }
  return { status: 500, body: { error: 'internal_error', message: 'Internal error' } }
}
