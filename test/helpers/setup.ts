import { createAuth, type AuthOptions } from 'weapp-auth'
import { createFakeWx, createFakeAuthServer, type FakeAuthServerOptions, type FakeWxOptions } from 'weapp-auth/testing'

export const BASE = 'https://api.example.com'

/** A fake wx wired to the in-memory server, and an auth instance on top of both. */
export function setup(
  opts: {
    auth?: Partial<AuthOptions>
    server?: FakeAuthServerOptions
    wx?: FakeWxOptions
  } = {},
) {
  const fake = createFakeWx(opts.wx)
  const server = createFakeAuthServer(fake, opts.server)
  fake.setHandler(server.handler)
  const auth = createAuth(
    Object.assign({ baseURL: BASE, login: { url: '/api/auth/login' }, platform: fake.wx }, opts.auth || {}) as AuthOptions,
  )
  const errors: Error[] = []
  auth.on('error', (e) => errors.push(e))
  const loginRequests = () => fake.requests.filter((r) => r.path === '/api/auth/login').length
  return { fake, server, auth, errors, loginRequests }
}

/** Settles every promise and reports how each ended (never throws, never hangs past jest's timeout). */
export function settleAll<T>(ps: Array<Promise<T>>) {
  return Promise.allSettled(ps)
}

export function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function jwt(payload: Record<string, unknown>): string {
  return b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })) + '.' + b64url(JSON.stringify(payload)) + '.signature'
}
