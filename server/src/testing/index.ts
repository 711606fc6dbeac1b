/** `weapp-auth-server/testing`: a fake WeChat API over HTTP, for tests, benchmarks and the example. */
export { createFakeWechat, FAKE_WECHAT_APIS } from './fake-wechat'
export type { FakeWechat, FakeWechatApi, FakeWechatCalls, FakeWechatOptions, FaultOptions, EncryptOptions } from './fake-wechat'
