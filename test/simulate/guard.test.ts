/**
 * @jest-environment jsdom
 *
 * guardPage: a page that needs a session waits for one (its onLoad / onShow held), shows the login
 * panel or goes to the login page, and resumes after login. Unit scenarios run on both copies
 * (sources and miniprogram_dist); the last one renders a guarded page with the real panel.
 */
import * as path from 'path'
import { fake, newAuth, simulate, tick } from './components'

const root = path.join(__dirname, '..', '..')
const copies: Array<[string, string]> = [
  ['sources', path.join(root, 'src/components/index.ts')],
  ['miniprogram_dist', path.join(root, 'miniprogram_dist/components/index.js')],
]

type Open = typeof import('weapp-auth/components')
/** A fresh copy of weapp-auth/components (an empty registry). */
function freshOpen(file: string): Open {
  let mod: Open | undefined
  jest.isolateModules(() => {
    mod = require(file)
  })
  return mod!
}

/** What the host does with a page's options: an instance whose hooks it calls. */
function openPage(options: any, route = 'pages/orders/index') {
  const hooks = options.methods || options
  const page: any = Object.create(hooks)
  page.data = Object.assign({}, options.data)
  page.route = route
  page.setData = (d: Record<string, unknown>) => Object.assign(page.data, d)
  return page
}

function recordingPage(log: string[]) {
  return {
    data: { n: 1 },
    onLoad(this: any, q: { id: string }) {
      log.push('load ' + q.id)
    },
    onShow() {
      log.push('show')
    },
    onHide() {
      log.push('hide')
    },
    onUnload() {
      log.push('unload')
    },
  }
}

// Every test starts with no stored session (instances share the fake's storage, as pages share wx's).
beforeEach(() => (fake.wx as unknown as { removeStorageSync(k: string): void }).removeStorageSync('weapp-auth'))

describe.each(copies)('guardPage from %s', (_name, file) => {
  test('a session already: onLoad and onShow run at once', async () => {
    const open = freshOpen(file)
    const auth = newAuth()
    await auth.login()
    open.provideAuth(auth)
    const log: string[] = []
    const page = openPage(open.guardPage(recordingPage(log)))
    page.onLoad({ id: '7' })
    page.onShow()
    expect(log).toEqual(['load 7', 'show'])
    expect(page.data).toEqual({ n: 1, authNeedLogin: false })
  })

  test('no session (panel): held, authNeedLogin; after a login the page resumes with its query, once', async () => {
    const open = freshOpen(file)
    const auth = newAuth()
    open.provideAuth(auth)
    const log: string[] = []
    const page = openPage(open.guardPage(recordingPage(log)))
    page.onLoad({ id: '8' })
    page.onShow()
    expect(log).toEqual([])
    expect(page.data.authNeedLogin).toBe(true)
    await auth.login()
    expect(log).toEqual(['load 8', 'show'])
    expect(page.data.authNeedLogin).toBe(false)
    await auth.login() // a later login (a refresh of the session) does not run onLoad again
    page.onHide()
    page.onShow()
    expect(log).toEqual(['load 8', 'show', 'hide', 'show'])
  })

  test("redirect: redirectTo the login page with this page's path; resumes after login", async () => {
    const open = freshOpen(file)
    const auth = newAuth()
    open.provideAuth(auth)
    const log: string[] = []
    const before = fake.navigations.length
    const page = openPage(open.guardPage(recordingPage(log), { mode: 'redirect', loginPage: '/pages/login/index' }))
    page.onLoad({ id: '9' })
    await tick()
    expect(fake.navigations.slice(before)).toEqual([{ api: 'redirectTo', url: '/pages/login/index?redirect=%2Fpages%2Forders%2Findex' }])
    await auth.login()
    expect(log).toEqual(['load 9'])
  })

  test('navigate: navigateTo the login page; a login while the page is hidden runs onLoad, onShow waits until it shows', async () => {
    const open = freshOpen(file)
    const auth = newAuth()
    open.provideAuth(auth)
    const log: string[] = []
    const before = fake.navigations.length
    const page = openPage(open.guardPage(recordingPage(log), { mode: 'navigate', loginPage: '/pages/login/index?from=guard' }))
    page.onLoad({ id: '10' })
    page.onShow()
    page.onHide() // the login page covers it
    await tick()
    expect(fake.navigations.slice(before)).toEqual([{ api: 'navigateTo', url: '/pages/login/index?from=guard&redirect=%2Fpages%2Forders%2Findex' }])
    await auth.login()
    expect(log).toEqual(['load 10'])
    page.onShow() // back from the login page
    expect(log).toEqual(['load 10', 'show'])
  })

  test('unloaded before any login: its listener goes, nothing runs later', async () => {
    const open = freshOpen(file)
    const auth = newAuth()
    open.provideAuth(auth)
    const listeners = auth.debugState().listeners
    const log: string[] = []
    const page = openPage(open.guardPage(recordingPage(log)))
    page.onLoad({ id: '11' })
    expect(auth.debugState().listeners).toBe(listeners + 1)
    page.onUnload()
    expect(auth.debugState().listeners).toBe(listeners)
    await auth.login()
    expect(log).toEqual(['unload'])
  })

  test('bad options: CONFIG errors; no provideAuth: the page stays held and logs CONFIG naming the call', () => {
    const open = freshOpen(file)
    expect(() => open.guardPage({}, { mode: 'popup' as 'panel' })).toThrow(expect.objectContaining({ code: 'CONFIG' }))
    expect(() => open.guardPage({}, { mode: 'redirect' })).toThrow(/needs loginPage/)
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined)
    const log: string[] = []
    const page = openPage(open.guardPage(recordingPage(log)))
    page.onLoad({ id: '12' })
    expect(log).toEqual([])
    expect(page.data.authNeedLogin).toBe(true)
    expect(error).toHaveBeenCalledTimes(1)
    expect(error.mock.calls[0][0]).toMatchObject({ code: 'CONFIG', message: expect.stringContaining('provideAuth(auth)') })
    error.mockRestore()
  })
})

test('a guarded page shows the login panel; ticking the consent and logging in shows the page, with its query', async () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { provideAuth } = require('weapp-auth/components') as Open
  const auth = newAuth()
  provideAuth(auth)
  const id = simulate.load(path.join(__dirname, 'fixtures/guarded-page/index'))
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { seen } = require('./fixtures/guarded-page/index')
  const page = simulate.render(id)
  page.attach(document.createElement('parent-wrapper'))
  page.instance.onLoad({ shop: 'north' })
  page.instance.onShow()
  await tick()
  const panel = page.querySelector('#panel')
  expect(panel).toBeTruthy()
  expect(page.querySelector('#orders')).toBeFalsy()
  panel.querySelector('#consent').dispatchEvent('tap')
  panel.querySelector('#login').dispatchEvent('tap')
  await tick(50)
  expect(auth.isLoggedIn()).toBe(true)
  expect(seen).toEqual([{ hook: 'onLoad', query: { shop: 'north' } }, { hook: 'onShow' }])
  expect(page.querySelector('#panel')).toBeFalsy()
  expect(page.querySelector('#orders').dom.textContent).toBe('orders of north')
})
