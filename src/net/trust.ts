/**
 * Which URLs may receive the token: `baseURL`'s origin and `trustedOrigins`, compared exactly
 * (scheme, host, port), so a look-alike host (`api.example.com.evil.com`,
 * `api.example.com@evil.com`) never gets it.
 */
import { parseOrigin, sameOrigin, type Origin } from '../base/url'

/**
 * An authority that parsers read differently: a backslash (a WHATWG parser ends the authority
 * there, others read on to the last '@') or a control character before the path. No token.
 */
const AMBIGUOUS = /^[a-z][a-z\d+.-]*:[/\\]{2}[^/?#]*[\\\0-\x1f\x7f]/i

export function createTrustCheck(baseURL: string, trusted: Origin[]): (url: string) => boolean {
  const basePrefix = baseURL + '/'
  return (url) => {
    // Fast path: anything under baseURL + '/' has baseURL's origin (the authority ends at that '/').
    if (url.lastIndexOf(basePrefix, 0) === 0) return true
    if (AMBIGUOUS.test(url)) return false
    const origin = parseOrigin(url)
    if (!origin) return false
    for (const t of trusted) if (sameOrigin(origin, t)) return true
    return false
  }
}
