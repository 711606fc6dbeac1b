/**
 * Refresh rotation and reuse detection, logout and revocation, on both stores (memory, real
 * Redis): each refresh token works once; a replayed one revokes its family (the successor dies
 * too); of 200 concurrent refreshes of one token exactly one succeeds — in one process, and across
 * 4 createAuthServer instances sharing one Redis.
 */
import { STORE_KINDS, rejection, useKit } from './helpers/kit'

const kits = useKit()

describe.each(STORE_KINDS)('refresh on the %s store', (kind) => {
  test('rotation: a new token in the same family, a new refresh token, and the user', async () => {
    const server = kits.current.server(kind)
    const login = await server.login({ code: kits.current.fake.mintCode('openid-r1') })
    const first = await server.verify(login.token)

    const r1 = await server.refresh(login.refreshToken)
    expect(r1.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(r1.refreshToken).not.toBe(login.refreshToken)
    expect(r1.expiresIn).toBe(7 * 24 * 3600)
    expect(r1.user).toEqual(login.user)
    const second = await server.verify(r1.token)
    expect(second).toMatchObject({ sub: first.sub, fam: first.fam })
    expect(second.jti).not.toBe(first.jti)

    const r2 = await server.refresh(r1.refreshToken)
    expect((await server.verify(r2.token)).fam).toBe(first.fam)
    expect(kits.current.events.filter((e) => e.type === 'refresh')).toEqual([
      { type: 'refresh', userId: first.sub },
      { type: 'refresh', userId: first.sub },
    ])
  })

  test('replaying a spent token: refresh_token_reused, the family dies, the successor is refused', async () => {
    const server = kits.current.server(kind)
    const login = await server.login({ code: kits.current.fake.mintCode('openid-r2') })
    const fam = (await server.verify(login.token)).fam
    const successor = await server.refresh(login.refreshToken)

    const replay = await rejection(server.refresh(login.refreshToken))
    expect(replay).toMatchObject({ name: 'TokenError', code: 'refresh_token_reused', status: 401 })
    expect(kits.current.events).toContainEqual({ type: 'refresh_reuse', userId: login.user.id, family: fam })
    expect(await rejection(server.refresh(successor.refreshToken))).toMatchObject({ code: 'invalid_refresh_token', status: 401 })
    // Another login of the same user is a new family and unaffected.
    const again = await server.login({ code: kits.current.fake.mintCode('openid-r2') })
    await expect(server.refresh(again.refreshToken)).resolves.toBeTruthy()
  })

  test('200 concurrent refreshes of one token: exactly one succeeds, and the family is revoked afterwards', async () => {
    const servers = kind === 'redis' ? [0, 1, 2, 3].map(() => kits.current.server('redis')) : [kits.current.server('memory')]
    const login = await servers[0].login({ code: kits.current.fake.mintCode('openid-r3') })
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => servers[i % servers.length].refresh(login.refreshToken)))
    const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<(typeof servers)[0]['refresh']>>> => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    const codes = new Set(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code))
    // The losers saw the spent token (reused), or the family it just revoked.
    for (const code of codes) expect(['refresh_token_reused', 'invalid_refresh_token']).toContain(code)
    expect(codes.has('refresh_token_reused')).toBe(true)
    // Reuse ended the session: the winner's access token is refused on every instance, and its
    // refresh token died with the family.
    for (const server of servers) expect(await rejection(server.verify(won[0].value.token))).toMatchObject({ code: 'token_revoked', status: 401 })
    expect(await rejection(servers[servers.length - 1].refresh(won[0].value.refreshToken))).toMatchObject({ code: 'invalid_refresh_token' })
  })

  test('a refresh token issued by one instance works on another (one store)', async () => {
    const store = kits.current.newStore(kind)
    const a = kits.current.server(kind, {}, store)
    const b = kits.current.server(kind, {}, kind === 'redis' ? kits.current.newStore('redis') : store)
    const login = await a.login({ code: kits.current.fake.mintCode('openid-r4') })
    const r = await b.refresh(login.refreshToken)
    await expect(a.verify(r.token)).resolves.toMatchObject({ sub: login.user.id })
  })

  test('malformed, unknown and missing refresh tokens get typed errors', async () => {
    const server = kits.current.server(kind)
    expect(await rejection(server.refresh('A'.repeat(43)))).toMatchObject({ code: 'invalid_refresh_token', status: 401 })
    expect(await rejection(server.refresh('not a token'))).toMatchObject({ code: 'invalid_refresh_token' })
    expect(await rejection(server.refresh('A'.repeat(5000)))).toMatchObject({ code: 'invalid_refresh_token' })
    expect(await rejection(server.refresh(''))).toMatchObject({ name: 'BadRequestError', code: 'refresh_token_required', status: 400 })
    expect(await rejection(server.refresh(undefined as never))).toMatchObject({ code: 'refresh_token_required' })
    expect(await rejection(server.refresh({ token: 'x' } as never))).toMatchObject({ code: 'refresh_token_required' })
  })

  test('an expired refresh token: refresh_token_expired', async () => {
    let clock = Date.now()
    const now = () => clock
    const store = kits.current.newStore(kind)
    const server = kits.current.server(kind, { now, tokenTtlSeconds: 600, refreshTtlSeconds: 3600 }, store)
    const login = await server.login({ code: kits.current.fake.mintCode('openid-r5') })
    clock += 3599 * 1000
    const r = await server.refresh(login.refreshToken)
    clock += 3601 * 1000
    // The store's keys live on real time; the record's expiry (the kit's clock) says expired.
    expect(await rejection(server.refresh(r.refreshToken))).toMatchObject({ name: 'TokenError', code: 'refresh_token_expired', status: 401 })
    expect(await rejection(server.verify(r.token))).toMatchObject({ code: 'token_expired', status: 401 })
  })

  test('logout ends the session: its refresh token and its access tokens are refused on every instance, revocation list or not', async () => {
    const stateless = kits.current.server(kind)
    const withList = kits.current.server(kind, { revocation: true }, stateless.store)
    const login = await stateless.login({ code: kits.current.fake.mintCode('openid-r6') })
    const other = await stateless.login({ code: kits.current.fake.mintCode('openid-r7') })
    const claims = await withList.verify(login.token)
    await withList.logout(claims)

    expect(await rejection(stateless.refresh(login.refreshToken))).toMatchObject({ code: 'invalid_refresh_token' })
    expect(await rejection(withList.verify(login.token))).toMatchObject({ name: 'TokenError', code: 'token_revoked', status: 401 })
    // The session's end is part of the one store round trip every verify makes: no revocation list needed.
    expect(await rejection(stateless.verify(login.token))).toMatchObject({ code: 'token_revoked', status: 401 })
    // Nobody else is affected.
    await expect(withList.verify(other.token)).resolves.toBeTruthy()
    await expect(withList.refresh(other.refreshToken)).resolves.toBeTruthy()
    expect(await rejection(withList.logout({ sub: '1' } as never))).toMatchObject({ code: 'bad_request' })
  })

  test('revokeIssuedBefore: every earlier token stops working; later ones work', async () => {
    let clock = Date.now()
    const now = () => clock
    const store = kits.current.newStore(kind)
    const server = kits.current.server(kind, { now, revocation: true }, store)
    const old = await server.login({ code: kits.current.fake.mintCode('openid-r8') })
    clock += 10_000
    await server.revokeIssuedBefore(Math.floor(clock / 1000))
    expect(await rejection(server.verify(old.token))).toMatchObject({ code: 'token_revoked' })
    expect(await rejection(server.refresh(old.refreshToken))).toMatchObject({ code: 'invalid_refresh_token' })
    clock += 2000
    const fresh = await server.login({ code: kits.current.fake.mintCode('openid-r8') })
    await expect(server.verify(fresh.token)).resolves.toBeTruthy()
    await expect(server.refresh(fresh.refreshToken)).resolves.toBeTruthy()
    expect(await rejection(server.revokeIssuedBefore(-1))).toMatchObject({ code: 'bad_request' })
  })
})
