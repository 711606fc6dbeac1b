/**
 * `npm run example` on Douyin and Alipay (issue 12's acceptance): the end-to-end script itself, as a
 * child process per host (EXAMPLE_PLATFORM=douyin / alipay, EXAMPLE_KIT=src so no server build is
 * needed; the SDK's dist/ must be built, as `npm test` does first). Each run starts its own fake
 * host API, fake WeChat and example server, and exits non-zero on any failed step; the two run side
 * by side (about 15 s together on 2 cores). WeChat's run is covered by test/example/pages.test.ts and
 * `npm run example`.
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

const ROOT = path.join(__dirname, '..', '..')

function runExample(platform: 'douyin' | 'alipay'): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'example-miniprogram', 'e2e', 'run.ts')], {
      cwd: ROOT,
      env: { ...process.env, EXAMPLE_PLATFORM: platform, EXAMPLE_KIT: 'src', FORCE_COLOR: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.on('exit', (code) => resolve({ code, out }))
  })
}

test('the example’s whole flow passes on Douyin and on Alipay, against the server with those providers', async () => {
  expect(fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))).toBe(true) // npm run build first
  const [douyin, alipay] = await Promise.all([runExample('douyin'), runExample('alipay')])
  for (const [name, run] of [['Douyin', douyin], ['Alipay', alipay]] as const) {
    if (run.code !== 0) throw new Error(`EXAMPLE_PLATFORM=${name.toLowerCase()} exited ${run.code}:\n${run.out.slice(-3000)}`)
    expect(run.out).toContain(`createAuth() with no platform option detected ${name}`)
    expect(run.out).toContain(`✓ the whole flow passed on ${name}`)
    expect(run.out).not.toContain('✗')
  }
  // The steps each host lacks were skipped with the reason, not silently.
  expect(douyin.out).toMatch(/skipped: avatar upload — Douyin has no chooseAvatar/)
  expect(alipay.out).toMatch(/skipped: Alipay has no authorize call/)
}, 90000)
