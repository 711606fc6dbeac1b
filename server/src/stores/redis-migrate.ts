/**
 * `migrateRedisToClusterLayout({ from, to })`: copies the data of a single Redis (the historical
 * key names) into the cluster layout (hash-tagged names: a Redis Cluster, or a managed cluster
 * edition reached through its proxy), so moving to a cluster keeps every user, id, session and
 * revocation. The store's generation is copied too, so the access and refresh tokens already
 * issued stay valid: nobody has to log in again.
 *
 * Each key is copied whole with DUMP and RESTORE, with its remaining time to live. The only keys
 * that change more than their name are refresh tokens: in the cluster layout a token's record
 * lives in its family's slot, and a pointer `refresh-family:<hash>` (same lifetime) leads to it.
 *
 * Refused, before anything is written:
 * - a source that is itself a cluster node, or whose keys are already in the cluster layout;
 * - a source with other clients connected (a server still running would write what the copy
 *   misses), unless `ignoreClients` (monitoring tools);
 * - a source without weapp-auth data under the prefix, or with keys of a kind this version does
 *   not know;
 * - a target that holds other weapp-auth data (another generation, or keys without one).
 * A target holding the same generation is a copy that stopped half-way: it is resumed (every key
 * written again). After the copy the source is scanned again: a key that appeared meanwhile means
 * something still writes to it, and the migration fails, saying so.
 */
import type Redis from 'ioredis'
import type { Cluster } from 'ioredis'
import { redisKeys, type RedisKeys } from './redis-keys'

export class RedisMigrationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RedisMigrationError'
  }
}

export interface MigrateRedisOptions {
  /** The single Redis holding the data (historical key names). */
  from: Redis
  /** Where the data goes, in the cluster layout: a Cluster client, or a client of a managed cluster's proxy. */
  to: Redis | Cluster
  /** The stores' key prefix. Default `weapp-auth:`. */
  prefix?: string
  /** Copy although other clients are connected to the source (only when they are not weapp-auth servers). */
  ignoreClients?: boolean
  /** Keys read per batch. Default 500. */
  batch?: number
}

export interface MigrateRedisResult {
  /** Keys written to the target (refresh-token pointers included). */
  written: number
  /** Keys of the source, by kind (`user`, `refresh`, `identity`, …). */
  byKind: Record<string, number>
  /** Keys that expired between the scan and their copy. */
  expired: number
  /** The data's generation, the same on both sides now. */
  generation: string
  /** The target already held this generation: a copy that had stopped was finished. */
  resumed: boolean
}

/** The kinds of key the store writes (the part of the name after the prefix, up to the first `:`). */
const KINDS = new Set([
  'refresh',
  'family-revoked',
  'family',
  'jti-revoked',
  'not-before',
  'session',
  'session-owner',
  'access-token',
  'lock',
  'hit',
  'identity',
  'user',
  'user-identities',
  'user-sessions',
  'user-not-before',
  'generation',
])

/** The kinds whose names carry, in the cluster layout, the entity they belong to as a hash tag. */
const TAGGED_KINDS = new Map<string, 'family' | 'familyState' | 'sessionOwner' | 'user' | 'userIdentities' | 'userSessions' | 'userNotBefore'>([
  ['family-revoked', 'family'],
  ['family', 'familyState'],
  ['session-owner', 'sessionOwner'],
  ['user', 'user'],
  ['user-identities', 'userIdentities'],
  ['user-sessions', 'userSessions'],
  ['user-not-before', 'userNotBefore'],
])

/** The key's name in the cluster layout. The other kinds (one key per step: identities, session_keys, counters, marks, the generation) keep theirs. */
function taggedName(key: string, prefix: string, tagged: RedisKeys): string {
  const rest = key.slice(prefix.length)
  const colon = rest.indexOf(':')
  const name = TAGGED_KINDS.get(rest.slice(0, colon))
  return name ? tagged[name](rest.slice(colon + 1)) : key
}

