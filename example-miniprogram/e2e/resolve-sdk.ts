/**
 * Outside jest, the example's pages `require('weapp-auth')` as they would after DevTools'
 * "build npm". Point that at the SDK this repository just built (dist/), so the run exercises
 * the published code, not the sources. `weapp-auth/components` is the file the built components
 * (miniprogram_dist/components/<name>/index.js, which the run's pages use) require as
 * `../index.js`, as both are in miniprogram_npm after "build npm": one registry for provideAuth.
 */
import Module from 'node:module'
import * as path from 'node:path'

const dist = path.join(__dirname, '..', '..', 'dist')
/** What "build npm" copies into miniprogram_npm/weapp-auth/. */
export const MINIPROGRAM_DIST = path.join(__dirname, '..', '..', 'miniprogram_dist')
const targets: Record<string, string> = {
  'weapp-auth': path.join(dist, 'index.cjs'),
  'weapp-auth/testing': path.join(dist, 'testing.cjs'),
  'weapp-auth/open': path.join(dist, 'open.cjs'),
  'weapp-auth/components': path.join(MINIPROGRAM_DIST, 'components', 'index.js'),
}
const M = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string }
const original = M._resolveFilename
M._resolveFilename = function (request: string, ...rest: unknown[]) {
  return targets[request] || original.call(this, request, ...rest)
}
