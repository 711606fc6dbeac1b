/**
 * The "Testing your pages" guide's first example (docs/guide/testing.md and docs/zh/guide/testing.md show the same code),
 * compiled by `npm run typecheck` (`tsc -p test/tsconfig.json`): the fakes' host objects pass as
 * `platform` to `createAuth` and to the open helpers without casts. test/readme.test.ts checks that
 * both pages still show exactly the code between the markers below (comments aside).
 */
// The README's imports, as written:
import { createAuth } from 'weapp-auth'
import { ensureScope } from 'weapp-auth/open'
import { createFakeWx, createFakeAuthServer } from 'weapp-auth/testing'
// What the rest of this file uses:
import { expectTypeOf } from 'expect-type'
import { createFakeQq, createFakeTt, createFakeMy, createFakeUni, createFakeTaro } from 'weapp-auth/testing'
import { alipayPlatform, douyinPlatform, qqPlatform, taroPlatform, uniPlatform } from 'weapp-auth/platforms'
import { createAuth as createAuthCore } from 'weapp-auth/core'

// The snippet awaits at its top level (as in an ES module test file); here it runs in a function.
export async function readmeSnippet(): Promise<void> {
  // README snippet starts
  const fake = createFakeWx({ latency: 5 })
  const server = createFakeAuthServer(fake)
  server.route('GET', '/api/orders', (req, { userId }) => ({ data: [{ id: 1, userId }] }))
  fake.setHandler(server.handler)
  ;(global as any).wx = fake.wx

  const auth = createAuth({ baseURL: 'https://api.example.com', login: { url: '/api/auth/login' }, platform: fake.wx })
  await ensureScope('scope.camera', { platform: fake.wx })
  // README snippet ends
  void auth
}

// The other documented ways: each host's fake to its adapter, uni and Taro as they are, the core entry.
const options = { baseURL: 'https://api.example.com', login: { url: '/api/auth/login' } }
createAuth({ ...options, platform: createFakeQq().qq })
createAuth({ ...options, platform: qqPlatform(createFakeQq().qq) })
createAuth({ ...options, platform: douyinPlatform(createFakeTt().tt) })
createAuth({ ...options, platform: alipayPlatform(createFakeMy().my) })
createAuth({ ...options, platform: createFakeUni().uni })
createAuth({ ...options, platform: uniPlatform(createFakeUni().uni) })
createAuth({ ...options, platform: createFakeTaro().taro })
createAuth({ ...options, platform: taroPlatform(createFakeTaro().taro) })
createAuthCore({ ...options, platform: createFakeWx().wx })

// The switches: set field by field, or as a whole (the fields left out go back to their defaults).
const fake = createFakeWx()
fake.userChoices = { authorize: 'deny', modal: 'cancel', openSetting: { 'scope.camera': true }, privacy: 'disagree' }
fake.userChoices = { authorize: 'deny' }
fake.userChoices.authorize = 'allow'
fake.behavior = { login: 'fail' }
fake.privacy = { needAuthorization: true }
fake.scopes = { 'scope.camera': false }
createFakeQq().userChoices = { modal: 'cancel' }
createFakeMy().behavior = { storageRead: 'hang' }
expectTypeOf(createFakeWx().userChoices.authorize).toEqualTypeOf<'allow' | 'deny'>()
// @ts-expect-error not an answer the fake knows
fake.userChoices = { authorize: 'maybe' }
// @ts-expect-error no such choice
fake.userChoices = { authorise: 'deny' }
// @ts-expect-error not a login behaviour
fake.behavior.login = 'timeout'