/** A SCAN pattern matching the keys that start with `prefix` (its glob characters escaped). */
function patternOf(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`
}

async function scanAll(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    keys.push(...batch)
    cursor = next
  } while (cursor !== '0')
  return keys
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return typeof (client as Cluster).nodes === 'function' && (client as Cluster).isCluster === true
}

/** Whether the target holds any key under the prefix (every master of a cluster is asked). */
async function holdsAnyKey(client: Redis | Cluster, pattern: string): Promise<boolean> {
  for (const node of isCluster(client) ? client.nodes('master') : [client]) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      if (keys.length > 0) return true
      cursor = next
    } while (cursor !== '0')
  }
  return false
}

export async function migrateRedisToClusterLayout(options: MigrateRedisOptions): Promise<MigrateRedisResult> {
  const { from, to } = options
  const prefix = options.prefix ?? 'weapp-auth:'
  const batch = options.batch ?? 500
  const pattern = patternOf(prefix)
  const tagged = redisKeys(prefix, true)

  // The source: one Redis, nothing else writing to it, data of this store in the historical layout.
  const info = await from.info('cluster').catch(() => '')
  if (/cluster_enabled:1/.test(info)) throw new RedisMigrationError('the source is a node of a Redis Cluster; give the single Redis the data is in (--from redis://host:port)')
  if (!options.ignoreClients) {
    const clients = String(await from.client('LIST')).split('\n').filter((line) => line.trim() !== '').length - 1
    if (clients > 0) {
      throw new RedisMigrationError(
        `${clients} other client${clients === 1 ? ' is' : 's are'} connected to the source Redis: stop every weapp-auth server first (what they write during the copy would be lost), then run again (--ignore-clients if they are only monitoring tools)`,
      )
    }
  }
  const generation = await from.get(tagged.generation)
  if (generation === null) throw new RedisMigrationError(`the source holds no weapp-auth data under the prefix "${prefix}" (no ${tagged.generation} key)`)

  const keys = await scanAll(from, pattern)
  const byKind: Record<string, number> = {}
  const unknown: string[] = []
  for (const key of keys) {
    const rest = key.slice(prefix.length)
    if (rest.includes('{') || rest.startsWith('refresh-family:')) {
      throw new RedisMigrationError(`the source is already in the cluster layout (key ${JSON.stringify(key.slice(0, 80))}); point a cluster-layout server at it as it is`)
    }
    const kind = rest === 'generation' ? 'generation' : rest.slice(0, rest.indexOf(':'))
    if (!KINDS.has(kind) || (kind !== 'generation' && rest.indexOf(':') < 0)) unknown.push(key)
    else byKind[kind] = (byKind[kind] ?? 0) + 1
  }
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 5).map((key) => JSON.stringify(key.slice(0, 80))).join(', ')
    throw new RedisMigrationError(`the source holds ${unknown.length} key${unknown.length === 1 ? '' : 's'} under "${prefix}" that this version does not write (${shown}${unknown.length > 5 ? ', …' : ''}): nothing was copied; remove them or use the prefix your servers use`)
  }

  // The target: empty under the prefix, or a copy of this same data that stopped half-way.
  const targetGeneration = await to.get(tagged.generation)
  if (targetGeneration !== null && targetGeneration !== generation) {
    throw new RedisMigrationError(`the target already holds other weapp-auth data (generation ${targetGeneration}, the source's is ${generation}): migrate into an empty cluster`)
  }
  const resumed = targetGeneration === generation
  if (!resumed && (await holdsAnyKey(to, pattern))) {
    throw new RedisMigrationError(`the target holds keys under "${prefix}" but no generation: migrate into an empty cluster`)
  }

  // The generation first: a copy that stops half-way is recognised (and resumed) by it.
  let written = 0
  let expired = 0
  const restore = async (key: string, ttl: number, dump: Buffer) => {
    if (resumed) await to.restore(key, ttl, dump, 'REPLACE')
    else await to.restore(key, ttl, dump)
    written++
  }
  const refreshPrefix = `${prefix}refresh:`
  const ordered = [tagged.generation, ...keys.filter((key) => key !== tagged.generation)]
  for (let first = 0; first < ordered.length; first += batch) {
    const slice = ordered.slice(first, first + batch)
    const read = from.pipeline()
    for (const key of slice) {
      read.pttl(key)
      read.dumpBuffer(key)
      if (key.startsWith(refreshPrefix)) read.hget(key, 'family')
    }
    const answers = (await read.exec()) ?? []
    const writes: Promise<unknown>[] = []
    let at = 0
    for (const key of slice) {
      const [pttlError, pttl] = answers[at++]
      const [dumpError, dump] = answers[at++]
      const isRefresh = key.startsWith(refreshPrefix)
      const family = isRefresh ? answers[at++] : undefined
      if (pttlError || dumpError) throw new RedisMigrationError(`reading ${JSON.stringify(key)} from the source failed: ${(pttlError ?? dumpError)?.message}`)
      if (dump === null || Number(pttl) === -2) {
        expired++
        continue
      }
      const ttl = Number(pttl) === -1 ? 0 : Number(pttl)
      if (!isRefresh) {
        writes.push(restore(taggedName(key, prefix, tagged), ttl, dump as Buffer))
        continue
      }
      const hash = key.slice(refreshPrefix.length)
      const name = family?.[1]
      if (typeof name !== 'string' || name === '') throw new RedisMigrationError(`the refresh token record ${JSON.stringify(key)} names no family: the source's data is damaged`)
      // The record, now in its family's slot, and the pointer that leads a token's hash to it.
      writes.push(
        restore(tagged.refresh(name, hash), ttl, dump as Buffer).then(async () => {
          if (ttl > 0) await to.set(tagged.refreshFamily(hash), name, 'PX', ttl)
          else await to.set(tagged.refreshFamily(hash), name)
          written++
        }),
      )
    }
    await Promise.all(writes)
  }

  // Anything written to the source meanwhile was not copied: say so rather than lose it.
  const seen = new Set(keys)
  const appeared = (await scanAll(from, pattern)).filter((key) => !seen.has(key))
  if (appeared.length > 0) {
    throw new RedisMigrationError(
      `${appeared.length} key${appeared.length === 1 ? '' : 's'} appeared in the source during the copy (a server still running?): stop every server and run the migration again; it resumes`,
    )
  }
  return { written, byKind, expired, generation, resumed }
}
