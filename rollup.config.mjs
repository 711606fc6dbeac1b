// Builds three things from src/:
//   dist/{index,core,platforms,open,storage,jwt,testing}.{mjs,cjs} + d.ts — for bundlers, Node and jest
//       (tslib stays an import: its helpers exist once, in the consumer's tslib). Every entry
//       imports the core from ./shared.*, so `weapp-auth`, `weapp-auth/core` and `weapp-auth/open`
//       share one copy of the core (and one `AuthError` class).
//   miniprogram_dist/*.js (the same entries but testing) — what WeChat DevTools' "build npm" copies
//       as is (the package.json `miniprogram` field): CommonJS with the few tslib helpers bundled,
//       since that folder is copied without its dependencies. open.js requires ./shared.js, so a
//       page that never requires 'weapp-auth/open' loads none of it.
// Everything is ES2015: no async/await, ?., ?? or class fields reach the output
// (test/dist-syntax.test.ts parses it with acorn at ecmaVersion 2015).
import typescript from '@rollup/plugin-typescript'
import terser from '@rollup/plugin-terser'

const ts = (extra = {}) =>
  typescript({ tsconfig: './tsconfig.json', declaration: false, declarationDir: undefined, outDir: undefined, ...extra })

const banner = '/*! weapp-auth | MIT */'
// dist: readable (no mangling), comments dropped. miniprogram_dist: minified, since it is
// counted against the mini program's package size limit.
const readable = terser({ ecma: 2015, compress: false, mangle: false, format: { beautify: true, wrap_func_args: false, comments: /^!/ } })
const minified = terser({ ecma: 2015, module: false, format: { comments: /^!/ } })

const entries = { index: 'src/index.ts', core: 'src/core.ts', platforms: 'src/platforms/index.ts', open: 'src/open/index.ts', storage: 'src/storage/index.ts', jwt: 'src/jwt/index.ts' }
const inputs = { ...entries, testing: 'src/testing/index.ts' }
// The core's layers, src/base/ (errors, the host interface, abort, url), src/net/ (http, limiter,
// request types) and src/core/ (the auth instance, session, login, request wrapper, token store,
// config), with the src/core.ts entry, go to one shared chunk, `shared`, which every entry imports
// (`core` is a two-line facade over it). Of src/platforms only what core itself needs joins it
// (the WeChat tag and the adapter types); the other adapters and the detection go to one chunk,
// `hosts`, which `weapp-auth` and `weapp-auth/platforms` import, so a page that requires
// 'weapp-auth/core' loads none of them. src/open, src/storage, src/jwt and src/testing stay in
// their entries.
const CORE_PLATFORMS = /[\\/]src[\\/]platforms[\\/](plain|weixin|wx-phone|host)\.ts$/
const CORE_LAYERS = /[\\/]src[\\/](core\.ts$|core[\\/]|net[\\/]|base[\\/])/
const coreChunk = (id) => {
  if (CORE_PLATFORMS.test(id)) return 'shared'
  if (/[\\/]src[\\/]platforms[\\/](?!index\.ts$)/.test(id)) return 'hosts'
  return CORE_LAYERS.test(id) ? 'shared' : undefined
}

export default [
  {
    input: inputs,
    external: ['tslib'],
    plugins: [typescript({ tsconfig: './tsconfig.json', outDir: 'dist', declaration: true, declarationDir: 'dist' })],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].mjs', chunkFileNames: '[name].mjs', manualChunks: coreChunk, banner, plugins: [readable] },
    ],
  },
  {
    input: inputs,
    external: ['tslib'],
    plugins: [ts()],
    output: [{ dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: '[name].cjs', manualChunks: coreChunk, banner, exports: 'named', plugins: [readable] }],
  },
  {
    input: entries,
    plugins: [ts()],
    output: { dir: 'miniprogram_dist', format: 'cjs', entryFileNames: '[name].js', chunkFileNames: '[name].js', manualChunks: coreChunk, banner, exports: 'named', plugins: [minified] },
  },
]
