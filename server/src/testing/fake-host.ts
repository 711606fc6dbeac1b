/**
 * The HTTP plumbing the fakes of other hosts (fake-qq.ts, fake-douyin.ts, fake-alipay.ts) share:
 * a node:http server on 127.0.0.1, routes by path (and, for a gateway serving many methods on one
 * path like Alipay's, by the request's parameters), per-API call counts, scripted faults (answer with
 * one of the host's own error codes, hold the answer, answer a gateway's HTML page), `stop()` /
 * `start()` on the same port, and controls for other processes (`GET /__fake/stats`,
 * `POST /__fake/codes`, and each fake's own `POST /__fake/<name>`). Each host's rules and error shapes live in its own fake.
 */
import { createListener } from './listener'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

export interface HostRequest {
  method: string
  path: string
  query: URLSearchParams
  /** The raw body (utf-8). */
  body: string
  contentType: string
  /** The request headers, names in lower case (Douyin's open APIs take their token in one). */
  headers: IncomingHttpHeaders
}

/** What a route answers: JSON (serialised here) or exact text (Alipay signs its body's text). */
export interface HostAnswer {
  status?: number
  json?: unknown
  text?: string
  contentType?: string
}

export interface HostFaultOptions {
  /** Apply to the next `times` calls of that API only. Default: until `clearFaults()`. */
  times?: number
}

/** The options of a fake host whose app logs in with an AppID and an AppSecret (QQ, Douyin); each fake documents its defaults. */
export interface FakeAppSecretHostOptions {
  appid?: string
  secret?: string
  port?: number
  now?: () => number
  /** How long a login code works, in ms. */
  codeTtlMs?: number
  /** Adopt any well-formed code not minted here (for the example's end-to-end run). Default false. */
  acceptAnyCode?: boolean
}

export interface FakeHostControls<Api extends string, Failure> {
  /** Base URL, `http://127.0.0.1:<port>`, no trailing slash. Same after `stop()`/`start()`. */
  readonly url: string
  readonly port: number
  /** A snapshot of the call counts per API. */
  readonly calls: Record<Api, number>
  resetCalls(): void
  /** Answer the next calls of `api` with this host error (its own code; see each fake). */
  fail(api: Api, failure: Failure, options?: HostFaultOptions): void
  /** Hold the next calls of `api` for `ms` before answering. A request whose client went away meanwhile is dropped unprocessed. */
  delay(api: Api, ms: number, options?: HostFaultOptions): void
  /** Answer the next calls of `api` with HTTP 502 text/html, like a broken gateway. */
  html(api: Api, options?: HostFaultOptions): void
  clearFaults(): void
  /** Close the listener and every open connection (the host unreachable). State is kept. */
  stop(): Promise<void>
  /** Listen again on the same port. */
  start(): Promise<void>
  close(): Promise<void>
}

export interface FakeHostSetup<Api extends string, Failure> {
  /** For messages: 'createFakeQq', … */
  name: string
  apis: readonly Api[]
  port?: number
  /** Which API a request is, or undefined (404). `request` (its body read) lets one path serve several APIs. */
  route(path: string, request: HostRequest): Api | undefined
  /** The host's answer to a request for `api`. May throw HttpAnswer to answer something else. */
  answer(api: Api, request: HostRequest): HostAnswer
  /** The host's own error answer for a scripted `fail(api, failure)`. */
  failure(api: Api, failure: Failure, request: HostRequest): HostAnswer
  /** Checks a `fail()` argument; throws a TypeError naming what is wrong. */
  checkFailure(failure: unknown): asserts failure is Failure
  /** `POST /__fake/codes` with this JSON body → `{ code }` (or throw a TypeError → 400). */
  mintFromControl?(body: Record<string, unknown>): Record<string, unknown>
  /** More `POST /__fake/<name>` controls: JSON body in, JSON out (a TypeError → 400). */
  controls?: Record<string, (body: Record<string, unknown>) => Record<string, unknown>>
}

interface Fault<F> {
  kind: 'fail' | 'html'
  failure?: F
  remaining: number | null
}

const MAX_BODY_BYTES = 64 * 1024
const HTML_PAGE = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>'

function checkPort(name: string, port: unknown): number {
  if (port === undefined) return 0
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) >= 65536) throw new TypeError(`${name}: port must be an integer 0–65535`)
  return port as number
}

