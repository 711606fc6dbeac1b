/**
 * The phone number behind a Douyin getPhoneNumber `code` (base library 3.51.0+), once Douyin's
 * server API has answered it: per the "new way" guide, the result is RSA-encrypted with the
 * application public key the developer configured in the console (开发配置) and is opened with
 * the matching application private key
 * (https://developer.open-douyin.com/docs/resource/zh-CN/mini-app/develop/tutorial/open-capabilities/general-capabilities/new-phone-method).
 * The guide names no padding. Douyin's other RSA page uses PKCS#1 v1.5
 * (https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/data-open-service/douyin-interest/third-party-encryption),
 * so that is the default ('pkcs1'); 'oaep' (OAEP, SHA-1 and MGF1-SHA-1, the usual
 * "RSA/ECB/OAEPWithSHA-1AndMGF1Padding") is there in case Douyin uses OAEP. A ciphertext longer
 * than one RSA block is read as consecutive blocks (the usual way to RSA-encrypt more than one
 * block holds), each decrypted on its own. UNVERIFIED: the exact answer could not be read.
 *
 * Why PKCS#1 v1.5 goes through node-forge: Node 20 refuses `crypto.privateDecrypt` with
 * RSA_PKCS1_PADDING (CVE-2023-46809, the Marvin attack: a server that decrypts ciphertexts a
 * client chose, and answers differently, or in measurably different time, when the padding is bad,
 * is a padding oracle that lets the client decrypt or forge). That attack needs the attacker to
 * choose the ciphertext. Here nobody can: the client sends only the code, and the ciphertext
 * comes from Douyin's own API, over TLS, in the answer to a request this server made. So PKCS#1
 * v1.5 is safe here, and its padding is removed by node-forge (a well-kept library), not by hand.
 *
 * How: OpenSSL does the RSA operation (`privateDecrypt` with RSA_NO_PADDING, which Node allows:
 * constant time, ~1 ms), and forge's own EME-PKCS1-v1_5 decoding (`decrypt(…, 'RSAES-PKCS1-V1_5')`)
 * reads the block, through a forge key of the same modulus whose private exponent is 1 (so forge's
 * modular exponentiation hands the block on unchanged). forge doing the whole RSA operation in
 * JavaScript takes ~100 ms of the event loop per block, which a burst of phone numbers would feel.
 */
import { constants, createPrivateKey, privateDecrypt, type KeyObject } from 'node:crypto'
import { jsbn, pki } from 'node-forge'
import { ConfigError, UpstreamError } from '../errors'
import { requiredString } from './provider-options'

export type DouyinRsaPadding = 'pkcs1' | 'oaep'

export const DOUYIN_RSA_PADDINGS: readonly DouyinRsaPadding[] = ['pkcs1', 'oaep']

/** The application private key, loaded once at construction. */
export interface DouyinAppKey {
  key: KeyObject
  /** forge's PKCS#1 v1.5 decoding for this modulus (private exponent 1: see the file comment). */
  unpadder: pki.rsa.PrivateKey
  /** The modulus length in bytes: one RSA block. */
  blockBytes: number
}

/** The longest `data` accepted from the phone API (a few RSA blocks: the plaintext is ~150 bytes). */
const MAX_CIPHERTEXT_CHARS = 16 * 1024
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

function base64Body(text: string): Buffer | null {
  const compact = text.replace(/\s+/g, '')
  return BASE64.test(compact) ? Buffer.from(compact, 'base64') : null
}

function checkRsa(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') throw new ConfigError(`douyinProvider: privateKey is a ${key.asymmetricKeyType ?? 'non-RSA'} key; Douyin encrypts the phone number with an RSA key`)
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
  if (bits < 2048) throw new ConfigError(`douyinProvider: privateKey is RSA-${bits}; use a key pair of 2048 bits or more`)
  return key
}

