/**
 * The shapes of a request as the app writes it and as hooks see it: options, responses, hooks.
 * Types only, in their own file, so the configuration (config.ts) and the request machinery
 * (request.ts, dispatch.ts, hooks.ts) share them without importing each other.
 */
import type { AbortSignalLike } from '../base/abort'

/** The methods wx.request supports (it has no PATCH). */
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS'

export interface CommonOptions {
  /** Relative to `baseURL`, or absolute. The token goes only to `baseURL`'s origin and `trustedOrigins`. */
  url: string
  header?: Record<string, string>
  /** `false`: send no token and never trigger a login (public endpoints). Default true. */
  auth?: boolean
  /** Milliseconds for each attempt. Default: the instance's `timeout` (60 000). */
  timeout?: number
  /** Aborts the call: the network task is aborted and the promise rejects with AbortError. */
  signal?: AbortSignalLike
  /** `false`: reject an unauthorized answer at once instead of re-logging in and retrying once. */
  retry?: boolean
}

export interface RequestOptions extends CommonOptions {
  method?: Method
  data?: unknown
  /** 'json' (default): the body must be JSON (or empty). 'text': resolve with the raw string. */
  dataType?: 'json' | 'text'
  responseType?: 'text' | 'arraybuffer'
}

export interface UploadOptions extends CommonOptions {
  filePath: string
  /** The multipart field name of the file. */
  name: string
  formData?: Record<string, unknown>
}

/** What `afterResponse` hooks and `isUnauthorized` see. */
export interface AuthResponse {
  statusCode: number
  data: unknown
  header: Record<string, unknown>
}

/** Options after defaults and `beforeRequest` hooks, as the hooks see them. */
export type HookOptions = (RequestOptions | UploadOptions) & { method: string; kind: 'request' | 'upload' }

export type OneOrMany<F> = F | F[]
export interface Hooks {
  /** May return changed options (or change them in place). Runs once per call, before the URL is checked for trust. */
  beforeRequest?: OneOrMany<(options: HookOptions) => HookOptions | void | Promise<HookOptions | void>>
  /** May inspect or return a replacement response (for example to unwrap an envelope). */
  afterResponse?: OneOrMany<(response: AuthResponse, options: HookOptions) => AuthResponse | void | Promise<AuthResponse | void>>
  /** May return a different or enriched error. */
  beforeError?: OneOrMany<(error: Error, options: HookOptions) => Error | void | Promise<Error | void>>
}

