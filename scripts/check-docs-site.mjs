#!/usr/bin/env node
/**
 * The docs site, checked in a real browser: Debian's Chromium (driven by puppeteer-core) opens
 * every page of the built site (docs/.vitepress/dist) served over HTTP, and the check fails on
 *
 * - a console error or an uncaught page error on any page, or a request of the site that fails
 *   or answers 4xx/5xx (a missing asset);
 * - an internal link whose target is not a file of the site (the site uses plain .html URLs,
 *   `cleanUrls: false`, so `/guide/x.html` must be dist/guide/x.html and `/api/client/` must be
 *   dist/api/client/index.html), or whose `#anchor` is no element id on the target page;
 * - a Mermaid diagram that did not render (no svg in its container, or mermaid's error svg);
 * - the local search not finding `checkAndLogin` (typed into the search box of the English and
 *   the Chinese site), or the Chinese site not finding a Chinese word.
 *
 * It builds the site first (`npm run docs:build`) unless dist is newer than everything it is built
 * from; `--build` forces a build. Without Chromium it prints one line and exits 0, so `npm test`
 * still runs on a machine without it (.ci/run installs it).
 *
 *   node scripts/check-docs-site.mjs [--build]
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { extname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const docs = join(root, 'docs')
const dist = join(docs, '.vitepress', 'dist')
const CONCURRENCY = 2
const PAGE_TIMEOUT_MS = 30_000

function chromiumPath() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH
  const found = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' })
  const path = found.stdout.trim().split('\n')[0]
  return found.status === 0 && path ? path : null
}

const executablePath = chromiumPath()
if (!executablePath) {
  console.log('docs site check skipped: Chromium is not installed (apt-get install chromium).')
  process.exit(0)
}

/** Every file under `dir` (recursively), skipping the folders named in `skip`. */
function walk(dir, skip = new Set()) {
  const out = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (!skip.has(full) && entry.name !== 'node_modules') out.push(...walk(full, skip))
    } else out.push(full)
  }
  return out
}

/** The newest mtime of what the site is built from: its pages, its config, and the sources TypeDoc reads. */
function newestInput() {
  const skip = new Set([dist, join(docs, '.vitepress', 'cache'), join(docs, 'api')])
  const files = [
    ...walk(docs, skip),
    ...walk(join(root, 'src')),
    ...walk(join(root, 'server', 'src')),
    join(root, 'package.json'),
  ]
  return Math.max(...files.map((f) => statSync(f).mtimeMs))
}

