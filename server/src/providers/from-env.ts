/**
 * The other hosts' providers from environment variables, for the env-configured server (the bin):
 * a host is on when its id and secret are set, and a half-configured host is a ConfigError naming
 * the variable, never a silent skip.
 *
 *   QQ_APPID, QQ_SECRET, QQ_API_BASE?                 → qqProvider
 *   DOUYIN_APPID, DOUYIN_SECRET, DOUYIN_API_BASE?     → douyinProvider
 *     DOUYIN_OPEN_API_BASE? (client_token, phone codes; default https://open.douyin.com),
 *     DOUYIN_PRIVATE_KEY? (the application private key, PEM / base64 / file: needed only to read
 *     getPhoneNumber codes), DOUYIN_RSA_PADDING? ('pkcs1', the default, or 'oaep')
 *   ALIPAY_APP_ID, ALIPAY_PRIVATE_KEY, ALIPAY_PUBLIC_KEY, ALIPAY_GATEWAY?, ALIPAY_AES_KEY?  → alipayProvider
 *     (each RSA key a PEM, its bare base64 body, or the path of a file holding either; the AES key,
 *     base64 of 16 bytes, is needed only to read phone numbers)
 *
 * `options.timeoutMs` is each provider's time limit per call (default 5000 ms); the bin passes
 * UPSTREAM_TIMEOUT_MS, which also sets WeChat's.
 */
import { existsSync, readFileSync } from 'node:fs'
import { ConfigError } from '../errors'
import type { HostPlatform, SessionProvider } from '../types'
import { alipayProvider } from './alipay'
import { douyinProvider } from './douyin'
import { qqProvider } from './qq'

type Env = Record<string, string | undefined>

function set(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value
}

/** A key given inline (PEM or base64) or as a file path. */
function keyText(env: Env, name: string): string {
  const value = set(env, name) as string
  if (value.includes('-----BEGIN') || /^[A-Za-z0-9+/=\s]{100,}$/.test(value)) return value
  if (!existsSync(value)) throw new ConfigError(`${name} is neither a PEM, a base64 key, nor an existing file`)
  try {
    return readFileSync(value, 'utf8')
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${value} (${(err as Error).message})`)
  }
}

/** Runs a factory and prefixes its ConfigError with the variables it came from. */
function build(names: string, make: () => SessionProvider): SessionProvider {
  try {
    return make()
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${names}: ${err.message}`)
    throw err
  }
}

function group(env: Env, required: string[]): boolean {
  const present = required.filter((n) => set(env, n) !== undefined)
  if (present.length === 0) return false
  const missing = required.filter((n) => set(env, n) === undefined)
  if (missing.length > 0) throw new ConfigError(`${missing.join(', ')} must be set too (${present.join(', ')} ${present.length === 1 ? 'is' : 'are'} set)`)
  return true
}

export function providersFromEnv(env: Env, options: { timeoutMs?: number } = {}): Partial<Record<HostPlatform, SessionProvider>> {
  const providers: Partial<Record<HostPlatform, SessionProvider>> = {}
  const { timeoutMs } = options
  if (group(env, ['QQ_APPID', 'QQ_SECRET'])) {
    providers.qq = build('QQ_*', () => qqProvider({ appid: set(env, 'QQ_APPID') as string, secret: set(env, 'QQ_SECRET') as string, apiBase: set(env, 'QQ_API_BASE'), timeoutMs }))
  }
  if (group(env, ['DOUYIN_APPID', 'DOUYIN_SECRET'])) {
    const privateKey = set(env, 'DOUYIN_PRIVATE_KEY') === undefined ? undefined : keyText(env, 'DOUYIN_PRIVATE_KEY')
    providers.douyin = build('DOUYIN_*', () =>
      douyinProvider({
        appid: set(env, 'DOUYIN_APPID') as string,
        secret: set(env, 'DOUYIN_SECRET') as string,
        apiBase: set(env, 'DOUYIN_API_BASE'),
        openApiBase: set(env, 'DOUYIN_OPEN_API_BASE'),
        privateKey,
        rsaPadding: set(env, 'DOUYIN_RSA_PADDING') as 'pkcs1' | 'oaep' | undefined,
        timeoutMs,
      }),
    )
  }
  if (group(env, ['ALIPAY_APP_ID', 'ALIPAY_PRIVATE_KEY', 'ALIPAY_PUBLIC_KEY'])) {
    const privateKey = keyText(env, 'ALIPAY_PRIVATE_KEY')
    const alipayPublicKey = keyText(env, 'ALIPAY_PUBLIC_KEY')
    providers.alipay = build('ALIPAY_*', () =>
      alipayProvider({ appId: set(env, 'ALIPAY_APP_ID') as string, privateKey, alipayPublicKey, gateway: set(env, 'ALIPAY_GATEWAY'), aesKey: set(env, 'ALIPAY_AES_KEY'), timeoutMs }),
    )
  }
  return providers
}
