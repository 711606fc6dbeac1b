/**
 * URL handling without the `URL` global (absent on some base libraries): just enough to
 * resolve a request path against `baseURL` and to compare origins exactly, so a token is
 * never sent to a look-alike host (`api.example.com.evil.com`, `api.example.com@evil.com`).
 *
 * The origin is read the way a WHATWG URL parser reads it, since that is what the host connects
 * to: tabs and newlines anywhere are dropped, and in http(s)/ws(s) URLs a backslash ends the
 * authority like a slash (`https://evil.com\@api.example.com/` is evil.com, not api.example.com).
 * What this reading cannot match exactly (percent-encoded or non-ASCII hosts) simply never equals
 * a trusted origin, so it errs towards sending no token.
 */

export interface Origin {
  /** `https:` / `http:` … lower-case, with the colon. */
  protocol: string
  /** Lower-case host name, without user info, brackets kept for IPv6. */
  hostname: string
  /** Explicit port, or the scheme's default ('443' for https, '80' for http). */
  port: string
}

const ABSOLUTE = /^([a-z][a-z\d+.-]*):\/\/([^/?#]*)/i
/** Scheme, then the authority of a special scheme: it ends at '/', '\\', '?' or '#'. */
const ORIGIN = /^([a-z][a-z\d+.-]*):[/\\]{2}([^/\\?#]*)/i
/**
 * An authority: user info up to the LAST '@' (https://a@b@evil.com → host evil.com), then a
 * bracketed IPv6 host or a host without ':', then an optional numeric port, and nothing else.
 */
const AUTHORITY = /^(?:.*@)?(\[[^\]]*\]|[^:@[\]]+)(?::(\d*))?$/
const DEFAULT_PORTS: Record<string, string> = { https: '443', http: '80', wss: '443', ws: '80' }

/** Parses the origin of an absolute URL; null for anything that is not `scheme://authority`. */
export function parseOrigin(url: string): Origin | null {
  const m = ORIGIN.exec(url.replace(/[\t\n\r]/g, '').replace(/^[\0- ]+/, ''))
  const a = m && AUTHORITY.exec(m[2])
  // Drop one trailing dot: "api.example.com." is the same host.
  const hostname = a && a[1].toLowerCase().replace(/\.$/, '')
  if (!hostname) return null
  const scheme = m![1].toLowerCase()
  return { protocol: scheme + ':', hostname, port: a![2] ? String(+a![2]) : DEFAULT_PORTS[scheme] || '' }
}

export function sameOrigin(a: Origin, b: Origin): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port
}

/** Resolves `url` against `base`: absolute URLs stay, `//host` takes base's scheme, paths join. */
export function resolveUrl(base: string, url: string): string {
  // The common case first: a path under a base without a trailing slash.
  if (url.charAt(0) === '/' && url.charAt(1) !== '/' && base && base.charAt(base.length - 1) !== '/') return base + url
  if (ABSOLUTE.test(url)) return url
  const baseMatch = ABSOLUTE.exec(base)
  if (url.slice(0, 2) === '//') {
    return (baseMatch ? baseMatch[1] : 'https') + ':' + url
  }
  if (!base) return url
  if (!url) return base
  if (url.charAt(0) === '?' || url.charAt(0) === '#') return base + url
  return base.replace(/\/+$/, '') + '/' + url.replace(/^\/+/, '')
}

/** Appends `key=value` pairs to a URL's query string (encoded), before any `#fragment`. */
export function appendQuery(url: string, params: Record<string, string>): string {
  const pairs = Object.keys(params).map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(params[k]))
  const i = (url + '#').indexOf('#')
  const head = url.slice(0, i)
  return pairs.length ? head + (head.indexOf('?') < 0 ? '?' : /[?&]$/.test(head) ? '' : '&') + pairs.join('&') + url.slice(i) : url
}

/** 127.0.0.0/8, localhost and [::1]: hosts where plain http never leaves the machine. */
export function isLoopback(origin: Origin): boolean {
  return /^((.*\.)?localhost|\[::1\]|127(\.\d{1,3}){3})$/.test(origin.hostname)
}

/**
 * Removes everything after the path and any user info (`user:password@`), so logs and errors
 * never carry a URL's secrets. User info that a backslash precedes is left: that URL is shown as
 * the host would read it (and gets no token).
 */
export function stripQuery(url: string): string {
  return /^[^?#]*/.exec(url)![0].replace(/^([\w+.-]+:\/\/)(?:[^/\\@]*@)+/, '$1')
}