const builtAt = existsSync(join(dist, 'index.html')) ? statSync(join(dist, 'index.html')).mtimeMs : 0
let buildSeconds = null
if (process.argv.includes('--build') || builtAt < newestInput()) {
  const t0 = Date.now()
  console.log('docs site: building (npm run docs:build)…')
  try {
    execFileSync('npm', ['run', '--silent', 'docs:build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  } catch {
    console.error('docs site check: the build failed (run `npm run docs:build` to see why).')
    process.exit(1)
  }
  buildSeconds = (Date.now() - t0) / 1000
} else {
  console.log('docs site: reusing the build in docs/.vitepress/dist (newer than its sources)')
}

// ---- a static server, as a plain static host would serve the site ----
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/** The file of dist a URL path names, or null: `/a/` is /a/index.html; nothing else is rewritten. */
function fileOf(pathname) {
  let path
  try {
    path = decodeURIComponent(pathname)
  } catch {
    return null
  }
  if (path.endsWith('/')) path += 'index.html'
  const file = resolve(dist, '.' + path)
  if (file !== dist && !file.startsWith(dist + sep)) return null
  return existsSync(file) && statSync(file).isFile() ? file : null
}

const server = createServer((req, res) => {
  const file = fileOf(new URL(req.url, 'http://x').pathname)
  const status = file ? 200 : 404
  const body = file || join(dist, '404.html')
  const headers = { 'content-type': TYPES[extname(body)] || 'application/octet-stream' }
  // Hashed assets never change, as a static host would say: the browser fetches each one once.
  if (file && file.startsWith(join(dist, 'assets') + sep)) headers['cache-control'] = 'public, max-age=31536000, immutable'
  res.writeHead(status, headers)
  createReadStream(body).pipe(res)
})
await new Promise((ok) => server.listen(0, '127.0.0.1', ok))
const origin = `http://127.0.0.1:${server.address().port}`

// ---- the browser ----
const { default: puppeteer } = await import('puppeteer-core')
const version = execFileSync(executablePath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
const browser = await puppeteer.launch({
  executablePath,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
})

const failures = []
const fail = (line) => {
  failures.push(line)
  if (failures.length <= 50) console.error('  ✗ ' + line)
}

const pages = walk(dist)
  .filter((f) => f.endsWith('.html'))
  .map((f) => '/' + relative(dist, f).split(sep).join('/'))
  .sort()
/** Element ids per page path (`/guide/x.html`), for the anchor check. */
const idsOf = new Map()
/** Every internal link seen: `url` (absolute, with its hash) → the pages it was found on. */
const links = new Map()
let externalLinks = 0
let consoleErrors = 0
let diagrams = 0

/** `/guide/x.html`, `/zh/` → the key of idsOf (`/zh/index.html`). */
const pageKey = (pathname) => {
  const p = decodeURIComponent(pathname)
  return p.endsWith('/') ? p + 'index.html' : p
}

/** A tab that reports its console errors, page errors and failed requests against the page it shows. */
async function newTab() {
  const page = await browser.newPage()
  page.setDefaultTimeout(PAGE_TIMEOUT_MS)
  const tab = { page, path: '' }
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return
    consoleErrors++
    fail(`${tab.path}: console error: ${msg.text()}`)
  })
  page.on('pageerror', (err) => {
    consoleErrors++
    fail(`${tab.path}: page error: ${err.message}`)
  })
  page.on('requestfailed', (req) => {
    if (req.url().startsWith(origin)) fail(`${tab.path}: request failed: ${req.url()} (${req.failure()?.errorText})`)
  })
  page.on('response', (res) => {
    // The 404 page itself answers 404, as a static host would.
    if (res.url().startsWith(origin) && res.status() >= 400 && !(tab.path === '/404.html' && res.url() === origin + tab.path)) {
      fail(`${tab.path}: ${res.status()} for ${res.url()}`)
    }
  })
  return tab
}

/** Loads `path` in `tab` (a full page load, as a visitor arriving from outside) and checks it. */
async function visit(tab, path, retried = false) {
  const { page } = tab
  tab.path = path
  try {
    await page.goto(origin + path, { waitUntil: 'load' })
    // Mounted: the page's chunk has loaded and the app hydrated the server-rendered HTML.
    await page.waitForFunction(() => !!(document.querySelector('#app') || {}).__vue_app__)
    const containers = await page.$$eval('.vp-doc .mermaid', (els) => els.length)
    if (containers > 0) {
      try {
        await page.waitForFunction(
          () => [...document.querySelectorAll('.vp-doc .mermaid')].every((el) => el.querySelector('svg')),
          { timeout: PAGE_TIMEOUT_MS },
        )
      } catch {
        fail(`${path}: a Mermaid diagram did not render (no svg in its container)`)
      }
      const { rendered, broken } = await page.$$eval('.vp-doc .mermaid > svg', (svgs) => {
        const isError = (s) => s.getAttribute('aria-roledescription') === 'error' || /Syntax error/i.test(s.textContent || '')
        return { rendered: svgs.filter((s) => !isError(s)).length, broken: svgs.filter(isError).length }
      })
      if (broken) fail(`${path}: ${broken} Mermaid diagram(s) rendered mermaid's error instead`)
      diagrams += rendered
    }
    // Whatever the page started on mounting (prefetches, late errors) settles before the next one.
    await page.waitForNetworkIdle({ idleTime: 100, timeout: PAGE_TIMEOUT_MS })
    const found = await page.evaluate(() => ({
      ids: [...document.querySelectorAll('[id]')].map((el) => el.id),
      hrefs: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    }))
    idsOf.set(path, new Set(found.ids))
    for (const href of found.hrefs) {
      if (!/^https?:/.test(href)) continue
      if (!href.startsWith(origin + '/')) {
        externalLinks++
        continue
      }
      if (!links.has(href)) links.set(href, new Set())
      links.get(href).add(path)
    }
  } catch (err) {
    // A load that times out once on a busy machine gets one more try; a second timeout fails.
    if (!retried && /Timed? ?out/i.test(String(err && err.message))) return visit(tab, path, true)
    fail(`${path}: could not be checked: ${err.message}`)
  }
}

/** Opens the search box on `path`, types `query`, and answers the results' links. */
async function search(path, query, expectButton) {
  const page = await browser.newPage()
  page.setDefaultTimeout(PAGE_TIMEOUT_MS)
  page.on('pageerror', (err) => {
    consoleErrors++
    fail(`${path} (search): page error: ${err.message}`)
  })
  try {
    await page.goto(origin + path, { waitUntil: 'load' })
    await page.waitForNetworkIdle({ idleTime: 200 })
    const button = await page.waitForSelector('.VPNavBarSearch .DocSearch-Button')
    if (expectButton) {
      const label = await button.evaluate((b) => b.textContent.trim())
      if (!label.includes(expectButton)) fail(`${path}: the search button reads "${label}", expected "${expectButton}"`)
    }
    await button.click()
    const input = await page.waitForSelector('#localsearch-input')
    await input.type(query, { delay: 20 })
    await page.waitForSelector('.VPLocalSearchBox .results a.result', { timeout: 15_000 })
    // The results update as the query grows: read them once it has settled.
    await new Promise((ok) => setTimeout(ok, 500))
    return await page.$$eval('.VPLocalSearchBox .results a.result', (as) => as.map((a) => a.getAttribute('href')))
  } catch (err) {
    fail(`${path}: searching for "${query}" found nothing (${err.message.split('\n')[0]})`)
    return []
  } finally {
    await page.close()
  }
}

const t0 = Date.now()
const queue = [...pages]
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    const tab = await newTab()
    while (queue.length) await visit(tab, queue.shift())
    await tab.page.close()
  }),
)

