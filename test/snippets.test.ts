/**
 * Every code example compiles: each ```ts / ```typescript / ```tsx / ```js / ```javascript / ```vue
 * block in the READMEs (README*.md anywhere in the repository: the root's, server/'s, in English
 * and Chinese) and in the docs site (every .md under docs/, the Chinese pages in docs/zh/ included; not
 * docs/api/, which TypeDoc generates, nor docs/.vitepress/) is written out as its own module under
 * .tmp/snippets/ (gitignored; one folder per block, named after the markdown file and the fence's
 * line, e.g. .tmp/snippets/client/README.md-L55/miniprogram/app.ts) and type-checked with the
 * TypeScript compiler against the sources (src/, server/src/ through `paths`, no build needed). A
 * failure names the markdown file and line of the offending code.
 *
 * Blocks are found wherever they sit: at the top level, indented in a list, or inside a VitePress
 * container (`::: tip`, `::: code-group`). A fence may carry VitePress's extras after its language
 * (`ts [app.ts]`, `ts{2,4}`, `ts:line-numbers`); a code-group label that is a file path
 * (`[miniprogram/app.ts]`) names where the block sits, like a path comment does.
 *
 * Which world a block compiles in is chosen from its imports: a block importing weapp-auth-server,
 * fastify, express or a node: module is server code (Node types, ES2022); any other block is mini
 * program code (miniprogram-api-typings for wx/App/Page/Component, @dcloudio/types for `uni`, Node
 * types for the test files that set `global.wx`).
 *
 * ```vue blocks (uni-app and Taro-Vue pages) are parsed with @vue/compiler-sfc, the parser Vue's
 * own build uses (it comes with VitePress): a parse error fails the block, and its
 * `<script lang="ts">` and `<script setup lang="ts">` parts are type-checked as TypeScript (a plain
 * `<script>` as JavaScript, with checkJs), mini program side, with their lines mapped back to the
 * markdown. A template-only block is parsed and counted. The template is not type-checked
 * (that needs vue-tsc and a uni-app project). A minimal shim (SHIM below) declares what a uni-app
 * project would have installed and this repository does not: `*.vue` modules and the lifecycle
 * hooks of @dcloudio/uni-app (onLaunch, onLoad, onShow, …); Vue's own types (`ref`, `defineProps`)
 * are the real ones.
 *
 * The convention, an HTML comment on the line right before the opening fence (markdown hides it):
 *
 *   (no marker)                          the block is a whole module and compiles on its own.
 *   <!-- snippet: fragment -->           the block is an excerpt of a larger file. It may use the
 *                                        names such a file would have in scope (`auth`, `baseURL`,
 *                                        `User`, your own helpers such as `listOrders`: see CONTEXT
 *                                        below). It is checked as the body of an async function whose
 *                                        `this` is the page, or, when it exports, at the top level. A
 *                                        block that starts (after its imports) with a method, e.g.
 *                                        `async onSave() { … }`, is checked inside an object literal
 *                                        (a page's or component's methods).
 *   <!-- snippet: skip (reason) -->      not compiled; the reason is required and is reported.
 *
 * Where a block sits: a block whose first line is a path comment (`// miniprogram/app.ts`,
 * `// src/auth.ts (…)`, `<!-- src/App.vue … -->` in a vue block) is written at that path; any other
 * block where a page would be, `miniprogram/pages/index/index.ts`. A block with relative imports
 * (`'../../app'`, `'./auth'`) is checked next to the blocks before it in the same file that name a
 * path (the nearest one wins).
 *
 * Blocks that import weapp-auth/testing build their own fakes, so they are also run (their top
 * level wrapped in an async function, transpiled to CommonJS and required through jest's module
 * mapping).
 *
 * The first test prints the counts: blocks found, compiled (fragments, vue), run, and each skipped
 * one with its reason.
 */
import * as fs from 'fs'
import * as path from 'path'
import * as ts from 'typescript'
import { parse as parseSfc } from '@vue/compiler-sfc'

const root = path.join(__dirname, '..')
const out = path.join(root, '.tmp', 'snippets')
/** Folders never searched: dependencies, builds, and the generated API reference. */
const SKIP_DIRS = new Set(['node_modules', '.git', '.tmp', 'dist', 'coverage', 'docs/api', 'docs/.vitepress'])

/** Markdown files under `dir` (relative to the root) that `keep` accepts, in a stable order. */
function markdown(dir: string, keep: (rel: string) => boolean): string[] {
  const found: string[] = []
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const child = rel ? `${rel}/${entry.name}` : entry.name
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name) && !SKIP_DIRS.has(child)) walk(child)
      } else if (entry.name.endsWith('.md') && keep(child)) found.push(child)
    }
  }
  if (fs.existsSync(path.join(root, dir))) walk(dir)
  return found
}

