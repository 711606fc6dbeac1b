/**
 * Runs the fake WeChat API as its own process (for the multi-instance benchmark and the example):
 *
 *   node dist/testing/fake-wechat-main.js      (or: tsx src/testing/fake-wechat-main.ts)
 *
 * Environment: PORT (default 0 = a free port), WX_APPID, WX_SECRET, FAKE_WECHAT_ACCEPT_ANY_CODE=1.
 * Prints exactly one line, `fake wechat: http://127.0.0.1:<port>`, once it listens; SIGTERM or
 * SIGINT closes it and exits 0. Other processes drive it over HTTP under /__fake/… (codes,
 * phone-codes, expire-access-token, fault, stats, reset-calls, encrypt).
 */
import { createFakeWechat } from './fake-wechat'
import { serveUntilSignal } from './serve-until-signal'

function fatal(message: string): never {
  process.stderr.write(`fake wechat: ${message}\n`)
  process.exit(1)
}

async function main(): Promise<void> {
  const portText = process.env.PORT ?? '0'
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) fatal(`PORT must be 0–65535, got ${JSON.stringify(portText)}`)
  const anyCode = process.env.FAKE_WECHAT_ACCEPT_ANY_CODE ?? ''
  if (!['', '0', '1', 'true', 'false'].includes(anyCode)) fatal('FAKE_WECHAT_ACCEPT_ANY_CODE must be 1 or 0')
  const fake = await createFakeWechat({
    port: Number(portText),
    appid: process.env.WX_APPID || undefined,
    secret: process.env.WX_SECRET || undefined,
    acceptAnyCode: anyCode === '1' || anyCode === 'true',
  }).catch((err: Error) => fatal(err.message))
  serveUntilSignal('fake wechat', fake)
}

void main()
