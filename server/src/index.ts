/**
 * weapp-auth-server: the server half of weapp-auth. `createAuthServer(options)` is the
 * framework-free core; `sqliteStore(path)` (one machine, kept in a file), `redisStore(url |
 * { cluster } | { sentinels, name } | client)` (many machines: one Redis, a Redis Cluster, Sentinel) and `memoryStore()` (tests: nothing kept) keep its state. The fastify plugin is `weapp-auth-server/fastify`; the fake WeChat
 * API for tests is `weapp-auth-server/testing`.
 */
export { createAuthServer } from './auth-server'
export { memoryStore } from './stores/memory'
export { redisStore } from './stores/redis'
export { sqliteStore, SQLITE_SCHEMA_VERSION } from './stores/sqlite'
export type { MemoryStore, MemoryStoreOptions } from './stores/memory'
export type { RedisStore, RedisStoreOptions, RedisTarget, RedisAddress } from './stores/redis'
export type { SqliteStore, SqliteStoreOptions } from './stores/sqlite'
export { storeUsers, DEFAULT_USER_FIELDS } from './users'
export { sqlUsers, migrateSqlUsers, openSqlDatabase, sqlDialectOfUrl } from './users-sql'
export type { SqlUserRepository, SqlUsersTables, SqlUsersDatabase, SqlDialectName } from './users-sql'
export { maskPhoneNumber } from './mask'
export type { StoreUser, StoreUserRepository, StoreUsersOptions, IdentityConflict } from './users'
export * from './errors'
export type * from './types'
export type * from './stores/store'
export { qqProvider, douyinProvider, alipayProvider, providersFromEnv, DOUYIN_GUEST_PREFIX } from './providers'
export type { QqProviderOptions, DouyinProviderOptions, AlipayProviderOptions } from './providers'
