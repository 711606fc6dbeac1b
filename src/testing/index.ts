/**
 * `weapp-auth/testing`: a faithful fake `wx` and an in-memory developer server, for unit tests
 * of the SDK and of mini program pages (set `global.wx = createFakeWx().wx` before requiring
 * miniprogram-simulate).
 */
export { createFakeWx, NETWORK_TASK_LIMIT } from './fake-wx'
export type { FakeWx, FakeWxOptions, FakeBehavior, FakeRequest, FakeReply, FakeHandler, CodeCheck } from './fake-wx'
export { createFakeAuthServer } from './fake-server'
export type { FakeAuthServer, FakeAuthServerOptions, FakeRoute } from './fake-server'
export { phoneEvent, avatarEvent, nicknameReviewEvent } from './fake-open-abilities'
export type { FakeOpenAbilities, FakeUserChoices } from './fake-open-abilities'
