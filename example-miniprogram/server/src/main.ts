/** `npm run example:server`: the reference server for WeChat DevTools, on loopback. */
import { startServer } from './app'

const port = Number(process.env.PORT || 3000)
startServer({ port, logger: process.env.EXAMPLE_QUIET !== '1', uploadDir: process.env.UPLOAD_DIR || undefined }).then(
  (s) => {
    console.log(`\nweapp-auth example server: ${s.url}`)
    console.log(s.wechat.mocked ? 'code2Session: built-in mock (set WX_APPID and WX_SECRET for the real one)' : 'code2Session: WeChat')
    console.log('\nIn WeChat DevTools, for this plain-http loopback server during development:')
    console.log('  Details → Local settings → check "Does not verify valid domain names, web-view (business domain names), TLS versions and HTTPS certificates"')
    console.log(`  and set example-miniprogram/miniprogram/config.ts baseURL to ${s.url}\n`)
  },
  (err) => {
    console.error('could not start:', err.message)
    process.exit(1)
  },
)
