/**
 * The SDK's fake `wx` with its network bridged to a real HTTP server: `wx.request` and
 * `wx.uploadFile` become real requests (uploads as multipart/form-data built from the temp
 * file), so pages under miniprogram-simulate talk to the reference server over loopback.
 * `createBridgedHost` does the same for the other hosts' fakes (`tt`, `my`, `qq`), and makes their
 * phone-number credentials real ones the fake host API (its own process) can decrypt.
 */
import * as http from 'node:http'
import { APPID as EXAMPLE_APPID } from './spawn-server'
import { randomBytes } from 'node:crypto'
import { createFakeMy, createFakeQq, createFakeTt, createFakeWx, type FakeReply, type FakeRequest, type FakeWx } from 'weapp-auth/testing'

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
    // The fake's file content is a string standing for bytes, one char per byte (an image's signature included).
    Buffer.from(file.content, 'latin1'),
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

/** The parts of a host fake the end-to-end run drives (the same engine under every host). */
export type BridgedFake = Pick<FakeWx, 'requests' | 'storageSnapshot' | 'userChoices' | 'modals' | 'addTempFile'>

export interface BridgedHost {
  platform: 'weixin' | 'qq' | 'douyin' | 'alipay'
  /** The global the host defines: `wx`, `qq`, `tt` or `my`. */
  globalName: 'wx' | 'qq' | 'tt' | 'my'
  /** The host object to install as that global. */
  global: Record<string, any>
  fake: BridgedFake
  /**
   * The `detail` of a getPhoneNumber button event granting this number, as the host hands it out
   * (QQ / Douyin: `{ encryptedData, iv }` encrypted by the fake host API with the user's session_key),
   * or null on hosts whose button carries no data (Alipay: bindPhoneNumber calls my.getPhoneNumber,
   * which answers for `alipayPhoneNumber`).
   */
  phoneDetail(phoneNumber: string): Promise<Record<string, unknown> | null>
  /** Alipay: the number my.getPhoneNumber hands out next (a real signed, encrypted response from the fake Alipay). */
  alipayPhoneNumber: string
  /** Alipay: what the user answers to the phone-number authorization. */
  alipayPhoneChoice: 'allow' | 'deny'
}

async function control(hostUrl: string, path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(hostUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const json = (await res.json()) as Record<string, unknown>
  if (res.status !== 200) throw new Error(`the fake host API refused ${path}: ${JSON.stringify(json)}`)
  return json
}

/**
 * A host's SDK fake with its network bridged to the server, for `platform` (hostUrl: the fake host
 * API's base URL, for the phone-number credentials; unused on WeChat, whose phone code run.ts mints).
 */
export function createBridgedHost(platform: BridgedHost['platform'], hostUrl: string | null, onDone?: (req: FakeRequest, status: number | string) => void): BridgedHost {
  const handler = (req: FakeRequest) => forward(req, onDone)
  if (platform === 'weixin') {
    // The AppID the server serves: the SDK sends it with the login, and the server checks it.
    const fake = createFakeWx({ handler, appId: EXAMPLE_APPID })
    return { platform, globalName: 'wx', global: fake.wx, fake, phoneDetail: async () => null, alipayPhoneNumber: '', alipayPhoneChoice: 'allow' }
  }
  if (!hostUrl) throw new Error(`createBridgedHost: the fake ${platform} API's URL is required`)
  if (platform === 'qq' || platform === 'douyin') {
    const fake = platform === 'qq' ? createFakeQq({ handler }) : createFakeTt({ handler })
    const global = platform === 'qq' ? (fake as ReturnType<typeof createFakeQq>).qq : (fake as ReturnType<typeof createFakeTt>).tt
    return {
      platform,
      globalName: platform === 'qq' ? 'qq' : 'tt',
      global,
      fake: fake as unknown as BridgedFake,
      // The button's older form, which the server decrypts with the session_key of the user's latest login.
      phoneDetail: async (phoneNumber) => ({ errMsg: 'getPhoneNumber:ok', ...(await control(hostUrl, '/__fake/encrypt-phone', { phoneNumber })) }),
      alipayPhoneNumber: '',
      alipayPhoneChoice: 'allow',
    }
  }
  const fake = createFakeMy({ handler })
  const bridged: BridgedHost = {
    platform,
    globalName: 'my',
    global: fake.my,
    fake: fake as unknown as BridgedFake,
    phoneDetail: async () => null,
    alipayPhoneNumber: '13800000000',
    alipayPhoneChoice: 'allow',
  }
  // my.getPhoneNumber answers a real response of the fake Alipay: signed with Alipay's key, encrypted with the app's AES key.
  fake.my.getPhoneNumber = (o: { success?: (r: { response: string }) => void; fail?: (e: { error: number; errorMessage: string }) => void } = {}) => {
    if (bridged.alipayPhoneChoice === 'deny') {
      return Promise.resolve().then(() => o.fail && o.fail({ error: 11, errorMessage: '用户取消授权' }))
    }
    return control(hostUrl, '/__fake/phone-response', { phoneNumber: bridged.alipayPhoneNumber }).then(
      (r) => o.success && o.success({ response: r.response as string }),
      (err: Error) => o.fail && o.fail({ error: 12, errorMessage: err.message }),
    )
  }
  return bridged
}
