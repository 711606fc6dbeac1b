/**
 * `weapp-auth/testing`: a faithful fake `wx` (and `qq`, `tt`, `my`, `uni`, `Taro`) and an in-memory developer server, for unit tests
 * of the SDK and of mini program pages (set `global.wx = createFakeWx().wx` before requiring
 * miniprogram-simulate).
 */
export { createFakeWx, NETWORK_TASK_LIMIT } from './fake-wx'
export type { FakeWx, FakeWxOptions, FakeBehavior, FakeRequest, FakeReply, FakeHandler, CodeCheck } from './fake-wx'
export { createFakeAuthServer } from './fake-server'
export type { FakeAuthServer, FakeAuthServerOptions, FakeRoute } from './fake-server'
export { phoneEvent, avatarEvent, nicknameReviewEvent, privacyAgreeEvent } from './fake-open-abilities'
export type { FakeOpenAbilities, FakeUserChoices } from './fake-open-abilities'
export type { FakeHostObject } from './fake-host'
// The other hosts, each over the same engine (storage, codes, handlers, task limit), with that
// host's own names, result shapes and error shapes: use with createFakeAuthServer as with the wx fake.
export { createFakeQq } from './fake-qq'
export type { FakeQq } from './fake-qq'
export { createFakeTt } from './fake-tt'
export type { FakeTt } from './fake-tt'
export { createFakeMy } from './fake-my'
export type { FakeMy, FakeMyOptions } from './fake-my'
export { createFakeUni, createFakeTaro } from './fake-framework'
export type { FakeUni, FakeTaro } from './fake-framework'
