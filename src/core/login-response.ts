/**
 * Turning a login or refresh answer into a Session, and keeping what must not be stored out of
 * it: `session_key`, `openid` and `unionid` stay on the server (the README's security rules 1 and
 * 3), so they are stripped even when a server sends them.
 */

/** What the SDK keeps after a login. `expiresAt` is epoch milliseconds. */
export interface Session<U = unknown> {
  token: string
  expiresAt?: number
  /** When the SDK obtained the token (epoch ms); bounds the expiry margin for short-lived tokens. */
  issuedAt?: number
  refreshToken?: string
  user?: U
}

/** What a `parse` function may return: a Session, with `expiresIn` (seconds) allowed instead of `expiresAt`. */
export interface SessionInput<U = unknown> {
  token: string
  expiresAt?: number | string
  expiresIn?: number
  refreshToken?: string
  user?: U
}

const SENSITIVE = ['session_key', 'sessionKey', 'openid', 'openId', 'unionid', 'unionId']

/** The first of the space-separated `names` that is set (not undefined, null or ''). */
function pick(obj: Record<string, unknown>, names: string): unknown {
  for (const n of names.split(' ')) {
    if (obj[n] !== undefined && obj[n] !== null && obj[n] !== '') return obj[n]
  }
  return undefined
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v)
}

/**
 * The default parser: `{ token, expiresIn?, expiresAt?, refreshToken?, user? }`, the snake_case
 * and OAuth spellings (`access_token`, `expires_in`, `refresh_token`), and the same inside a
 * `data` (or `result`) envelope. Returns null when no token is found. Fields it does not find
 * are undefined.
 */
export function defaultParse(data: unknown): SessionInput | null {
  if (!isObject(data)) return null
  const token = pick(data, 'token access_token accessToken')
  if (typeof token !== 'string') {
    const inner = pick(data, 'data result')
    return isObject(inner) ? defaultParse(inner) : null
  }
  const expiresIn = pick(data, 'expiresIn expires_in')
  const expiresAt = pick(data, 'expiresAt expires_at')
  const refreshToken = pick(data, 'refreshToken refresh_token')
  return {
    token,
    expiresIn: typeof expiresIn === 'number' || (typeof expiresIn === 'string' && /^\d+(\.\d+)?$/.test(expiresIn)) ? Number(expiresIn) : undefined,
    expiresAt: typeof expiresAt === 'number' || typeof expiresAt === 'string' ? expiresAt : undefined,
    refreshToken: typeof refreshToken === 'string' ? refreshToken : undefined,
    user: data.user,
  }
}

export interface NormalizeResult<U> {
  session: Session<U> | null
  /** The server sent session_key: worth a warning in development. */
  sawSessionKey: boolean
}

/** Lifetimes beyond this are not believed: the expiry is taken as unknown. */
const TEN_YEARS_MS = 3156e8

/**
 * Validates a parser's output and produces the Session to store (sensitive fields removed).
 * `skewMs` is how far the server's clock is ahead of this device's (from the answer's Date
 * header): an absolute expiry (`expiresAt`, a JWT's `exp`) is on the server's clock, so on this
 * device it comes `skewMs` earlier. An expiry that is already past on arrival (a clock far off
 * with no Date header to measure it), more than ten years away, or not a finite number is taken
 * as unknown: the server's 401 then decides, instead of every request starting a login.
 */
export function normalizeSession<U>(input: unknown, now: number, expiryFromToken?: (token: string) => number | undefined, skewMs = 0): NormalizeResult<U> {
  if (!isObject(input)) return { session: null, sawSessionKey: false }
  let sawSessionKey = 'session_key' in input || 'sessionKey' in input
  const token = input.token
  if (typeof token !== 'string' || !token.trim() || /\s/.test(token)) return { session: null, sawSessionKey }
  const session: Session<U> = { token }
  let expiresAt: number | undefined
  if (typeof input.expiresIn === 'number' && input.expiresIn > 0) {
    expiresAt = now + input.expiresIn * 1000
  } else {
    let absolute = input.expiresAt !== undefined ? toEpochMs(input.expiresAt) : undefined
    if (absolute === undefined && expiryFromToken) absolute = expiryFromToken(token)
    if (absolute !== undefined) expiresAt = absolute - skewMs
  }
  // `issuedAt` alone marks an expiry that was given but not believed: a later launch does not read it again from the token.
  if (expiresAt !== undefined) session.issuedAt = now
  if (expiresAt !== undefined && expiresAt > now && expiresAt - now <= TEN_YEARS_MS) session.expiresAt = expiresAt
  if (typeof input.refreshToken === 'string' && input.refreshToken) session.refreshToken = input.refreshToken
  if (input.user !== undefined && input.user !== null) {
    const user = input.user
    if (isObject(user)) {
      const clean: Record<string, unknown> = {}
      for (const k of Object.keys(user)) {
        if (SENSITIVE.indexOf(k) >= 0) {
          if (k === 'session_key' || k === 'sessionKey') sawSessionKey = true
          continue
        }
        clean[k] = user[k]
      }
      session.user = clean as unknown as U
    } else {
      session.user = user as U
    }
  }
  return { session, sawSessionKey }
}

/**
 * True when `session` is expired, or will be within `marginMs`. Sessions without expiry never
 * are. The margin never exceeds half the token's lifetime, so a server issuing one-minute tokens
 * does not make every request renew.
 */
export function isExpiring(session: Session<unknown>, now: number, marginMs: number): boolean {
  if (session.expiresAt === undefined) return false
  let margin = marginMs
  if (session.issuedAt !== undefined && session.issuedAt < session.expiresAt) {
    margin = Math.min(margin, (session.expiresAt - session.issuedAt) / 2)
  }
  return now >= session.expiresAt - margin
}

/**
 * Normalises an absolute time to epoch ms: numbers in seconds or milliseconds, numeric strings,
 * ISO dates. Returns undefined for anything else.
 */
export function toEpochMs(value: unknown): number | undefined {
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    if (!isNaN(n)) return toEpochMs(n)
    const parsed = Date.parse(value)
    return isNaN(parsed) ? undefined : parsed
  }
  if (typeof value !== 'number' || !isFinite(value) || value <= 0) return undefined
  return value > 1e11 ? Math.floor(value) : Math.floor(value * 1000)
}
