/**
 * `openStore(choice)`: the one place that maps a configured choice (config.ts: REDIS_URL,
 * REDIS_CLUSTER_NODES, REDIS_SENTINELS, STORE, SQLITE_PATH) onto an engine of this folder. A new
 * engine is a file here and a line below.
 */
import { memoryStore } from './memory'
import { redisStore, type RedisAddress } from './redis'
import { sqliteStore } from './sqlite'
import type { Store } from './store'

export type StoreChoice =
  | { kind: 'redis'; url: string; clusterProxy?: boolean }
  | { kind: 'redis-cluster'; nodes: RedisAddress[]; password?: string }
  | { kind: 'redis-sentinel'; sentinels: RedisAddress[]; name: string; password?: string }
  | { kind: 'sqlite'; path: string }
  | { kind: 'memory' }

export function openStore(choice: StoreChoice): Store {
  switch (choice.kind) {
    case 'redis':
      return redisStore(choice.url, choice.clusterProxy ? { clusterKeys: true } : {})
    case 'redis-cluster':
      return redisStore({ cluster: choice.nodes, ...(choice.password ? { password: choice.password } : {}) })
    case 'redis-sentinel':
      return redisStore({ sentinels: choice.sentinels, name: choice.name, ...(choice.password ? { password: choice.password } : {}) })
    case 'sqlite':
      return sqliteStore(choice.path)
    case 'memory':
      return memoryStore()
  }
}
