/**
 * `node scripts/longest-functions.mjs [n]`: the n longest functions in src/ (lines from the
 * declaration to its closing brace, nested functions included in their parent's count), so the
 * "no function over about 120 lines" rule can be checked. Exits 1 when one is over 130.
 * The rule is for the shipped SDK: src/testing (the fake wx and server, test fixtures) is listed
 * with --testing but not checked.
 */
import * as fs from 'fs'
import * as path from 'path'
import ts from 'typescript'
import { fileURLToPath } from 'url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const LIMIT = 130
const files = []
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory() && (e.name !== 'testing' || process.argv.indexOf('--testing') >= 0)) walk(p)
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p)
  }
}
walk(path.join(root, 'src'))
const found = []
for (const file of files) {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const visit = (node, owner) => {
    if (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) || ts.isMethodDeclaration(node)) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line
      const name = node.name ? node.name.getText(sf) : owner || '(anonymous)'
      found.push({ where: `${path.relative(root, file)}:${start + 1}`, name, lines: end - start + 1 })
    }
    const nextOwner = ts.isVariableDeclaration(node) || ts.isPropertyAssignment(node) ? node.name.getText(sf) : owner
    ts.forEachChild(node, (c) => visit(c, nextOwner))
  }
  visit(sf, undefined)
}
found.sort((a, b) => b.lines - a.lines)
const n = Number(process.argv.filter((a) => /^\d+$/.test(a))[0] || 10)
for (const f of found.slice(0, n)) console.log(String(f.lines).padStart(4), f.name.padEnd(28), f.where)
const over = found.filter((f) => f.lines > LIMIT)
if (over.length) {
  console.error(`\n${over.length} function(s) over ${LIMIT} lines.`)
  process.exit(1)
}
