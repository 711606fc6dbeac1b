/**
 * miniprogram-simulate loads JavaScript (and Node would resolve `pages/x/index` to index.json
 * before any .ts), so the example's TypeScript is transpiled, as DevTools' TypeScript plugin
 * does, into a build folder beside the .wxml/.json/.wxss files.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as ts from 'typescript'

export function compileExample(outDir: string): string {
  const src = path.join(__dirname, '..', 'miniprogram')
  const out = path.join(outDir, 'miniprogram')
  fs.rmSync(out, { recursive: true, force: true })
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const from = path.join(dir, entry.name)
      const to = path.join(out, path.relative(src, from))
      if (entry.isDirectory()) {
        if (entry.name !== 'miniprogram_npm') walk(from)
        continue
      }
      fs.mkdirSync(path.dirname(to), { recursive: true })
      if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const js = ts.transpileModule(fs.readFileSync(from, 'utf8'), {
          compilerOptions: { target: ts.ScriptTarget.ES2015, module: ts.ModuleKind.CommonJS, esModuleInterop: true },
          fileName: from,
        }).outputText
        fs.writeFileSync(to.replace(/\.ts$/, '.js'), js)
      } else fs.copyFileSync(from, to)
    }
  }
  walk(src)
  return out
}