const DOCS = [
  ...markdown('', (rel) => /(^|\/)README[^/]*\.md$/.test(rel) && !rel.startsWith('docs/')),
  ...markdown('docs', () => true),
]
const LANGS: Record<string, string> = { ts: '.ts', typescript: '.ts', tsx: '.tsx', js: '.js', javascript: '.js', vue: '.vue' }
const MARKER = /^<!--\s*snippet:\s*(skip|fragment)\s*(?:\((.*)\))?\s*-->$/

interface Snippet {
  doc: string
  /** A VitePress code-group label that names a file (`ts [miniprogram/app.ts]`). */
  label?: string
  line: number // 1-based line of the opening fence
  ext: string
  code: string[]
  kind: 'whole' | 'fragment' | 'skip'
  reason?: string
  side: 'client' | 'server'
}

/** Every fenced code block in `doc` whose language is one of LANGS, with the marker before it. */
function extract(doc: string): Snippet[] {
  const lines = fs.readFileSync(path.join(root, doc), 'utf8').split('\n')
  const found: Snippet[] = []
  for (let i = 0; i < lines.length; i++) {
    // The language may be followed by VitePress's extras: a code-group label, highlighted lines, line numbers.
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)((?:\s*(?:\[[^\]]*\]|\{[^}]*\}|:[\w-]+))*)\s*$/.exec(lines[i])
    if (!open) continue
    const [, indent, fence, lang, extras] = open
    const label = /\[((?:[\w.-]+\/)*[\w.-]+\.(?:ts|tsx|js|vue))\]/.exec(extras)?.[1]
    let end = i + 1
    while (end < lines.length && !(lines[end].trim().startsWith(fence) && lines[end].trim().replace(/[`~]/g, '') === '')) end++
    if (LANGS[lang]) {
      let before = i - 1
      while (before >= 0 && lines[before].trim() === '') before--
      const marker = before >= 0 ? MARKER.exec(lines[before].trim()) : null
      const code = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      const server = code.some((l) => /^import\b.*from '(weapp-auth-server[^']*|fastify[^']*|express|node:[^']*)'/.test(l))
      found.push({
        doc,
        label,
        line: i + 1,
        ext: LANGS[lang],
        code,
        kind: marker ? (marker[1] as 'skip' | 'fragment') : 'whole',
        reason: marker?.[2],
        side: server ? 'server' : 'client',
      })
    }
    i = end
  }
  return found
}

/** The names a fragment may assume, per side: what the surrounding file or the reader's app has. */
const CONTEXT = {
  client: `
declare const auth: import('weapp-auth').Auth
declare const baseURL: string
declare const tt: import('weapp-auth/platforms').TtLike
type User = { id: string; nickName?: string }
type Order = { id: number }
declare const filePath: string
declare const q: string
declare function showError(e: unknown): void
declare function report(e: unknown): void
`,
  server: `
declare const appid: string
declare const secret: string
declare const jwt: { secret: string }
declare function listOrders(userId: string): Promise<unknown>
`,
}

const isMethod = (line: string) => /^(async\s+)?[A-Za-z_$][\w$]*\s*\([^)]*\)\s*(:[^{]+)?\{\s*$/.test(line)
const isImport = (line: string) => /^import\b/.test(line)

/** The module written for a snippet: [text, markdown line or 0] per line. */
function moduleOf(s: Snippet): Array<[string, number]> {
  const lines: Array<[string, number]> = [[`// ${s.doc}:${s.line}`, 0]]
  if (s.ext === '.vue') return [...lines, ...vueScript(s), ['export {}', 0]]
  const body = s.code.map((text, k) => [text, s.line + 1 + k] as [string, number])
  if (s.kind === 'fragment') {
    const lastImport = body.reduce((at, [t], k) => (isImport(t) ? k : at), -1)
    const rest = body.slice(lastImport + 1)
    const first = rest.find(([t]) => t.trim() !== '' && !t.trim().startsWith('//'))
    lines.push(...body.slice(0, lastImport + 1))
    // The context, but for the names the fragment declares or imports itself.
    const own = (name: string) =>
      s.code.some((l) => new RegExp(`\\b(const|let|var|function|type|interface|class)\\s+${name}\\b`).test(l) || (isImport(l) && new RegExp(`\\b${name}\\b`).test(l.replace(/from\s+'[^']*'/, ''))))
    const context = CONTEXT[s.side].trim().split('\n').filter((t) => !own(/(?:const|function|type)\s+(\w+)/.exec(t)![1]))
    lines.push(...context.map((t) => [t, 0] as [string, number]))
    if (first && isMethod(first[0])) {
      lines.push(['export const members: Record<string, unknown> & ThisType<any> = {', 0], ...rest, ['}', 0])
    } else if (!rest.some(([t]) => /^export\b/.test(t))) {
      lines.push(['export async function fragment(this: any) {', 0], ...rest, ['}', 0])
    } else {
      lines.push(...rest)
    }
  } else {
    lines.push(...body)
  }
  lines.push(['export {}', 0])
  return lines
}

/** A vue block's `<script>` and `<script setup>`, parsed once; parse errors are reported. */
const parsedVue = new Map<Snippet, Array<{ lang?: string; content: string; line: number }>>()
function vueParts(s: Snippet) {
  let parts = parsedVue.get(s)
  if (!parts) {
    const { descriptor, errors } = parseSfc(s.code.join('\n'), { filename: `${s.doc}-L${s.line}.vue` })
    for (const e of errors) vueProblems.push(`${s.doc}:${s.line + ((e as { loc?: { start: { line: number } } }).loc?.start.line ?? 1)} ${e.message}`)
    parts = [descriptor.script, descriptor.scriptSetup]
      .filter((b): b is NonNullable<typeof b> => b != null)
      .map((b) => ({ lang: b.lang, content: b.content, line: b.loc.start.line }))
    const langs = new Set(parts.map((p) => (p.lang === 'ts' ? 'ts' : 'js')))
    if (langs.size > 1) vueProblems.push(`${s.doc}:${s.line} a vue block mixing <script lang="ts"> and plain <script>: use one language`)
    parsedVue.set(s, parts)
  }
  return parts
}
/** Whether a vue block's script is TypeScript (checked as .vue.ts) or JavaScript (checked as .vue.js, with checkJs). */
const vueIsTs = (s: Snippet) => vueParts(s).every((p) => p.lang === 'ts')

/**
 * The script of a vue block: its `<script>` and `<script setup>` contents, each line with its
 * markdown line. A template-only block has none: it is parsed, and compiles as an empty module.
 */
function vueScript(s: Snippet): Array<[string, number]> {
  const lines: Array<[string, number]> = []
  // The content begins on the opening tag's line (usually the rest of it is empty).
  for (const part of vueParts(s)) part.content.split('\n').forEach((text, k) => lines.push([text, s.line + part.line + k]))
  return lines
}

/** What a uni-app project has installed and this repository does not (see the header). */
const SHIM = `/// <reference types="@vue/runtime-core" />
declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent
  export default component
}
declare module '@dcloudio/uni-app' {
  type Hook<A extends unknown[] = []> = (hook: (...args: A) => unknown) => void
  export const onLaunch: Hook<[options?: Record<string, unknown>]>
  export const onShow: Hook<[options?: Record<string, unknown>]>
  export const onHide: Hook
  export const onLoad: Hook<[query?: Record<string, string | undefined>]>
  export const onReady: Hook
  export const onUnload: Hook
  export const onPullDownRefresh: Hook
  export const onReachBottom: Hook
}
`
const vueProblems: string[] = []

/** The path a block names in its first line (`// src/auth.ts (…)`), if any. */
const namedPath = (s: Snippet) => /^(?:\/\/|<!--) ((?:[\w.-]+\/)*[\w.-]+\.(?:ts|tsx|js|vue))\b/.exec(s.code[0] ?? '')?.[1] ?? s.label
const dirOf = (s: Snippet) => path.join(out, s.side, `${s.doc.replace(/[\\/]/g, '-')}-L${s.line}`)
/** Where the module is written; a vue block's script is checked as `<name>.vue.ts` (or `.vue.js`). */
const fileOf = (s: Snippet, dir = dirOf(s)) => {
  const file = path.join(dir, namedPath(s) ?? 'miniprogram/pages/index/index' + s.ext)
  return s.ext === '.vue' ? file.replace(/(\.vue)?$/, vueIsTs(s) ? '.vue.ts' : '.vue.js') : file
}

function options(side: 'client' | 'server'): ts.CompilerOptions {
  const base: ts.CompilerOptions = {
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    esModuleInterop: true,
    allowJs: true,
    checkJs: true,
    jsx: ts.JsxEmit.Preserve,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    baseUrl: root,
  }
  if (side === 'server') {
    return {
      ...base,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts'],
      types: ['node'],
      paths: {
        'weapp-auth-server': ['server/src/index.ts'],
        'weapp-auth-server/fastify': ['server/src/fastify.ts'],
        'weapp-auth-server/testing': ['server/src/testing/index.ts'],
      },
    }
  }
  return {
    ...base,
    target: ts.ScriptTarget.ES2020,
    lib: ['lib.es2020.d.ts'],
    types: ['miniprogram-api-typings', 'node', '@dcloudio/types'],
    paths: {
      'weapp-auth': ['src/index.ts'],
      'weapp-auth/testing': ['src/testing/index.ts'],
      'weapp-auth/open': ['src/open/index.ts'],
      'weapp-auth/storage': ['src/storage/index.ts'],
      'weapp-auth/jwt': ['src/jwt/index.ts'],
      'weapp-auth/core': ['src/core.ts'],
      'weapp-auth/platforms': ['src/platforms/index.ts'],
    },
  }
}

const snippets = DOCS.flatMap(extract)
const checked = snippets.filter((s) => s.kind !== 'skip')
const runnable = checked.filter((s) => s.side === 'client' && s.ext !== '.vue' && s.code.some((l) => /from 'weapp-auth\/testing'/.test(l)))
const written = new Map<string, Array<[string, number]>>()

function write(file: string, lines: Array<[string, number]>) {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, lines.map(([t]) => t).join('\n') + '\n')
  written.set(path.resolve(file), lines)
}

beforeAll(() => {
  fs.rmSync(out, { recursive: true, force: true })
  write(path.join(out, 'client', 'shims', 'uni-app.d.ts'), [[SHIM, 0]])
  for (const s of checked) {
    write(fileOf(s), moduleOf(s))
    if (!s.code.some((l) => /^import\b.*from '\.\.?\//.test(l))) continue
    const neighbours = checked.filter((n) => n.doc === s.doc && n.line < s.line && namedPath(n) && namedPath(n) !== namedPath(s))
    for (const n of neighbours) write(fileOf(n, dirOf(s)), moduleOf(n))
  }
})

test('the docs have code blocks, and every skip says why', () => {
  expect(snippets.length).toBeGreaterThan(40)
  expect(snippets.filter((s) => s.kind === 'skip' && !s.reason?.trim())).toEqual([])
  // eslint-disable-next-line no-console
  console.log(
    `snippets in ${new Set(snippets.map((s) => s.doc)).size} files: ${snippets.length} found, ${checked.length} compiled ` +
      `(${checked.filter((s) => s.kind === 'fragment').length} fragments, ${checked.filter((s) => s.ext === '.vue').length} vue, ` +
      `${checked.filter((s) => s.ext === '.vue' && vueParts(s).length === 0).length} of them template only), ` +
      `${runnable.length} also run, ${snippets.length - checked.length} skipped` +
      snippets.filter((s) => s.kind === 'skip').map((s) => `\n  skipped ${s.doc}:${s.line} ${s.reason}`).join(''),
  )
})

test('the pages written in folders are searched too (docs/guide, docs/zh), and the generated API reference is not', () => {
  const docs = markdown('docs', () => true)
  expect(docs.some((d) => d.startsWith('docs/api/') || d.startsWith('docs/.vitepress/'))).toBe(false)
  for (const d of docs) expect(DOCS).toContain(d)
  expect(DOCS).toEqual(expect.arrayContaining(['README.md', 'README.zh-CN.md', 'server/README.md']))
})

test('every vue block parses', () => {
  expect(vueProblems).toEqual([])
})

test.each(['client', 'server'] as const)('every %s snippet compiles', (side) => {
  const files = [...written.keys()].filter((f) => f.startsWith(path.join(out, side) + path.sep))
  const program = ts.createProgram(files, options(side))
  const errors = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => !d.file || written.has(path.resolve(d.file.fileName)))
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ')
      if (!d.file || d.start === undefined) return message
      const { line } = d.file.getLineAndCharacterOfPosition(d.start)
      const lines = written.get(path.resolve(d.file.fileName))!
      return `${lines[0][0].slice(3).split(':')[0]}:${lines[line]?.[1] || '?'} (${path.relative(root, d.file.fileName)}:${line + 1}) ${message}`
    })
  expect([...new Set(errors)]).toEqual([])
})

describe('snippets that build their own fakes run', () => {
  test('there is at least one', () => expect(runnable.length).toBeGreaterThan(0))
  test.each(runnable.map((s) => [`${s.doc}:${s.line}`, s] as const))('%s', async (_, s) => {
    const imports = s.code.filter(isImport)
    const rest = s.code.filter((l) => !isImport(l))
    const source = `${imports.join('\n')}\nexport async function run() {\n${rest.join('\n')}\n}\n`
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true } }).outputText
    const file = path.join(out, 'run', `${s.doc.replace(/[\\/]/g, '-')}-L${s.line}.js`)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, js)
    const saved = (global as any).wx
    try {
      await require(file).run()
    } finally {
      ;(global as any).wx = saved
    }
  })
})
