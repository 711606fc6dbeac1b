/**
 * Every error the SDK throws or rejects with is a `WeappAuthError`: one base class with a
 * stable `code`, and one subclass per failure kind, so callers can branch on either
 * `instanceof` or `err.code`. Messages say what happened and what to do about it; they never
 * contain a token (see `redact`).
 */

/** Codes carried by {@link AuthError}. */
export type AuthErrorCode =
  /** `wx.login` failed or did not call back (the message carries its errMsg). */
  | 'WX_LOGIN_FAILED'
  /** The login or refresh endpoint answered with a non-2xx status. `statusCode`/`data` tell why. */
  | 'LOGIN_REJECTED'
  /** The login or refresh endpoint answered 2xx, but the body had no usable token. */
  | 'BAD_LOGIN_RESPONSE'
  /** `createAuth` was given options it cannot work with. Thrown synchronously. */
  | 'CONFIG'
  /** A request was still unauthorized after one re-login and one retry. */
  | 'UNAUTHORIZED'
  /** `logout()` was called while this login, refresh or request was waiting. */
  | 'LOGGED_OUT'
  /** The user declined the phone number prompt. */
  | 'PHONE_DENIED'
  /** The phone number component's quota is used up (errno 1400001). */
  | 'PHONE_QUOTA'
  /** The event had no `code`: the base library predates the code flow (2.21.2). */
  | 'PHONE_NO_CODE'
  /** The phone number prompt failed for another reason (see `errMsg` / `errno`). */
  | 'PHONE_FAILED'
  /** An avatar path or nickname that cannot be sent. */
  | 'INVALID_INPUT'
  /** The running base library lacks the API a helper needs. */
  | 'UNSUPPORTED'
  /** Asking for a scope that WeChat no longer grants (scope.userInfo). */
  | 'SCOPE_DEPRECATED'
  /** wx.openSetting failed, usually because it was not called from a tap. */
  | 'OPEN_SETTING_FAILED'
  /** The user did not grant the privacy authorization. */
  | 'PRIVACY_DENIED'
  /** Reading or writing the session record failed; the SDK keeps working in memory. */
  | 'STORAGE_FAILED'
  /** The stored session record was corrupt or foreign and was discarded. */
  | 'STORAGE_CORRUPT'

export type ErrorCode = AuthErrorCode | 'HTTP_ERROR' | 'NETWORK_ERROR' | 'TIMEOUT' | 'ABORTED' | 'BAD_RESPONSE'

interface ErrorExtras {
  cause?: unknown
}

/** Base class of every error from weapp-auth. */
export class WeappAuthError extends Error {
  readonly code: ErrorCode
  declare readonly cause?: unknown
  /** `fields`: the subclass's own properties; undefined ones are left out. */
  constructor(code: ErrorCode, message: string, fields?: object, name = 'WeappAuthError') {
    super(message)
    // Keep `instanceof` working when a consumer down-levels classes to ES5.
    Object.setPrototypeOf(this, new.target.prototype)
    this.name = name
    this.code = code
    for (const k in fields) if ((fields as Record<string, unknown>)[k] !== undefined) (this as Record<string, unknown>)[k] = (fields as Record<string, unknown>)[k]
  }
}

/** Login, session and authorization failures. Branch on `code`. */
export class AuthError extends WeappAuthError {
  declare readonly code: AuthErrorCode
  /**
   * HTTP status of the answer, named as on `HttpError`: the login/refresh endpoint's for
   * `LOGIN_REJECTED` and `BAD_LOGIN_RESPONSE`, 401 for `UNAUTHORIZED`.
   */
  declare readonly statusCode?: number
  /** Body of the login/refresh answer (tokens redacted), for `LOGIN_REJECTED`/`BAD_LOGIN_RESPONSE`. */
  declare readonly data?: unknown
  /** WeChat `errMsg`/`errno` or the server's `errcode`, when there was one. */
  declare readonly errMsg?: string
  declare readonly errno?: number
  constructor(
    code: AuthErrorCode,
    message: string,
    extras?: ErrorExtras & { statusCode?: number; data?: unknown; errMsg?: string; errno?: number },
  ) {
    super(code, message, extras, 'AuthError')
  }
  /** @deprecated Read `statusCode`, the name every error with an HTTP status uses. `status` is kept through 0.x. */
  get status(): number | undefined {
    return this.statusCode
  }
}

/** The server answered with a status outside 2xx. */
export class HttpError extends WeappAuthError {
  declare readonly code: 'HTTP_ERROR'
  declare readonly statusCode: number
  declare readonly data: unknown
  declare readonly method: string
  declare readonly url: string
  constructor(statusCode: number, data: unknown, method: string, url: string) {
    super('HTTP_ERROR', `${method} ${url} answered HTTP ${statusCode}.`, { statusCode, data, method, url }, 'HttpError')
    // `data` is the body as sent (secrets redacted), even when it is undefined (an empty body).
    ;(this as { data: unknown }).data = data
  }
}

/** The request never got an answer: no network, DNS, TLS, domain not in the allow-list, … */
export class NetworkError extends WeappAuthError {
  declare readonly code: 'NETWORK_ERROR'
  declare readonly errMsg: string
  constructor(message: string, errMsg: string) {
    super('NETWORK_ERROR', message, { errMsg }, 'NetworkError')
  }
}

/** Nothing came back within the time limit. */
export class TimeoutError extends WeappAuthError {
  declare readonly code: 'TIMEOUT'
  declare readonly timeout: number
  constructor(message: string, timeout: number) {
    super('TIMEOUT', message, { timeout }, 'TimeoutError')
  }
}

/** The caller aborted the request through its `signal`. */
export class AbortError extends WeappAuthError {
  declare readonly code: 'ABORTED'
  declare readonly reason?: unknown
  constructor(message: string, reason?: unknown) {
    super('ABORTED', message, { reason }, 'AbortError')
  }
}

/** A 2xx answer whose body was not the JSON the caller expected (an HTML error page, say). */
export class ResponseParseError extends WeappAuthError {
  declare readonly code: 'BAD_RESPONSE'
  declare readonly statusCode: number
  /** The first 200 characters of the body. */
  declare readonly snippet: string
  constructor(message: string, statusCode: number, snippet: string) {
    super('BAD_RESPONSE', message, { statusCode, snippet }, 'ResponseParseError')
  }
}

/** The class that carries each non-`AuthError` code. */
export interface ErrorClassByCode {
  HTTP_ERROR: HttpError
  NETWORK_ERROR: NetworkError
  TIMEOUT: TimeoutError
  ABORTED: AbortError
  BAD_RESPONSE: ResponseParseError
}

/** What `isWeappAuthError(err, code)` narrows to: the class of that code, with `code` as the literal. */
export type ErrorForCode<C extends ErrorCode> = (C extends keyof ErrorClassByCode ? ErrorClassByCode[C] : AuthError) & { readonly code: C }

/**
 * True for any error thrown by weapp-auth; with a code, narrows to that code's class, so
 * `isWeappAuthError(e, 'HTTP_ERROR') && e.statusCode === 404` type-checks.
 */
export function isWeappAuthError(err: unknown): err is WeappAuthError
export function isWeappAuthError<C extends ErrorCode>(err: unknown, code: C): err is ErrorForCode<C>
export function isWeappAuthError(err: unknown, code?: ErrorCode): boolean {
  return err instanceof WeappAuthError && (code === undefined || err.code === code)
}