export async function startFakeHost<Api extends string, Failure>(setup: FakeHostSetup<Api, Failure>): Promise<FakeHostControls<Api, Failure>> {
  const { name, apis } = setup
  const port = checkPort(name, setup.port)
  const zero = () => Object.fromEntries(apis.map((a) => [a, 0])) as Record<Api, number>
  let calls = zero()
  const answerFaults = new Map<Api, Fault<Failure>>()
  const delayFaults = new Map<Api, { ms: number; remaining: number | null }>()

  function checkApi(api: unknown, method: string): asserts api is Api {
    if (!apis.includes(api as Api)) throw new TypeError(`${name}.${method}: api must be one of ${apis.join(', ')}`)
  }
  function checkTimes(times: unknown, method: string): number | null {
    if (times === undefined) return null
    if (!Number.isInteger(times) || (times as number) < 1) throw new TypeError(`${name}.${method}: times must be a positive integer`)
    return times as number
  }
  function take<F extends { remaining: number | null }>(map: Map<Api, F>, api: Api): F | undefined {
    const fault = map.get(api)
    if (!fault) return undefined
    if (fault.remaining !== null && --fault.remaining <= 0) map.delete(api)
    return fault
  }

  function send(res: ServerResponse, answer: HostAnswer): void {
    if (res.writableEnded || res.destroyed) return
    const text = answer.text ?? JSON.stringify(answer.json)
    res.writeHead(answer.status ?? 200, { 'content-type': answer.contentType ?? 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  function readBody(req: IncomingMessage): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      req.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > 16 * MAX_BODY_BYTES) req.destroy()
        else if (size <= MAX_BODY_BYTES) chunks.push(chunk)
      })
      req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')))
      req.on('error', reject)
    })
  }

  async function serveApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let clientGone = false
    res.once('close', () => {
      clientGone = !res.writableEnded
    })
    const body = await readBody(req)
    const request: HostRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: body ?? '', contentType: String(req.headers['content-type'] ?? ''), headers: req.headers }
    const api = setup.route(url.pathname, request)
    if (api === undefined) return send(res, { status: 404, json: { error: 'not_found', message: `no such API: ${req.method} ${url.pathname}` } })
    calls[api]++
    if (body === null) return send(res, { status: 413, json: { error: 'payload_too_large' } })
    const slow = take(delayFaults, api)
    if (slow) await sleep(slow.ms)
    if (clientGone || res.destroyed) return // nobody is waiting: dropped unprocessed
    const fault = take(answerFaults, api)
    if (fault?.kind === 'html') return send(res, { status: 502, text: HTML_PAGE, contentType: 'text/html' })
    if (fault?.kind === 'fail') return send(res, setup.failure(api, fault.failure as Failure, request))
    send(res, setup.answer(api, request))
  }

  async function serveControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/__fake/stats' && req.method === 'GET') return send(res, { json: { ...calls } })
    const control = path === '/__fake/codes' ? setup.mintFromControl : setup.controls?.[path.slice('/__fake/'.length)]
    if (req.method === 'POST' && control) {
      const text = (await readBody(req)) ?? ''
      let body: unknown
      try {
        body = JSON.parse(text || '{}')
      } catch {
        return send(res, { status: 400, json: { error: 'invalid_json', message: 'the body must be a JSON object' } })
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) return send(res, { status: 400, json: { error: 'invalid_json', message: 'the body must be a JSON object' } })
      try {
        return send(res, { json: control(body as Record<string, unknown>) })
      } catch (err) {
        return send(res, { status: 400, json: { error: 'bad_request', message: (err as Error).message } })
      }
    }
    send(res, { status: 404, json: { error: 'not_found', message: `no fake control ${req.method} ${path}` } })
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const work = url.pathname.startsWith('/__fake/') ? serveControl(req, res, url.pathname) : serveApi(req, res, url)
    work.catch((err: unknown) => send(res, { status: 500, json: { error: 'internal_error', message: String((err as Error)?.message ?? err) } }))
  })
  server.on('clientError', (_err, socket) => socket.destroy())

  const listener = createListener(server, port, name)
  const { stop, sleep } = listener

  await listener.listen()

  return {
    get url() {
      return `http://127.0.0.1:${listener.port}`
    },
    get port() {
      return listener.port
    },
    get calls() {
      return { ...calls }
    },
    resetCalls() {
      calls = zero()
    },
    fail(api, failure, options = {}) {
      checkApi(api, 'fail')
      setup.checkFailure(failure)
      answerFaults.set(api, { kind: 'fail', failure, remaining: checkTimes(options.times, 'fail') })
    },
    delay(api, ms, options = {}) {
      checkApi(api, 'delay')
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new TypeError(`${name}.delay: ms must be a non-negative number`)
      delayFaults.set(api, { ms, remaining: checkTimes(options.times, 'delay') })
    },
    html(api, options = {}) {
      checkApi(api, 'html')
      answerFaults.set(api, { kind: 'html', remaining: checkTimes(options.times, 'html') })
    },
    clearFaults() {
      answerFaults.clear()
      delayFaults.clear()
    },
    stop,
    start: listener.start,
    close: listener.close,
  }
}
