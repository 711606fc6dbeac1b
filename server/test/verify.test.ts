/**
 * verify(): stateless HS256 with `alg` pinned, `iss`/`aud` checked, keys chosen by `kid` (rotation),
 * expiry — every forged, foreign or broken token is a TokenError (401), never a crash.
 */
import { SignJWT, base64url } from 'jose'
import { createAuthServer, memoryStore, type AuthServer, type AuthServerOptions } from 'weapp-auth-server'
import { APPID, JWT_SECRET, SECRET, headerOf, payloadOf, rejection } from './helpers/kit'

const OLD_KEY = { kid: 'k-2024', secret: 'old-key-old-key-old-key-old-key-0001' }
const NEW_KEY = { kid: 'k-2025', secret: 'new-key-new-key-new-key-new-key-0002' }
const servers: AuthServer[] = []

function server(options: Partial<AuthServerOptions> = {}): AuthServer {
  const s = createAuthServer({ appid: APPID, secret: SECRET, jwt: { secret: JWT_SECRET }, store: memoryStore(), ...options })
  servers.push(s)
  return s
}

/** A token for `sub` signed outside the kit, as an attacker (or another service) could. */
async function forge(header: Record<string, unknown>, payload: Record<string, unknown>, key: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ jti: 'forged-jti', fam: 'forged-fam', ...payload })
    .setProtectedHeader(header as never)
    .setSubject(typeof payload.sub === 'string' ? payload.sub : '1')
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(new TextEncoder().encode(key))
}

/** Signs in the kit's own way: one login-free token through the public API (sign via refresh family). */
async function issue(s: AuthServer): Promise<string> {
  // The public way to get a token is login; a provider stands in for WeChat so this file needs no fake.
  return (await s.login({ code: 'code-1', platform: 'qq' })).token
}
const qq = { qq: { platform: 'qq' as const, code2Session: async () => ({ openid: 'openid-qq', sessionKey: Buffer.alloc(16).toString('base64') }) } }

afterAll(async () => {
  for (const s of servers) await s.close()
})

test('a good token verifies; its header says HS256, JWT and the signing kid', async () => {
  const s = server({ providers: qq })
  const token = await issue(s)
  expect(headerOf(token)).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'default' })
  await expect(s.verify(token)).resolves.toMatchObject({ sub: payloadOf(token).sub })
})

test('a token is only as good as the data behind it: another generation is token_stale, a missing user is user_not_found', async () => {
  const store = memoryStore()
  const s = server({ providers: qq, store })
  const token = await issue(s)
  const { sub, gen } = payloadOf(token) as { sub: string; gen: string }
  // Signed with the right key (so only the data check can refuse them):
  // the right user but another store's generation (a store that lost its data, another deployment);
  const otherGen = await forge({ alg: 'HS256', kid: 'default' }, { sub, gen: 'another-generation-xxxxx' }, JWT_SECRET)
  expect(await rejection(s.verify(otherGen))).toMatchObject({ name: 'TokenError', code: 'token_stale', status: 401 })
  // a token signed before tokens carried a generation;
  const noGen = await forge({ alg: 'HS256', kid: 'default' }, { sub }, JWT_SECRET)
  expect(await rejection(s.verify(noGen))).toMatchObject({ code: 'token_stale' })
  // this store's generation, but a user id nobody has.
  const nobody = await forge({ alg: 'HS256', kid: 'default' }, { sub: 'no-such-user-000000000', gen }, JWT_SECRET)
  expect(await rejection(s.verify(nobody))).toMatchObject({ name: 'TokenError', code: 'user_not_found', status: 401 })
  // The same token on a server over another store (a new process with a memory store): stale.
  expect(await rejection(server({ providers: qq }).verify(token))).toMatchObject({ code: 'token_stale' })
  await expect(s.verify(token)).resolves.toMatchObject({ sub, gen })
  await store.close()
})

test('tampered signature or payload: invalid_token', async () => {
  const s = server({ providers: qq })
  const token = await issue(s)
  const [h, p, sig] = token.split('.')
  const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11)
  expect(await rejection(s.verify(`${h}.${p}.${flipped}`))).toMatchObject({ name: 'TokenError', code: 'invalid_token', status: 401 })
  const otherSub = base64url.encode(JSON.stringify({ ...payloadOf(token), sub: '2' }))
  const err = await rejection(s.verify(`${h}.${otherSub}.${sig}`))
  expect(err).toMatchObject({ code: 'invalid_token' })
  expect(err.message).toMatch(/signature/)
})

test('alg none, HS512 and RS256 headers are refused (alg is pinned to HS256)', async () => {
  const s = server({ providers: qq })
  const token = await issue(s)
  const payload = token.split('.')[1]
  const none = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT', kid: 'default' }))
  expect(await rejection(s.verify(`${none}.${payload}.`))).toMatchObject({ code: 'invalid_token' })
  const hs512 = await forge({ alg: 'HS512', kid: 'default' }, {}, JWT_SECRET)
  const err = await rejection(s.verify(hs512))
  expect(err).toMatchObject({ code: 'invalid_token' })
  expect(err.message).toMatch(/algorithm other than HS256/)
  const rs = base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'default' }))
  expect(await rejection(s.verify(`${rs}.${payload}.${token.split('.')[2]}`))).toMatchObject({ code: 'invalid_token' })
})

