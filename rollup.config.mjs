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
import * as fs from 'node:fs'
import * as path from 'node:path'

const ts = (extra = {}) =>
  typescript({ tsconfig: './tsconfig.json', declaration: false, declarationDir: undefined, outDir: undefined, ...extra })

const banner = '/*! weapp-auth | MIT */'
// dist: readable (no mangling), comments dropped. miniprogram_dist: minified, since it is
// counted against the mini program's package size limit.
const readable = terser({ ecma: 2015, compress: false, mangle: false, format: { beautify: true, wrap_func_args: false, comments: /^!/ } })
const minified = terser({ ecma: 2015, module: false, format: { comments: /^!/ } })

const entries = { index: 'src/index.ts', core: 'src/core.ts', platforms: 'src/platforms/index.ts', open: 'src/open/index.ts', components: 'src/components/index.ts', storage: 'src/storage/index.ts', jwt: 'src/jwt/index.ts' }
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
// `components`: the name of the weapp-auth/components entry in that build ('components' in dist/,
// 'components/index' in miniprogram_dist/, beside the component folders).
const chunksFor = (components) => (id) => {
  // The open abilities stay in the open entry, never in a chunk of their own or of the components.
  if (/[\\/]src[\\/]open[\\/]/.test(id)) return 'open'
  // The components' shared helpers: one chunk beside them, loaded only by a page using a component;
  // provideAuth's registry and the guard: the weapp-auth/components entry, which the components
  // require, so that the app and the components reach one registry.
  if (/[\\/]src[\\/]components[\\/]common[\\/]/.test(id)) return components === 'components' ? components : 'components/common'
  if (/[\\/]src[\\/]components[\\/][^\\/]+\.ts$/.test(id)) return components
  if (/[\\/]src[\\/]components[\\/]/.test(id)) return undefined
  if (CORE_PLATFORMS.test(id)) return 'shared'
  if (/[\\/]src[\\/]platforms[\\/](?!index\.ts$)/.test(id)) return 'hosts'
  return CORE_LAYERS.test(id) ? 'shared' : undefined
}
const coreChunk = chunksFor('components')

// The drop-in components (src/components/<name>/index.{ts,json,wxml,wxss} + images): each one's JS
// is an entry of the miniprogram_dist build (miniprogram_dist/components/<name>/index.js, requiring
// ../index.js: weapp-auth/components, where the app's provideAuth put its instance; ../common.js,
// ../../open.js, ../../shared.js), and the copy step
// below puts its other files beside it. They go to miniprogram_dist only: DevTools' "build npm"
// copies them, and apps name them in usingComponents as 'weapp-auth/components/<name>/index'.
const COMPONENTS = fs.readdirSync('src/components').filter((n) => fs.existsSync(path.join('src/components', n, 'index.json')))
const componentEntries = Object.fromEntries(COMPONENTS.map((n) => ['components/' + n + '/index', 'src/components/' + n + '/index.ts']))
const copyComponentFiles = {
  name: 'copy-component-files',
  generateBundle() {
    for (const n of COMPONENTS) {
      for (const file of fs.readdirSync(path.join('src/components', n))) {
        if (/\.ts$/.test(file)) continue
        this.emitFile({ type: 'asset', fileName: 'components/' + n + '/' + file, source: fs.readFileSync(path.join('src/components', n, file)) })
      }
    }
  },
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
    input: (({ components, ...rest }) => ({ ...rest, 'components/index': components, ...componentEntries }))(entries),
    plugins: [ts(), copyComponentFiles],
    output: { dir: 'miniprogram_dist', format: 'cjs', entryFileNames: '[name].js', chunkFileNames: '[name].js', manualChunks: chunksFor('components/index'), banner, exports: 'named', plugins: [minified] },
  },
]
