// Builds three things from src/:
//   dist/index.{mjs,cjs}, dist/testing.{mjs,cjs} + d.ts  — for bundlers, Node and jest
//       (tslib stays an import: its helpers exist once, in the consumer's tslib)
//   miniprogram_dist/index.js                           — what WeChat DevTools' "build npm"
//       copies as is (the package.json `miniprogram` field): one CommonJS file with the few
//       tslib helpers it uses bundled once, since that folder is copied without its dependencies.
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

export default [
  {
    input: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
    external: ['tslib'],
    plugins: [typescript({ tsconfig: './tsconfig.json', outDir: 'dist', declaration: true, declarationDir: 'dist' })],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs', banner, plugins: [readable] },
    ],
  },
  {
    input: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
    external: ['tslib'],
    plugins: [ts()],
    output: [{ dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: '[name]-[hash].cjs', banner, exports: 'named', plugins: [readable] }],
  },
  {
    input: 'src/index.ts',
    plugins: [ts()],
    output: { file: 'miniprogram_dist/index.js', format: 'cjs', banner, exports: 'named', plugins: [minified] },
  },
]
