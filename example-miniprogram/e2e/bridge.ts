/**
 * The SDK's fake `wx` with its network bridged to a real HTTP server: `wx.request` and
 * `wx.uploadFile` become real requests (uploads as multipart/form-data built from the temp
 * file), so pages under miniprogram-simulate talk to the reference server over loopback.
 */
import * as http from 'node:http'
import { randomBytes } from 'node:crypto'
import { createFakeWx, type FakeReply, type FakeRequest, type FakeWx } from 'weapp-auth/testing'

const MIME: Record<string, string> = { jpeg: 'image/jpeg', jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' }

function multipart(req: FakeRequest): { body: Buffer; type: string } {
  const boundary = '----weappauth' + randomBytes(8).toString('hex')
  const parts: Buffer[] = []
  for (const [k, v] of Object.entries(req.formData || {})) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${String(v)}\r\n`))
  }
  const file = req.file!
  const filename = file.path.split('/').pop() || 'file'
  const ext = filename.split('.').pop() || ''
  parts.push(
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${req.name}"; filename="${filename}"\r\nContent-Type: ${MIME[ext] || 'application/octet-stream'}\r\n\r\n`),
    Buffer.from(file.content, 'utf8'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  )
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` }
}

/** One fake request as a real HTTP exchange; a connection failure becomes a network error, like wx. */
export function forward(req: FakeRequest, onDone?: (req: FakeRequest, status: number | string) => void): Promise<FakeReply> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...req.header }
    let body: Buffer | undefined
    if (req.kind === 'upload') {
      const m = multipart(req)
      body = m.body
      headers['content-type'] = m.type
    } else if (req.data !== undefined) {
      body = Buffer.from(typeof req.data === 'string' ? req.data : JSON.stringify(req.data))
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json'
    }
    const r = http.request(req.url, { method: req.method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        if (onDone) onDone(req, res.statusCode || 0)
        const header: Record<string, string> = {}
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') header[k] = v
        resolve({ statusCode: res.statusCode, data: Buffer.concat(chunks).toString('utf8'), header })
      })
    })
    r.setTimeout(10000, () => r.destroy(new Error('ETIMEDOUT')))
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (onDone) onDone(req, err.code || err.message)
      resolve({ networkError: err.code || err.message })
    })
    if (body) r.write(body)
    r.end()
  })
}

export function createBridgedWx(onDone?: (req: FakeRequest, status: number | string) => void): FakeWx {
  return createFakeWx({ handler: (req) => forward(req, onDone) })
}
