/**
 * A faithful fake `qq` (QQ mini programs): QQ's calls have wx's names and shapes (errMsg,
 * statusCode / header, storage by key), so this is the wx fake's engine under QQ's name, without
 * the calls QQ does not document (the privacy-contract calls, encrypted storage, chooseAvatar).
 * Sources: docs/platforms.md.
 */
import type { QqLike } from '../platforms/qq'
import { createFakeWx, type FakeWx, type FakeWxOptions } from './fake-wx'
import { asHost, hostObject, type FakeHostObject } from './fake-host'

export interface FakeQq extends FakeWx {
  /** The `qq` object: pass it as `platform` (wx's shapes), to `qqPlatform`, or set it as `global.qq`. */
  readonly qq: FakeHostObject<QqLike>
}

const QQ_NAMES = [
  'login', 'checkSession', 'request', 'uploadFile', 'getStorageSync', 'setStorageSync', 'removeStorageSync',
  'getStorage', 'setStorage', 'removeStorage', 'getAccountInfoSync', 'canIUse', 'getSetting', 'authorize',
  'openSetting', 'showModal', 'getSystemInfoSync',
]

export function createFakeQq(options: FakeWxOptions = {}): FakeQq {
  const base = createFakeWx(Object.assign({}, options, { baseLibrary: options.baseLibrary || '1.60.0' }))
  const strip = (name: string) => (o: any) => base.wx[name](Object.assign({}, o, { encrypt: undefined }))
  const made = hostObject(base, QQ_NAMES, { getStorage: strip('getStorage'), setStorage: strip('setStorage') }, options.missing)
  made.host.canIUse = (schema: string) => !/encrypt/.test(schema) && String(schema).split('.')[0] in made.host
  return asHost<FakeQq>(base, 'qq', made)
}
