/**
 * Runs the fake QQ, Douyin or Alipay API as its own process (for the example's end-to-end run), as
 * fake-wechat-main.ts does for WeChat:
 *
 *   FAKE_HOST=douyin node dist/testing/fake-host-main.js      (or: tsx src/testing/fake-host-main.ts)
 *
 * Environment: FAKE_HOST (qq | douyin | alipay), PORT (default 0 = a free port),
 * FAKE_ACCEPT_ANY_CODE=1 (adopt any well-formed login code, single use), and the host's own:
 * - qq: QQ_APPID, QQ_SECRET (defaults: the fake's);
 * - douyin: DOUYIN_APPID, DOUYIN_SECRET (defaults: the fake's), DOUYIN_APP_PUBLIC_KEY (the application
 *   public key, PEM, phone codes' numbers are encrypted with; optional: without it the fake makes a
 *   pair of its own, and the server cannot read its phone codes);
 * - alipay: ALIPAY_APP_ID, ALIPAY_APP_PUBLIC_KEY (the app's public key, PEM: requests must verify with
 *   it; required), FAKE_ALIPAY_PRIVATE_KEY (Alipay's private key, PEM, required: the server is given its
 *   public key), ALIPAY_AES_KEY (base64 of 16 bytes; phone numbers are encrypted with it).
 * Prints exactly one line, `fake <host>: http://127.0.0.1:<port>`, once it listens; SIGTERM or SIGINT
 * closes it and exits 0. Other processes drive it over HTTP under /__fake/… (codes, stats,
 * encrypt-phone on QQ and Douyin, phone-codes and invalidate-tokens on Douyin, phone-response on Alipay).
 */
import { createFakeAlipay } from './fake-alipay'
import { createFakeDouyin } from './fake-douyin'
import { createFakeQq } from './fake-qq'
import { serveUntilSignal } from './serve-until-signal'

function fatal(message: string): never {
  process.stderr.write(`fake host: ${message}\n`)
  process.exit(1)
}

function env(name: string): string | undefined {
  const v = process.env[name]
  return v === undefined || v.trim() === '' ? undefined : v
}

async function main(): Promise<void> {
  const host = env('FAKE_HOST')
  if (host !== 'qq' && host !== 'douyin' && host !== 'alipay') fatal(`FAKE_HOST must be qq, douyin or alipay, got ${JSON.stringify(host ?? '')}`)
  const portText = process.env.PORT ?? '0'
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) fatal(`PORT must be 0–65535, got ${JSON.stringify(portText)}`)
  const anyCode = process.env.FAKE_ACCEPT_ANY_CODE ?? ''
  if (!['', '0', '1', 'true', 'false'].includes(anyCode)) fatal('FAKE_ACCEPT_ANY_CODE must be 1 or 0')
  const port = Number(portText)
  const acceptAnyCode = anyCode === '1' || anyCode === 'true'
  let fake: { url: string; close(): Promise<void> }
  try {
    if (host === 'qq') {
      fake = await createFakeQq({ port, appid: env('QQ_APPID'), secret: env('QQ_SECRET'), acceptAnyCode })
    } else if (host === 'douyin') {
      fake = await createFakeDouyin({ port, appid: env('DOUYIN_APPID'), secret: env('DOUYIN_SECRET'), appPublicKey: env('DOUYIN_APP_PUBLIC_KEY'), acceptAnyCode })
    } else {
      const appPublicKey = env('ALIPAY_APP_PUBLIC_KEY')
      const alipayPrivateKey = env('FAKE_ALIPAY_PRIVATE_KEY')
      if (!appPublicKey || !alipayPrivateKey) fatal('FAKE_HOST=alipay needs ALIPAY_APP_PUBLIC_KEY and FAKE_ALIPAY_PRIVATE_KEY (PEM)')
      fake = await createFakeAlipay({ port, appId: env('ALIPAY_APP_ID'), appPublicKey, alipayPrivateKey, aesKey: env('ALIPAY_AES_KEY'), acceptAnyCode })
    }
  } catch (err) {
    fatal((err as Error).message)
  }
  serveUntilSignal(`fake ${host}`, fake)
}

void main()
