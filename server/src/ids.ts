/**
 * Random ids: 16 bytes from the OS's CSPRNG in base64url (22 characters, 128 bits). Used for user
 * ids, store generations, `jti` and refresh family ids: none is ever a counter, so none can come
 * round again after a restart or a store that lost its data.
 */
import { randomBytes } from 'node:crypto'

export function randomId(): string {
  return randomBytes(16).toString('base64url')
}
