/**
 * `tsx bench/logout-everywhere.ts`: how soon a "log out everywhere" on one instance is seen by the
 * others. Four instances of the ready-made server's app (buildApp), each with its own Redis
 * connection to one real redis-server, on loopback; WeChat is the fake over HTTP. Each round logs
 * one user in on four devices (one per instance), calls POST /api/auth/logout { all: true } on
 * instance 1, then asks instances 2–4 with each device's old token until they answer 401,
 * measuring from the logout's answer. Prints the median and the worst of all rounds, and the
 * number of requests that still got a 200 after the logout answered (expected: 0).
 */
import type { FastifyInstance } from 'fastify'
import { createAuthServer, redisStore, type Store } from '../src'
import { createFakeWechat } from '../src/testing'
import { buildApp } from '../src/app'
import { startRedis } from '../test/helpers/redis'

const ROUNDS = 50
const APPID = 'wxbenchlogout00001'
const SECRET = 'bench-logout-secret-0000000000000'

async function main(): Promise<void> {
  const [fake, redis] = await Promise.all([createFakeWechat({ appid: APPID, secret: SECRET }), startRedis()])
  const stores: Store[] = []
  const apps: FastifyInstance[] = []
  const bases: string[] = []
  try {
    for (let i = 0; i < 4; i++) {
      const store = redisStore(redis.url)
      stores.push(store)
      const auth = createAuthServer({ appid: APPID, secret: SECRET, jwt: { secret: 'bench-logout-jwt-secret-at-least-32-bytes' }, store, wxApiBase: fake.url, loginRateLimit: false })
      const app = buildApp({ auth, log: false })
      apps.push(app)
      bases.push(await app.listen({ host: '127.0.0.1', port: 0 }))
    }
    const post = async (base: string, path: string, body: unknown, token?: string) =>
      fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) }, body: JSON.stringify(body) })
    const delays: number[] = []
    let servedAfter = 0
    for (let round = 0; round < ROUNDS; round++) {
      const openid = `bench-user-${round}`
      const tokens: string[] = []
      for (let i = 0; i < 4; i++) tokens.push(((await (await post(bases[i], '/api/auth/login', { code: fake.mintCode(openid) })).json()) as { token: string }).token)
      const res = await post(bases[0], '/api/auth/logout', { all: true }, tokens[0])
      if (res.status !== 204) throw new Error(`logout answered ${res.status}`)
      const answered = performance.now()
      for (let i = 1; i < 4; i++) {
        for (const token of tokens) {
          for (;;) {
            const status = (await fetch(bases[i] + '/api/user/me', { headers: { authorization: 'Bearer ' + token } })).status
            if (status === 401) break
            servedAfter++
            if (performance.now() - answered > 5000) throw new Error('still served 5 s after the logout')
          }
        }
        delays.push(performance.now() - answered)
      }
    }
    delays.sort((a, b) => a - b)
    const median = delays[Math.floor(delays.length / 2)]
    console.log(
      `log out everywhere, ${ROUNDS} rounds × instances 2–4 (4 devices each): every old token refused by ${median.toFixed(1)} ms (median) / ${delays[delays.length - 1].toFixed(1)} ms (worst) after the logout answered; requests still served after it: ${servedAfter}`,
    )
    if (servedAfter > 0) process.exitCode = 1
  } finally {
    await Promise.all(apps.map((a) => a.close()))
    await Promise.all(stores.map((s) => s.close()))
    await Promise.all([fake.close(), redis.stop()])
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
