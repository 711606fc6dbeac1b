/** Code-exchange providers for the other mini program hosts (issue 12). WeChat's is built into createAuthServer. */
export { qqProvider } from './qq'
export type { QqProviderOptions } from './qq'
export { douyinProvider, DOUYIN_GUEST_PREFIX } from './douyin'
export type { DouyinProviderOptions } from './douyin'
export { alipayProvider, alipaySignContent, alipayTimestamp } from './alipay'
export type { AlipayProviderOptions } from './alipay'
export { providersFromEnv } from './from-env'
export { decryptAlipayPhone, alipayAesKey } from './alipay-phone'