// ---- every internal link: a file of the site, and its anchor an id on that page ----
let linksChecked = 0
for (const [href, on] of links) {
  linksChecked += on.size
  const url = new URL(href)
  const where = `${[...on][0]}${on.size > 1 ? ` (and ${on.size - 1} more)` : ''}`
  if (!fileOf(url.pathname)) {
    fail(`broken link ${url.pathname}${url.hash} on ${where}`)
    continue
  }
  if (!url.hash || url.hash === '#') continue
  const ids = idsOf.get(pageKey(url.pathname))
  const id = decodeURIComponent(url.hash.slice(1))
  if (ids && !ids.has(id)) fail(`broken anchor ${url.pathname}${url.hash} on ${where}: no element with that id`)
}

// ---- the local search, on the English and the Chinese site ----
const searches = [
  { path: '/', query: 'checkAndLogin', expect: (h) => h.some((x) => !x.startsWith('/zh/')) },
  { path: '/zh/', query: 'checkAndLogin', expect: (h) => h.some((x) => x.startsWith('/zh/')), button: '搜索文档' },
  { path: '/zh/', query: '续期', expect: (h) => h.some((x) => x.startsWith('/zh/')) },
]
const searchReport = []
for (const s of searches) {
  const hits = await search(s.path, s.query, s.button)
  if (hits.length && !s.expect(hits)) fail(`search on ${s.path} for "${s.query}" found only other languages' pages: ${hits.join(', ')}`)
  for (const h of hits) {
    if (!fileOf(new URL(h, origin).pathname)) fail(`search result ${h} for "${s.query}" is not a page of the site`)
  }
  searchReport.push(`"${s.query}" on ${s.path}: ${hits.length} result(s)${hits.length ? `, first ${hits[0]}` : ''}`)
}

await browser.close()
server.close()

const checkSeconds = (Date.now() - t0) / 1000
console.log(`docs site check (${version}):`)
console.log(`  pages visited: ${pages.length}`)
console.log(`  links checked: ${linksChecked} internal (${links.size} distinct targets, anchors included), ${externalLinks} external not followed`)
console.log(`  Mermaid diagrams rendered: ${diagrams}`)
for (const line of searchReport) console.log(`  search ${line}`)
console.log(`  console errors: ${consoleErrors}`)
console.log(`  time: ${buildSeconds === null ? 'build reused' : `build ${buildSeconds.toFixed(1)} s`}, browser check ${checkSeconds.toFixed(1)} s`)
if (failures.length) {
  console.error(`docs site check FAILED: ${failures.length} problem(s)${failures.length > 50 ? ' (first 50 above)' : ''}`)
  process.exit(1)
}
console.log('docs site check passed')
