/**
 * What ships for each component in miniprogram_dist/components/<name>/ (the layout of Vant Weapp
 * and TDesign: index.js, index.json, index.wxml, index.wxss), read as DevTools' "build npm" would
 * copy it: every button and input has an aria-label bound to a property, the styles go through
 * the --auth-* CSS variables, external classes are declared, and one default avatar is the only
 * image. `npm test` builds first.
 */
import * as fs from 'fs'
import * as path from 'path'

const root = path.join(__dirname, '..')
const dist = path.join(root, 'miniprogram_dist/components')
const NAMES = ['profile-form', 'phone-button', 'privacy-popup', 'login-panel']

test('the four components, and nothing else, are in miniprogram_dist/components', () => {
  const dirs = fs.readdirSync(dist).filter((n) => fs.statSync(path.join(dist, n)).isDirectory())
  expect(dirs.sort()).toEqual([...NAMES].sort())
  // beside them: weapp-auth/components (provideAuth, guardPage) and the helpers they share
  expect(fs.readdirSync(dist).filter((n) => n.endsWith('.js')).sort()).toEqual(['common.js', 'index.js'])
})

describe.each(NAMES)('%s', (name) => {
  const file = (ext: string) => fs.readFileSync(path.join(dist, name, 'index.' + ext), 'utf8')

  test('index.js, index.json (a component), index.wxml, index.wxss', () => {
    expect(JSON.parse(file('json')).component).toBe(true)
    expect(file('js')).toMatch(/\bdefine\(|Component\(/)
    expect(file('wxml').length).toBeGreaterThan(0)
  })

  test('every button and input has an aria-label bound to a property', () => {
    const wxml = file('wxml')
    const tags = wxml.match(/<(button|input)\b[^>]*>/g) || []
    expect(tags.length).toBeGreaterThan(0)
    for (const tag of tags) expect(tag).toMatch(/aria-label="\{\{\w+\}\}/)
  })

  test('shows nothing unless wired (the root is under wx:if="{{wired…}}")', () => {
    expect(file('wxml')).toMatch(/^<view wx:if="\{\{wired/)
  })

  test('styled through --auth-* variables, themable with external classes', () => {
    expect(file('wxss')).toMatch(/var\(--auth-primary-color, #07c160\)|var\(--auth-text-color/)
    expect(file('js')).toMatch(/externalClasses:\["auth-class"/)
  })
})

test('one image in all: the default avatar', () => {
  const images: string[] = []
  for (const name of NAMES) for (const f of fs.readdirSync(path.join(dist, name))) if (/\.(png|jpe?g|gif|svg|webp)$/.test(f)) images.push(name + '/' + f)
  expect(images).toEqual(['profile-form/default-avatar.png'])
  expect(fs.statSync(path.join(dist, 'profile-form/default-avatar.png')).size).toBeLessThan(2048)
})
