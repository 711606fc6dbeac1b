/**
 * `npm run example:server`: the example's server for WeChat DevTools, on loopback.
 *
 * With WX_APPID and WX_SECRET (and no WX_API_BASE) it talks to WeChat. Without them it starts the
 * kit's fake WeChat API in this process (weapp-auth-server/testing, accepting any wx.login code
 * once), so the example works offline; WX_API_BASE points it at a fake WeChat elsewhere.
 */
import { createFakeWechat } from 'weapp-auth-server/testing'
import { startServer } from './app'

async function main() {
  const port = Number(process.env.PORT || 3000)
  let wechat = process.env.WX_API_BASE ? `WeChat API at ${process.env.WX_API_BASE}` : 'WeChat (api.weixin.qq.com)'
  let fake: Awaited<ReturnType<typeof createFakeWechat>> | undefined
  if (!process.env.WX_API_BASE && !(process.env.WX_APPID && process.env.WX_SECRET)) {
    fake = await createFakeWechat({ acceptAnyCode: true })
    process.env.WX_APPID = fake.appid
    process.env.WX_SECRET = fake.secret
    process.env.WX_API_BASE = fake.url
    wechat = `a fake WeChat API at ${fake.url} (set WX_APPID and WX_SECRET for the real one)`
  }
  // Avatar URLs start with PUBLIC_URL; for a local run on a fixed port, this server's own address.
  if (!process.env.PUBLIC_URL && port !== 0) process.env.PUBLIC_URL = `http://127.0.0.1:${port}`
  const s = await startServer({
    port,
    logger: process.env.EXAMPLE_QUIET !== '1',
    uploadDir: process.env.UPLOAD_DIR || undefined,
    maxUploadBytes: Number(process.env.MAX_UPLOAD_BYTES) || undefined,
  })
  const close = () => s.close().then(() => (fake ? fake.close() : undefined))
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => close().then(() => process.exit(0), () => process.exit(1)))
  console.log(`\nweapp-auth example server: ${s.url}`)
  console.log(`code2Session and the phone number: ${wechat}`)
  console.log('\nIn WeChat DevTools, for this plain-http loopback server during development:')
  console.log('  Details → Local settings → check "Does not verify valid domain names, web-view (business domain names), TLS versions and HTTPS certificates"')
  console.log(`  and set example-miniprogram/miniprogram/config.ts baseURL to ${s.url}\n`)
}

main().catch((err: Error) => {
  console.error('could not start:', err.message)
  process.exit(1)
})