function readKey(text: string): KeyObject {
  if (text.includes('-----BEGIN')) {
    if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) throw new ConfigError("douyinProvider: privateKey is a public key; pass the application's private key (the one whose public key is set in the Douyin console, 开发配置)")
    return checkRsa(createPrivateKey(text))
  }
  const der = base64Body(text)
  if (!der) throw new ConfigError('douyinProvider: privateKey is neither a PEM nor a base64 key')
  for (const type of ['pkcs8', 'pkcs1'] as const) {
    try {
      return checkRsa(createPrivateKey({ key: der, format: 'der', type }))
    } catch (err) {
      if (err instanceof ConfigError) throw err
    }
  }
  throw new ConfigError('douyinProvider: privateKey is base64 but not a PKCS#8 or PKCS#1 RSA private key')
}

/** The application private key: a PEM (PKCS#8 or PKCS#1) or its bare base64 body. A ConfigError names what is wrong. */
export function loadDouyinAppKey(value: unknown): DouyinAppKey {
  const text = requiredString('douyinProvider', 'privateKey', value)
  let key: KeyObject
  try {
    key = readKey(text)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`douyinProvider: privateKey is not a readable private key (${(err as Error).message})`)
  }
  const n = new jsbn.BigInteger(Buffer.from(key.export({ format: 'jwk' }).n as string, 'base64url').toString('hex'), 16)
  // No CRT parameters: forge then computes x^d mod n, here x^1 = x (the block OpenSSL deciphered).
  const none = null as unknown as jsbn.BigInteger
  const unpadder = pki.rsa.setPrivateKey(n, jsbn.BigInteger.ONE, jsbn.BigInteger.ONE, none, none, none, none, none)
  return { key, unpadder, blockBytes: Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8) }
}

export function checkRsaPadding(value: unknown): DouyinRsaPadding {
  if (value === undefined) return 'pkcs1'
  if (!DOUYIN_RSA_PADDINGS.includes(value as DouyinRsaPadding)) throw new ConfigError(`douyinProvider: rsaPadding must be 'pkcs1' or 'oaep' (got ${JSON.stringify(value)})`)
  return value as DouyinRsaPadding
}

function decryptBlock(appKey: DouyinAppKey, padding: DouyinRsaPadding, block: Buffer): Buffer {
  if (padding === 'oaep') return privateDecrypt({ key: appKey.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, block)
  // Safe without constant-time padding checks: see the file comment (the ciphertext is Douyin's, never a client's).
  const encoded = privateDecrypt({ key: appKey.key, padding: constants.RSA_NO_PADDING }, block)
  return Buffer.from(appKey.unpadder.decrypt(encoded.toString('binary'), 'RSAES-PKCS1-V1_5'), 'binary')
}

/**
 * The JSON object in the phone API's `data`: base64 of one or more RSA blocks. Every failure is a
 * 502 wechat_bad_response naming the likely cause (the client cannot choose this ciphertext, so
 * the detail is no oracle).
 */
export function openDouyinPhoneData(appKey: DouyinAppKey, padding: DouyinRsaPadding, data: unknown, api: string): Record<string, unknown> {
  const bad = (what: string) => new UpstreamError('wechat_bad_response', api, `Douyin ${api} ${what}`)
  if (typeof data !== 'string' || data === '' || data.length > MAX_CIPHERTEXT_CHARS) throw bad('answered without an encrypted phone number in data')
  const cipher = base64Body(data)
  if (!cipher || cipher.length === 0 || cipher.length % appKey.blockBytes !== 0) {
    throw bad(`answered data that is not RSA ciphertext for this privateKey (${cipher ? cipher.length : 0} bytes, not a multiple of ${appKey.blockBytes}): is privateKey the pair of the application public key set in the Douyin console (开发配置)?`)
  }
  const blocks: Buffer[] = []
  try {
    for (let at = 0; at < cipher.length; at += appKey.blockBytes) blocks.push(decryptBlock(appKey, padding, cipher.subarray(at, at + appKey.blockBytes)))
  } catch {
    throw bad(`answered a phone number that does not decrypt with privateKey (rsaPadding '${padding}'): is privateKey the pair of the application public key set in the Douyin console (开发配置)?`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.concat(blocks).toString('utf8'))
  } catch {
    parsed = undefined
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw bad(`answered a phone number that decrypts to no JSON object with privateKey (rsaPadding '${padding}'): a wrong privateKey or padding?`)
  }
  return parsed as Record<string, unknown>
}
