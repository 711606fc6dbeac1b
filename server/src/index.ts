/**
 * weapp-auth-server: the server half of weapp-auth. `createAuthServer(options)` is the
 * framework-free core; `memoryStore()` (one process) and `redisStore(url | client)` (many
 * instances) keep its state. The fastify plugin is `weapp-auth-server/fastify`; the fake WeChat
 * API for tests is `weapp-auth-server/testing`.
 */
export { createAuthServer } from './auth-server'
export { memoryStore } from './memory-store'
export { redisStore } from './redis-store'
export { storeUsers, DEFAULT_USER_FIELDS } from './users'
export type { StoreUser, StoreUserRepository } from './users'
export * from './errors'
export type * from './types'
export type * from './store'
export { qqProvider, douyinProvider, alipayProvider, providersFromEnv, DOUYIN_GUEST_PREFIX } from './providers'
export type { QqProviderOptions, DouyinProviderOptions, AlipayProviderOptions } from './providers'
