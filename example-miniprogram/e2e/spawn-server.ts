/**
 * The example's server as child processes on free loopback ports, as `npm run example` runs it:
 * first the kit's fake WeChat API (its standalone process, accepting any wx.login code once, as
 * FAKE_WECHAT_ACCEPT_ANY_CODE=1 says), then the server pointed at it with WX_API_BASE:
 *
 * - `kind: 'example'` (default): the example's own server (example-miniprogram/server, fastify +
 *   the kit, with the avatar upload), run by tsx;
 * - `kind: 'bin'`: the bare `weapp-auth-server` bin (server/dist/bin.js, built), with its dev
 *   endpoints on (NODE_ENV=development, WEAPP_AUTH_DEV_ENDPOINTS=1).
 *
 * `kit: 'dist'` loads weapp-auth-server the way an installed package is loaded (the workspace link
 * to server/, its built dist/ — run `npm run build -w weapp-auth-server` first); `kit: 'src'`
 * (default) maps it to server/src through the e2e tsconfig's paths, so the jest tests need no build.
 *
 * `platform: 'douyin' | 'alipay' | 'qq'` also starts that host's fake API as its own process
 * (weapp-auth-server's testing/fake-host-main, adopting any well-formed login code once, as the fake
 * WeChat does) and configures the server's provider for it through the same variables the bin reads
 * (DOUYIN_*, ALIPAY_* with fresh RSA-2048 key pairs and an AES key, QQ_*).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as net from 'node:net'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

const REPO = path.join(__dirname, '..', '..')
/** The example's WeChat AppID: the server's WX_APPID, and what the fake wx reports (the SDK sends it with the login). */
export const APPID = 'wxexample0000001'
const SECRET = 'example-app-secret-for-the-fake-wechat'

/** The mini program host the run plays: which fake host API runs beside the fake WeChat. */
export type ExamplePlatform = 'weixin' | 'qq' | 'douyin' | 'alipay'
export const EXAMPLE_PLATFORMS: readonly ExamplePlatform[] = ['weixin', 'qq', 'douyin', 'alipay']

export interface SpawnedServer {
  url: string
  /** The fake WeChat API's base URL (its /__fake/stats has the call counts). */
  wechatUrl: string
  child: ChildProcess
  wechat: ChildProcess
  platform: ExamplePlatform
  /** The other host's fake API (platform other than 'weixin'): its base URL and process. */
  host: { url: string; child: ChildProcess } | null
  kind: 'example' | 'bin'
  /** Everything the server (and the fake WeChat) printed so far. */
  output(): string
  /** Stops both processes. */
  stop(): void
}

export interface SpawnOptions {
  kind?: 'example' | 'bin'
  kit?: 'src' | 'dist'
  /** Default 'weixin' (only the fake WeChat). */
  platform?: ExamplePlatform
}

const pemOf = (pair: ReturnType<typeof generateKeyPairSync>) => ({
  privateKey: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  publicKey: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
})

/** The fake host's environment and the server's provider variables for it. */
function hostSetup(platform: Exclude<ExamplePlatform, 'weixin'>): { fake: Record<string, string>; server: Record<string, string>; urlVar: string } {
  if (platform === 'douyin') {
    const ids = { DOUYIN_APPID: 'ttexample00000001', DOUYIN_SECRET: 'example-douyin-secret-for-the-fake' }
    // The application key pair of the console's 开发配置: Douyin encrypts phone numbers to its public key.
    const app = pemOf(generateKeyPairSync('rsa', { modulusLength: 2048 }))
    return { fake: { ...ids, DOUYIN_APP_PUBLIC_KEY: app.publicKey, FAKE_ACCEPT_ANY_CODE: '1' }, server: { ...ids, DOUYIN_PRIVATE_KEY: app.privateKey }, urlVar: 'DOUYIN_API_BASE' }
  }
  if (platform === 'qq') {
    const ids = { QQ_APPID: '1110000001', QQ_SECRET: 'example-qq-secret-for-the-fake' }
    return { fake: { ...ids, FAKE_ACCEPT_ANY_CODE: '1' }, server: ids, urlVar: 'QQ_API_BASE' }
  }
  // Alipay: the app's key pair (it signs requests), Alipay's (it signs answers), the AES key (phone numbers).
  const app = pemOf(generateKeyPairSync('rsa', { modulusLength: 2048 }))
  const alipay = pemOf(generateKeyPairSync('rsa', { modulusLength: 2048 }))
  const common = { ALIPAY_APP_ID: '2021000000000042', ALIPAY_AES_KEY: randomBytes(16).toString('base64') }
  return {
    fake: { ...common, ALIPAY_APP_PUBLIC_KEY: app.publicKey, FAKE_ALIPAY_PRIVATE_KEY: alipay.privateKey, FAKE_ACCEPT_ANY_CODE: '1' },
    server: { ...common, ALIPAY_PRIVATE_KEY: app.privateKey, ALIPAY_PUBLIC_KEY: alipay.publicKey },
    urlVar: 'ALIPAY_GATEWAY',
  }
}

function startProcess(name: string, args: string[], env: Record<string, string | undefined>, ready: RegExp, timeoutMs = 20000): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let done = false
    const timer = setTimeout(() => {
      done = true
      child.kill('SIGKILL')
      reject(new Error(`${name} did not start within ${timeoutMs / 1000} s:\n${out}`))
    }, timeoutMs)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = ready.exec(out)
      if (m && !done) {
        done = true
        clearTimeout(timer)
        resolve({ child, url: m[1], output: () => out })
      }
    })
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
    child.on('exit', (code, signal) => {
      if (done) return
      done = true
      clearTimeout(timer)
      reject(new Error(`${name} exited (${signal || 'code ' + code}) before it started:\n${out}`))
    })
  })
}

