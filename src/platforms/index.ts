/**
 * `weapp-auth/platforms`: one adapter per host, for `createAuth({ platform })` (from `weapp-auth/core`
 * an app bundles only the adapter it imports), and the detection `weapp-auth` uses by default.
 * Facts behind each adapter, with sources: docs/platforms.md.
 */
export { weixinPlatform } from './weixin'
export { qqPlatform } from './qq'
export type { QqLike } from './qq'
export { douyinPlatform } from './douyin'
export type { TtLike } from './douyin'
export { alipayPlatform } from './alipay'
export type { MyLike, AlipayPlatformOptions } from './alipay'
export { uniPlatform } from './uni-app'
export type { UniLike, UniPlatformOptions } from './uni-app'
export { taroPlatform } from './taro'
export type { TaroLike, TaroPlatformOptions } from './taro'
export { detectPlatform } from './detect'
export type { HostName, HostPlatform, PhoneCredential, HostLoginResult } from './host'