test('issuer and audience are checked when configured', async () => {
  const s = server({ providers: qq, jwt: { secret: JWT_SECRET, issuer: 'https://auth.example.com', audience: 'weapp' } })
  const token = await issue(s)
  expect(payloadOf(token)).toMatchObject({ iss: 'https://auth.example.com', aud: 'weapp' })
  await expect(s.verify(token)).resolves.toMatchObject({ iss: 'https://auth.example.com', aud: 'weapp' })

  const wrongIss = await forge({ alg: 'HS256', kid: 'default' }, { iss: 'https://evil.example.com', aud: 'weapp' }, JWT_SECRET)
  expect((await rejection(s.verify(wrongIss))).message).toMatch(/wrong issuer/)
  const wrongAud = await forge({ alg: 'HS256', kid: 'default' }, { iss: 'https://auth.example.com', aud: 'admin' }, JWT_SECRET)
  expect((await rejection(s.verify(wrongAud))).message).toMatch(/wrong audience/)
  // A token from a server without iss/aud (same key) is not good here.
  const bare = await issue(server({ providers: qq }))
  expect(await rejection(s.verify(bare))).toMatchObject({ code: 'invalid_token' })
})

test('key rotation by kid: the old key verifies while listed, fails once removed; the first key signs', async () => {
  // One store for every key set: the deployments of a rolling key change share their data.
  const store = memoryStore()
  const before = server({ providers: qq, jwt: { keys: [OLD_KEY] }, store })
  const oldToken = await issue(before)
  expect(headerOf(oldToken).kid).toBe('k-2024')

  const during = server({ providers: qq, jwt: { keys: [NEW_KEY, OLD_KEY] }, store })
  await expect(during.verify(oldToken)).resolves.toMatchObject({ sub: payloadOf(oldToken).sub })
  const newToken = await issue(during)
  expect(headerOf(newToken).kid).toBe('k-2025')
  // Old instances still running the old key set cannot verify the new key's tokens: roll out verify-first.
  expect(await rejection(before.verify(newToken))).toMatchObject({ code: 'invalid_token' })

  const after = server({ providers: qq, jwt: { keys: [NEW_KEY] }, store })
  await expect(after.verify(newToken)).resolves.toBeTruthy()
  const err = await rejection(after.verify(oldToken))
  expect(err).toMatchObject({ code: 'invalid_token' })
  expect(err.message).toMatch(/unknown key/)
  // A right signature under a kid that names another key is still refused.
  const mislabelled = await forge({ alg: 'HS256', kid: 'k-2025' }, {}, OLD_KEY.secret)
  expect(await rejection(after.verify(mislabelled))).toMatchObject({ code: 'invalid_token' })
  // No kid at all.
  const noKid = await forge({ alg: 'HS256' }, {}, NEW_KEY.secret)
  expect((await rejection(after.verify(noKid))).message).toMatch(/no key id/)
})

test('expired: token_expired; the claims must be complete', async () => {
  let clock = Date.now()
  const s = server({ providers: qq, now: () => clock, tokenTtlSeconds: 60 })
  const token = await issue(s)
  clock += 59_000
  await expect(s.verify(token)).resolves.toBeTruthy()
  clock += 2_000
  expect(await rejection(s.verify(token))).toMatchObject({ name: 'TokenError', code: 'token_expired', status: 401 })

  const noFam = await new SignJWT({ jti: 'j' }).setProtectedHeader({ alg: 'HS256', kid: 'default' }).setSubject('1').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET))
  expect((await rejection(server().verify(noFam))).message).toMatch(/refresh family/)
  const noExp = await new SignJWT({ jti: 'j', fam: 'f' }).setProtectedHeader({ alg: 'HS256', kid: 'default' }).setSubject('1').setIssuedAt().sign(new TextEncoder().encode(JWT_SECRET))
  expect(await rejection(server().verify(noExp))).toMatchObject({ code: 'invalid_token' })
})

test('garbage never crashes: a typed invalid_token for each', async () => {
  const s = server()
  const garbage: unknown[] = ['', 'abc', 'a.b.c', '..', 'a.b', '\u0000.\u0000.\u0000', 'x'.repeat(5000), '.'.repeat(3), null, undefined, 42, {}, 'eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln']
  for (const token of garbage) {
    expect(await rejection(s.verify(token as string))).toMatchObject({ name: 'TokenError', code: 'invalid_token', status: 401 })
  }
})

