/**
 * Issue 12: the token goes only to trusted origins, on every host. The same look-alike URLs as
 * test/hostile-input.test.ts, sent through each host's request call (Alipay's `headers`, uni's and
 * Taro's promise-returning calls): the Authorization header reaches baseURL and trustedOrigins only.
 */
import { createAuth, type AuthOptions } from 'weapp-auth'
import { BASE, EACH_HOST, LOGIN } from './hosts'

const TOKEN = 'T0K3N-secret-abc123'

// [url as the app passes it, gets the token?]
// prettier-ignore
const cases: Array<[string, boolean]> = [
  ['/api/x',                                        true],
  ['https://API.EXAMPLE.COM/x',                     true],
  ['https://api.example.com:443/x',                 true],
  ['//api.example.com/x',                           true],
  ['https://api.example.com?next=https://evil.com', true],
  ['https://cdn.example.com/img',                   true],   // listed in trustedOrigins
  ['https://api.example.com.evil.com/x',            false],  // suffix look-alike
  ['https://api.example.com@evil.com/',             false],  // user info: the host is evil.com
  ['https://a@api.example.com@evil.com/',           false],
  ['//evil.com/x',                                  false],
  ['https://evil.com/https://api.example.com/',     false],
  ['https://api.example.com:8443/x',                false],  // another port
  ['http://api.example.com/x',                      false],  // http vs https
  ['https://sub.api.example.com/x',                 false],
  ['https://api.example.com%2eevil.com/x',          false],
  ['https://cdn.example.com.evil.com/img',          false],
  ['https://api.example.com\\@evil.com/',           false],  // ambiguous authority: no token
]

describe.each(EACH_HOST)('hostile URLs on %s', (_label, c) => {
  test(`${cases.length} URLs: the token reaches baseURL and trustedOrigins only, no Authorization header elsewhere`, async () => {
    const made = c.make({ handler: (r) => (r.path === LOGIN ? { data: { token: TOKEN } } : { data: { ok: true } }) })
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: made.option(), trustedOrigins: ['https://cdn.example.com'] } as AuthOptions)
    await auth.login()
    for (const [url] of cases) await auth.get(url)
    const sent = made.fake.requests.filter((r) => r.path !== LOGIN)
    expect(sent).toHaveLength(cases.length)
    expect(sent.map((r, i) => [cases[i][0], r.header.Authorization === 'Bearer ' + TOKEN])).toEqual(cases)
    for (let i = 0; i < cases.length; i++) {
      if (!cases[i][1]) expect(Object.keys(sent[i].header).map((h) => h.toLowerCase())).not.toContain('authorization')
    }
    expect(JSON.stringify(sent.filter((_r, i) => !cases[i][1]))).not.toContain(TOKEN)
  })

  test('an untrusted absolute URL needs no token: no host login for it, and auth: false sends none', async () => {
    const made = c.make({ handler: (r) => (r.path === LOGIN ? { data: { token: TOKEN } } : { data: { ok: true } }) })
    const auth = createAuth({ baseURL: BASE, login: { url: LOGIN }, platform: made.option() } as AuthOptions)
    await auth.get('https://cdn.other.com/a.json')
    await auth.get('/public', { auth: false })
    expect(made.fake.calls[c.loginCall]).toBe(0)
    expect(made.fake.requests.every((r) => r.header.Authorization === undefined)).toBe(true)
  })
})
