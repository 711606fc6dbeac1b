/**
 * The "Testing your pages" guide's first example is the code test/readme-testing.test-d.ts compiles
 * (`npm run typecheck`): both pages (docs/guide/testing.md and its Chinese docs/zh/guide/testing.md)
 * show its imports and its statements, comments aside, so the documented example compiles as written.
 */
import * as fs from 'fs'
import * as path from 'path'

const root = path.join(__dirname, '..')
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8')

/** Code lines without comments, indentation or blank lines. */
const code = (text: string) =>
  text
    .split('\n')
    .map((line) => line.replace(/\s+\/\/ .*$/, '').replace(/^\s*\/\/.*$/, '').trim())
    .filter(Boolean)

/** The first ```ts block after `heading`. */
function snippet(file: string, heading: string): string[] {
  const text = read(file)
  const at = text.indexOf('\n' + heading + '\n')
  expect(at).toBeGreaterThan(0)
  const block = /```ts\n([\s\S]*?)```/.exec(text.slice(at))
  return code(block ? block[1] : '')
}

const typed = read('test/readme-testing.test-d.ts')
const body = code(typed.slice(typed.indexOf('// README snippet starts'), typed.indexOf('// README snippet ends')))
const imports = code(typed).filter((line) => line.startsWith('import '))

test.each([
  ['docs/guide/testing.md', '## A first test'],
  ['docs/zh/guide/testing.md', '## 第一个测试'],
])('%s: the testing example is the code the type test compiles', (file, heading) => {
  const shown = snippet(file, heading)
  const shownImports = shown.filter((line) => line.startsWith('import '))
  expect(shownImports).toEqual([
    "import { createAuth } from 'weapp-auth'",
    "import { ensureScope } from 'weapp-auth/open'",
    "import { createFakeWx, createFakeAuthServer } from 'weapp-auth/testing'",
  ])
  for (const line of shownImports) expect(imports).toContain(line)
  expect(shown.filter((line) => !line.startsWith('import '))).toEqual(body)
})
