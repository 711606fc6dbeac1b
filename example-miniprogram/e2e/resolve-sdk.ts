/**
 * Outside jest, the example's pages `require('weapp-auth')` as they would after DevTools'
 * "build npm". Point that at the SDK this repository just built (dist/), so the run exercises
 * the published code, not the sources.
 */
import Module from 'node:module'
import * as path from 'node:path'

const dist = path.join(__dirname, '..', '..', 'dist')
const targets: Record<string, string> = {
  'weapp-auth': path.join(dist, 'index.cjs'),
  'weapp-auth/testing': path.join(dist, 'testing.cjs'),
  'weapp-auth/open': path.join(dist, 'open.cjs'),
}
const M = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string }
const original = M._resolveFilename
M._resolveFilename = function (request: string, ...rest: unknown[]) {
  return targets[request] || original.call(this, request, ...rest)
}
