export { encryptedStorage } from './encrypted'
export { legacyToken } from './legacy-token'
export type { Migration, SessionStorage, StorageIO, StorageFailure } from '../core/storage-io'
