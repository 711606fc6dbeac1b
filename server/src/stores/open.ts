/**
 * `openStore(choice)`: the one place that maps a configured choice (config.ts: REDIS_URL, STORE,
 * SQLITE_PATH) onto an engine of this folder. A new engine is a file here and a line below.
 */
import { memoryStore } from './memory'
import { redisStore } from './redis'
import { sqliteStore } from './sqlite'
import type { Store } from './store'

export type StoreChoice = { kind: 'redis'; url: string } | { kind: 'sqlite'; path: string } | { kind: 'memory' }

export function openStore(choice: StoreChoice): Store {
  switch (choice.kind) {
    case 'redis':
      return redisStore(choice.url)
    case 'sqlite':
      return sqliteStore(choice.path)
    case 'memory':
      return memoryStore()
  }
}
