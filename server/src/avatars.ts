/**
 * Avatar upload for the ready-made server (and any fastify app): `POST /api/upload/avatar`
 * (Bearer, multipart field `file`, what `uploadAvatar(auth, event)` sends after the
 * `chooseAvatar` button) → `{ url }`, and `GET /uploads/:name` serving the files back.
 *
 * - The type is read from the file's first bytes (png, jpeg, webp, gif), never from its name or the
 *   part's content type, which the client chooses: a renamed HTML or SVG file is 415
 *   `unsupported_media_type`, and a file over `maxBytes` is 413.
 * - Files are named at random (a per-user prefix that is a hash of the user id, so deleting the
 *   account can find them without the id appearing in a URL). `deleteAvatarsOf(userId)` removes them.
 * - The URL is `publicUrl` + `/uploads/<name>`, never built from the Host header (a client sets it).
 * - Served with the type of its bytes and `X-Content-Type-Options: nosniff`, so a browser never
 *   guesses another type.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync, promises as fsp } from 'node:fs'
import { join } from 'node:path'
import multipart from '@fastify/multipart'
import type { FastifyInstance } from 'fastify'
import { AuthServerError, BadRequestError, ConfigError } from './errors'

export interface AvatarOptions {
  /** Where files are kept (created if missing). */
  dir: string
  /** `https://api.example.com`: the URLs handed out start with it. Without it, uploads answer 503 naming PUBLIC_URL. */
  publicUrl?: string
  /** Largest file accepted. Default 2 MiB. */
  maxBytes?: number
  /** Called with the new URL, to save it on the user (the bin sets `avatarUrl`). */
  onUploaded?: (userId: string, url: string) => Promise<unknown> | unknown
}

export const DEFAULT_AVATAR_MAX_BYTES = 2 * 1024 * 1024

const TYPES = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif' } as const
type Ext = keyof typeof TYPES
const NAME = /^([0-9a-f]{16})-([A-Za-z0-9_-]{22})\.(png|jpg|webp|gif)$/

/** The image type of these bytes, from their signature, or null. */
export function imageTypeOf(bytes: Buffer): Ext | null {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png'
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpg'
  if (bytes.length >= 6 && (bytes.subarray(0, 6).toString('latin1') === 'GIF87a' || bytes.subarray(0, 6).toString('latin1') === 'GIF89a')) return 'gif'
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp'
  return null
}

const ownerPrefix = (userId: string): string => createHash('sha256').update('avatar:' + userId).digest('hex').slice(0, 16)

export interface Avatars {
  /** Registers the two routes on `app` (which has `app.authenticate`, from the weappAuth plugin). */
  register(app: FastifyInstance): Promise<void>
  /** Removes every avatar this user uploaded; answers how many. */
  deleteAvatarsOf(userId: string): Promise<number>
}

export function createAvatars(options: AvatarOptions): Avatars {
  const { dir } = options
  const maxBytes = options.maxBytes ?? DEFAULT_AVATAR_MAX_BYTES
  const publicUrl = options.publicUrl?.replace(/\/+$/, '')
  try {
    mkdirSync(dir, { recursive: true })
  } catch (err) {
    throw new ConfigError(`Cannot create the upload folder ${dir} (UPLOAD_DIR): ${(err as Error).message}`)
  }

  async function register(app: FastifyInstance): Promise<void> {
    if (typeof (app as { authenticate?: unknown }).authenticate !== 'function') {
      throw new ConfigError('createAvatars: register the weappAuth plugin first (the avatar routes use its app.authenticate)')
    }
    await app.register(async (scope) => {
      await scope.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 0, parts: 2 } })

      scope.post('/api/upload/avatar', { preHandler: app.authenticate }, async (request) => {
        // Set by the weappAuth plugin's app.authenticate (fastify.ts), which this file does not import: fastify.ts re-exports this one.
        const { id } = request.user as { id: string }
        if (!publicUrl) throw new AuthServerError('not_configured', 'Avatar upload needs PUBLIC_URL (the https address clients reach this server at): set it and restart.')
        if (!request.isMultipart()) throw new BadRequestError('bad_request', 'Send multipart/form-data with the image in a "file" field.')
        const file = await request.file().catch(() => undefined)
        if (!file || file.fieldname !== 'file') throw new BadRequestError('bad_request', 'A "file" field with the image is required.')
        let data: Buffer
        try {
          data = await file.toBuffer()
        } catch (err) {
          if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw new AuthServerError('payload_too_large', `Avatars are limited to ${maxBytes} bytes.`)
          throw new BadRequestError('bad_request', 'The upload could not be read.')
        }
        const ext = imageTypeOf(data)
        if (!ext) throw new AuthServerError('unsupported_media_type', 'Only png, jpeg, webp and gif images are accepted (read from the file itself, not its name).')
        const name = `${ownerPrefix(id)}-${randomBytes(16).toString('base64url')}.${ext}`
        await fsp.writeFile(join(dir, name), data, { flag: 'wx' })
        const url = `${publicUrl}/uploads/${name}`
        if (options.onUploaded) await options.onUploaded(id, url)
        return { url }
      })

      scope.get<{ Params: { name: string } }>('/uploads/:name', async (request, reply) => {
        const match = NAME.exec(request.params.name)
        const notFound = () => reply.code(404).header('x-content-type-options', 'nosniff').send({ error: 'not_found', message: 'No such file.' })
        if (!match) return notFound()
        const path = join(dir, request.params.name)
        const stat = await fsp.stat(path).catch(() => null)
        if (!stat || !stat.isFile()) return notFound()
        return reply
          .header('content-type', TYPES[match[3] as Ext])
          .header('x-content-type-options', 'nosniff')
          .header('content-security-policy', "default-src 'none'")
          .header('cache-control', 'public, max-age=31536000, immutable')
          .send(createReadStream(path))
      })
    })
  }

  async function deleteAvatarsOf(userId: string): Promise<number> {
    const prefix = ownerPrefix(userId) + '-'
    const names = (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix) && NAME.test(n))
    await Promise.all(names.map((n) => fsp.rm(join(dir, n), { force: true })))
    return names.length
  }

  return { register, deleteAvatarsOf }
}
