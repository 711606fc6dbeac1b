/**
 * What the component tests share: the faithful fake wx as the global (set before
 * miniprogram-simulate loads), a fake server, and each component loaded twice: from its sources
 * (jest compiles the TypeScript) and from miniprogram_dist (what ships: `npm test` builds it
 * first), each with the `provideAuth` (weapp-auth/components) of the same copy of the SDK, as in an app after "build npm".
 */
import * as fs from 'fs'
import * as path from 'path'
import { createAuth } from 'weapp-auth'
import * as srcComponents from 'weapp-auth/components'
import * as srcOpen from 'weapp-auth/open'
import { createFakeAuthServer, createFakeWx } from 'weapp-auth/testing'

export const fake = createFakeWx()
;(global as unknown as { wx: unknown }).wx = fake.wx
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const simulate = require('miniprogram-simulate')
export const server = createFakeAuthServer(fake)
fake.setHandler(server.handler)

const root = path.join(__dirname, '..', '..')
const DIST = path.join(root, 'miniprogram_dist')
if (!fs.existsSync(path.join(DIST, 'components'))) throw new Error('miniprogram_dist/components is missing: run `npm run build` first (npm test does).')

export interface Target {
  name: 'sources' | 'miniprogram_dist'
  /** The simulate id of the component. */
  id: string
  /** That copy's weapp-auth/open. */
  open: typeof srcOpen
  /** That copy's weapp-auth/components (provideAuth, guardPage). */
  wiring: typeof srcComponents
}

const loaded: Record<string, Target[]> = {}
/** The component `name` (its folder), from the sources and from the build (loaded once: require caches its JS). */
export function targets(name: string): Target[] {
  const distOpen = require(path.join(DIST, 'open.js')) as typeof srcOpen
  const distComponents = require(path.join(DIST, 'components/index.js')) as typeof srcComponents
  return (loaded[name] = loaded[name] || [
    { name: 'sources', id: simulate.load(path.join(root, 'src/components', name, 'index')), open: srcOpen, wiring: srcComponents },
    { name: 'miniprogram_dist', id: simulate.load(path.join(DIST, 'components', name, 'index')), open: distOpen, wiring: distComponents },
  ])
}

export function newAuth() {
  return createAuth({ baseURL: 'https://api.example.com', login: { url: '/api/auth/login' }, platform: fake.wx })
}

const rendered: any[] = []
// Every component rendered by a test is removed after it, as its page would be.
afterEach(() => {
  for (const comp of rendered.splice(0)) {
    try {
      comp.detach()
    } catch (_) {
      // already removed by the test
    }
  }
})

/** Renders the component and attaches it; the events it fires are collected by name. */
export function render(target: Target, props?: Record<string, unknown>) {
  const comp = simulate.render(target.id, props)
  rendered.push(comp)
  const events: Array<{ name: string; detail: any }> = []
  const parent = document.createElement('parent-wrapper')
  for (const name of ['error', 'saved', 'uploaded', 'bound', 'denied', 'login', 'agree', 'disagree', 'open', 'link']) {
    comp.addEventListener(name, (e: { detail: unknown }) => events.push({ name, detail: e.detail }))
  }
  comp.attach(parent)
  const of = (name: string) => events.filter((e) => e.name === name)
  return { comp, events, of }
}

export const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms))
/** Until no request is in flight, then one more turn for setData. */
export const settle = async () => {
  await tick(5)
  await fake.idle()
  await tick()
}
export const text = (comp: any, sel: string): string => {
  const node = comp.querySelector(sel)
  return node ? node.dom.textContent : ''
}
/** Requests (and uploads) that reached the server for `path`. */
export const sent = (p: string) => fake.requests.filter((r) => r.path === p)