describe('tokens that verified are remembered (jwt.verifyCacheSize), never beyond what a full check answers', () => {
  test('a remembered token expires at the same instant as one checked in full, to the millisecond', async () => {
    let clock = Date.now()
    const store = memoryStore()
    const remembering = server({ providers: qq, now: () => clock, tokenTtlSeconds: 60, store })
    const checking = server({ providers: qq, now: () => clock, tokenTtlSeconds: 60, store, jwt: { secret: JWT_SECRET, verifyCacheSize: 0 } })
    const token = await issue(remembering)
    const expMs = (payloadOf(token).exp as number) * 1000
    await expect(remembering.verify(token)).resolves.toBeTruthy()
    const answer = async (s: AuthServer) => s.verify(token).then(() => 'ok', (err: { code: string }) => err.code)
    for (const at of [expMs - 1001, expMs - 1000, expMs - 1, expMs, expMs + 1, expMs + 999, expMs + 5000]) {
      clock = at
      expect({ at: at - expMs, answer: await answer(remembering) }).toEqual({ at: at - expMs, answer: await answer(checking) })
    }
    clock = expMs - 1
    expect(await answer(remembering)).toBe('ok')
    clock = expMs
    expect(await answer(remembering)).toBe('token_expired')
    await store.close()
  })

  test('only the exact text is remembered: a token changed after its original verified is still refused', async () => {
    const s = server({ providers: qq, jwt: { secret: JWT_SECRET, issuer: 'https://auth.example.com' } })
    const token = await issue(s)
    await expect(s.verify(token)).resolves.toBeTruthy()
    const [h, p, sig] = token.split('.')
    const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11)
    expect(await rejection(s.verify(`${h}.${p}.${flipped}`))).toMatchObject({ code: 'invalid_token' })
    const otherSub = base64url.encode(JSON.stringify({ ...payloadOf(token), sub: 'someone-else' }))
    expect((await rejection(s.verify(`${h}.${otherSub}.${sig}`))).message).toMatch(/signature/)
    expect(await rejection(s.verify(`${token} `))).toMatchObject({ code: 'invalid_token' })
    expect(await rejection(s.verify(token.slice(0, -1)))).toMatchObject({ code: 'invalid_token' })
    await expect(s.verify(token)).resolves.toMatchObject({ sub: payloadOf(token).sub })
  })

  test('each caller gets its own claims: changing them changes nothing the next request sees', async () => {
    const s = server({ providers: qq, jwt: { secret: JWT_SECRET, audience: 'weapp' } })
    const token = await issue(s)
    const first = await s.verify(token)
    const original = { ...first }
    ;(first as { sub: string }).sub = 'someone-else'
    ;(first as { exp: number }).exp = 0
    const second = await s.verify(token)
    expect(second).toEqual(original)
    expect(second).not.toBe(first)
  })

  test('a remembered token is refused the moment its session ends, on every server sharing the store', async () => {
    const store = memoryStore()
    const a = server({ providers: qq, store })
    const b = server({ providers: qq, store })
    const token = await issue(a)
    const claims = await a.verify(token)
    await expect(b.verify(token)).resolves.toBeTruthy()
    await a.logout(claims)
    expect(await rejection(a.verify(token))).toMatchObject({ code: 'token_revoked' })
    expect(await rejection(b.verify(token))).toMatchObject({ code: 'token_revoked' })
    expect(await rejection(b.authenticate(token))).toMatchObject({ code: 'token_revoked' })
    await store.close()
  })

  test('a small cache forgets the oldest tokens and answers exactly as no cache would', async () => {
    let clock = Date.now()
    const store = memoryStore()
    const tiny = server({ providers: qq, now: () => clock, tokenTtlSeconds: 60, store, jwt: { secret: JWT_SECRET, verifyCacheSize: 2 } })
    const none = server({ providers: qq, now: () => clock, tokenTtlSeconds: 60, store, jwt: { secret: JWT_SECRET, verifyCacheSize: 0 } })
    const tokens: string[] = []
    for (let i = 0; i < 5; i++) {
      tokens.push(await issue(tiny))
      clock += 10_000
    }
    // Token i expires at (i * 10 + 60) s after the start; walk past each expiry with every token in turn.
    for (let step = 0; step < 12; step++) {
      for (const token of [...tokens, ...tokens.slice().reverse()]) {
        const got = await tiny.verify(token).then((c) => c.jti, (err: { code: string }) => err.code)
        const want = await none.verify(token).then((c) => c.jti, (err: { code: string }) => err.code)
        expect(got).toBe(want)
      }
      clock += 5_000
    }
    // By the end every token has expired.
    for (const token of tokens) expect(await rejection(tiny.verify(token))).toMatchObject({ code: 'token_expired' })
    await store.close()
  })

  test('verifyCacheSize must be an integer of at least 0', () => {
    for (const bad of [-1, 1.5, '100', Number.NaN, null]) {
      expect(() => createAuthServer({ appid: APPID, secret: SECRET, jwt: { secret: JWT_SECRET, verifyCacheSize: bad as number }, store: memoryStore() })).toThrow(/jwt\.verifyCacheSize must be an integer of at least 0/)
    }
  })
})
