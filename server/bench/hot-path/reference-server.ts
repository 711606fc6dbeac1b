/**
 * The hand-written route the ready-made server is measured against: what a team would write by
 * hand for one authenticated route. fastify 5 + jose 5, no logger, `GET /api/user/me` verifies
 * the same HS256 token (same secret, same `kid`, the same claims required) and reads the user
 * from a Map. No revocation, no store, no log line: the floor every authenticated request pays.
 *
 *   JWT_SECRET=… REFERENCE_USERS_FILE=users.json PORT=0 tsx bench/hot-path/reference-server.ts
 *
 * users.json: `[{"id":"…","nickName":"…"}, …]`, the users the route answers.
 *
 * Prints one line, `reference: http://127.0.0.1:<port>`, once it listens; SIGTERM exits 0.
 */
import * as fs from 'node:fs'
import Fastify from 'fastify'
import { jwtVerify } from 'jose'

const secret = process.env.JWT_SECRET
if (!secret) {
  process.stderr.write('reference: JWT_SECRET is required\n')
  process.exit(1)
}
const key = new TextEncoder().encode(secret)
const users = new Map<string, Record<string, unknown>>()
const usersFile = process.env.REFERENCE_USERS_FILE
for (const user of (usersFile ? JSON.parse(fs.readFileSync(usersFile, 'utf8')) : []) as Array<Record<string, unknown>>) users.set(String(user.id), user)

const app = Fastify({ logger: false })

app.get('/api/user/me', async (request, reply) => {
  const header = request.headers.authorization
  const token = header && header.startsWith('Bearer ') ? header.slice(7) : ''
  let sub: string
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['sub', 'jti', 'iat', 'exp'] })
    sub = String(payload.sub)
  } catch {
    return reply.code(401).send({ error: 'invalid_token' })
  }
  const user = users.get(sub)
  if (!user) return reply.code(404).send({ error: 'not_found' })
  return user
})

app.listen({ port: Number(process.env.PORT || 0), host: '127.0.0.1' }).then(
  (url) => process.stdout.write(`reference: ${url}\n`),
  (err: Error) => {
    process.stderr.write(`reference: ${err.message}\n`)
    process.exit(1)
  },
)
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void app.close().then(() => process.exit(0)))
