/**
 * Runs WeChat's miniprogram-ci offline on a prepared copy of the example (argv[2]) and prints
 * one JSON line describing the compiled output. A child process of test/toolchain.test.ts:
 * miniprogram-ci forks a compiler process and keeps handles open, so it runs apart from jest
 * and this script exits explicitly. Offline recipe: ../shared/notes/miniprogram-ci-offline.md.
 */
const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const acorn = require('acorn')

async function main() {
  const project = process.argv[2]
  const work = path.dirname(project)
  // Its offline retries print ENOTFOUND lines: keep stdout for the result.
  console.log = console.info = console.warn = () => undefined
  const ci = require('miniprogram-ci')
  const keyPath = path.join(work, 'private.key')
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 })
  fs.writeFileSync(keyPath, privateKey.export({ type: 'pkcs1', format: 'pem' }))
  const proj = new ci.Project({ appid: 'touristappid', type: 'miniProgram', projectPath: project, privateKeyPath: keyPath, ignores: ['node_modules/**/*'] })
  proj.attr = async () => require('miniprogram-ci/dist/config/config').DefaultProjectAttr

  await ci.packNpmManually({ packageJsonPath: path.join(project, 'package.json'), miniprogramNpmDistDir: path.join(project, 'miniprogram') })
  const npmIndex = fs.existsSync(path.join(project, 'miniprogram', 'miniprogram_npm', 'weapp-auth', 'index.js'))

  const zipPath = path.join(work, 'compiled.zip')
  await ci.getCompiledResult({ project: proj, setting: { useProjectConfig: true } }, zipPath)
  // jszip arrives with miniprogram-ci.
  const JSZip = require('jszip')
  const zip = await JSZip.loadAsync(fs.readFileSync(zipPath))
  const files = Object.keys(zip.files)
  const parseErrors = []
  let js = 0
  for (const name of files.filter((n) => n.endsWith('.js'))) {
    js++
    const code = await zip.file(name).async('string')
    try {
      acorn.parse(code, { ecmaVersion: 2015, sourceType: 'script', allowReturnOutsideFunction: true })
    } catch (err) {
      parseErrors.push(name + ': ' + err.message)
    }
  }
  process.stdout.write(JSON.stringify({ npmIndex, files, js, parseErrors }) + '\n')
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write('toolchain failed: ' + ((err && (err.stack || err.message)) || String(err)) + '\n')
    process.exit(1)
  },
)