function kill(child: ChildProcess): void {
  child.removeAllListeners('exit')
  if (child.exitCode === null && child.signalCode === null) child.kill()
}

/** A port nobody listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

export async function spawnServer(env: Record<string, string> = {}, options: SpawnOptions = {}): Promise<SpawnedServer> {
  const kind = options.kind || 'example'
  const kit = options.kit || 'src'
  const serverDist = path.join(REPO, 'server', 'dist')
  if ((kit === 'dist' || kind === 'bin') && !fs.existsSync(path.join(serverDist, 'bin.js'))) {
    throw new Error('server/dist is missing: run npm run build -w weapp-auth-server first')
  }
  // tsx resolves weapp-auth-server through the e2e tsconfig's paths (server/src) in 'src' mode.
  const tsx = kit === 'src' ? { TSX_TSCONFIG_PATH: path.join(__dirname, 'tsconfig.json') } : {}
  const wechatArgs = kit === 'dist' ? [path.join(serverDist, 'testing', 'fake-wechat-main.js')] : ['--import', 'tsx', path.join(REPO, 'server', 'src', 'testing', 'fake-wechat-main.ts')]
  const platform = options.platform || 'weixin'
  if (!EXAMPLE_PLATFORMS.includes(platform)) throw new Error(`platform must be one of ${EXAMPLE_PLATFORMS.join(', ')}, got ${JSON.stringify(platform)}`)
  const wechat = await startProcess('the fake WeChat API', wechatArgs, { PORT: '0', WX_APPID: APPID, WX_SECRET: SECRET, FAKE_WECHAT_ACCEPT_ANY_CODE: '1', ...tsx }, /fake wechat: (http:\/\/127\.0\.0\.1:\d+)/)
  // The default store, SQLite, in a folder of this run's own, removed by stop() (and at exit).
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-example-'))
  const removeData = () => fs.rmSync(dataDir, { recursive: true, force: true })
  process.once('exit', removeData)
  let common: Record<string, string> = { PORT: '0', WX_APPID: APPID, WX_SECRET: SECRET, WX_API_BASE: wechat.url, SQLITE_PATH: path.join(dataDir, 'weapp-auth.db') }
  let host: Awaited<ReturnType<typeof startProcess>> | null = null
  let server: Awaited<ReturnType<typeof startProcess>>
  try {
    if (platform !== 'weixin') {
      const setup = hostSetup(platform)
      const hostArgs = kit === 'dist' ? [path.join(serverDist, 'testing', 'fake-host-main.js')] : ['--import', 'tsx', path.join(REPO, 'server', 'src', 'testing', 'fake-host-main.ts')]
      host = await startProcess(`the fake ${platform} API`, hostArgs, { PORT: '0', FAKE_HOST: platform, ...setup.fake, ...tsx }, new RegExp(`fake ${platform}: (http:\\/\\/127\\.0\\.0\\.1:\\d+)`))
      common = { ...common, ...setup.server, [setup.urlVar]: platform === 'alipay' ? host.url + '/gateway.do' : host.url }
      // Douyin's open platform (client_token, which the nickname's text check needs) is on the same fake.
      if (platform === 'douyin') common.DOUYIN_OPEN_API_BASE = host.url
    }
    // Avatar URLs are built from PUBLIC_URL (never the Host header), so the server needs its port up front.
    const binPort = await freePort()
    server =
      kind === 'bin'
        ? await startProcess(
            'weapp-auth-server (bin)',
            [path.join(serverDist, 'bin.js')],
            {
              ...common,
              PORT: String(binPort),
              PUBLIC_URL: `http://127.0.0.1:${binPort}`,
              UPLOAD_DIR: path.join(dataDir, 'uploads'),
              HOST: '127.0.0.1',
              NODE_ENV: 'development',
              WEAPP_AUTH_DEV_ENDPOINTS: '1',
              JWT_SECRET: randomBytes(32).toString('hex'),
              REDIS_URL: '',
              ...env,
            },
            /"url":"(http:\/\/127\.0\.0\.1:\d+)"/, // its "listening" line
          )
        : await startProcess(
            'the example server',
            ['--import', 'tsx', path.join(REPO, 'example-miniprogram', 'server', 'src', 'main.ts')],
            { ...common, PORT: String(binPort), PUBLIC_URL: `http://127.0.0.1:${binPort}`, UPLOAD_DIR: path.join(dataDir, 'uploads'), EXAMPLE_DEV_ENDPOINTS: '1', ...tsx, ...env },
            /example server: (http:\/\/127\.0\.0\.1:\d+)/,
          )
  } catch (err) {
    kill(wechat.child)
    if (host) kill(host.child)
    removeData()
    throw err
  }
  const hostProcess = host
  return {
    url: server.url,
    wechatUrl: wechat.url,
    child: server.child,
    wechat: wechat.child,
    platform,
    host: hostProcess ? { url: hostProcess.url, child: hostProcess.child } : null,
    kind,
    output: () =>
      server.output() +
      (wechat.output().trim() ? '\n--- fake wechat ---\n' + wechat.output() : '') +
      (hostProcess && hostProcess.output().trim() ? `\n--- fake ${platform} ---\n` + hostProcess.output() : ''),
    stop() {
      kill(server.child)
      kill(wechat.child)
      if (hostProcess) kill(hostProcess.child)
      removeData()
    },
  }
}
