// Builds three things from src/:
//   dist/{index,open,testing}.{mjs,cjs} + d.ts  — for bundlers, Node and jest
//       (tslib stays an import: its helpers exist once, in the consumer's tslib). `open` and
//       `testing` import the core from ./index.*, so `weapp-auth` and `weapp-auth/open` share
//       one copy of the core (and one `AuthError` class).
//   miniprogram_dist/{index,open}.js             — what WeChat DevTools' "build npm" copies as is
//       (the package.json `miniprogram` field): CommonJS with the few tslib helpers bundled,
//       since that folder is copied without its dependencies. open.js requires ./index.js, so a
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
const readable = terser({ ecma: 2015, compress: false, mangle: false, format: { beautify: true, comments: /^!/ } })
const minified = terser({ ecma: 2015, module: false, format: { comments: /^!/ } })

const inputs = { index: 'src/index.ts', open: 'src/open/index.ts', storage: 'src/storage/index.ts', jwt: 'src/jwt/index.ts', testing: 'src/testing/index.ts' }
// Every module outside src/open, src/storage, src/jwt and src/testing goes to one shared chunk, `core`: the entries import it.
const coreChunk = (id) => (/[\\/]src[\\/](open|storage|jwt|testing)[\\/]/.test(id) || !/[\\/]src[\\/]/.test(id) ? undefined : 'core')

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
    input: { index: 'src/index.ts', open: 'src/open/index.ts', storage: 'src/storage/index.ts', jwt: 'src/jwt/index.ts' },
    plugins: [ts()],
    output: { dir: 'miniprogram_dist', format: 'cjs', entryFileNames: '[name].js', chunkFileNames: '[name].js', manualChunks: coreChunk, banner, exports: 'named', plugins: [minified] },
  },
]
