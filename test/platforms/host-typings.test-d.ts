/**
 * Type tests (tsc only): each host's real object, as its own typings package declares it, is
 * accepted by that host's adapter, so `createAuth({ platform: douyinPlatform(tt) })` compiles in
 * a real project. The fakes are typed loosely (`Record<string, any>`), so they are checked by
 * behaviour (the other files here), not by these types.
 */
/// <reference types="@mini-types/my" />
/// <reference types="@dcloudio/types" />
import type * as TT from '@douyin-microapp/typings/types/api'
import type TaroNamespace from '@tarojs/taro'
import { alipayPlatform } from '../../src/platforms/alipay'
import { douyinPlatform } from '../../src/platforms/douyin'
import type { HostPlatform } from '../../src/platforms/host'
import { taroPlatform } from '../../src/platforms/taro'
import { uniPlatform, type UniLike } from '../../src/platforms/uni-app'
import type { Platform } from '../../src/base/platform'

declare const tt: typeof TT
declare const taro: typeof TaroNamespace
declare const uniFromTypings: Pick<UniNamespace.Uni, 'login' | 'request' | 'getStorageSync' | 'setStorageSync' | 'removeStorageSync' | 'getSystemInfoSync'>

export const douyin: HostPlatform = douyinPlatform(tt)
export const alipay: HostPlatform = alipayPlatform(my)
export const taroHost: HostPlatform = taroPlatform(taro)
const uniLike: UniLike = uniFromTypings
export const uniHost: HostPlatform = uniPlatform(uniLike)
// Every adapter's result is the core's Platform.
export const asPlatform: Platform = douyin
