/** `weapp-auth-server/testing`: a fake WeChat API over HTTP, for tests, benchmarks and the example. */
export { createFakeWechat, FAKE_WECHAT_APIS } from './fake-wechat'
export type { FakeWechat, FakeWechatApi, FakeWechatCalls, FakeWechatOptions, FaultOptions, EncryptOptions } from './fake-wechat'
/** Fakes of the other hosts' APIs (QQ, Douyin, Alipay), over HTTP like the WeChat one. */
export { createFakeQq } from './fake-qq'
export type { FakeQq, FakeQqApi, FakeQqOptions } from './fake-qq'
export { createFakeDouyin, FAKE_DOUYIN_APIS } from './fake-douyin'
export type { FakeDouyin, FakeDouyinApi, FakeDouyinOptions } from './fake-douyin'
export { createFakeAlipay } from './fake-alipay'
export type { FakeAlipay, FakeAlipayApi, FakeAlipayOptions } from './fake-alipay'
export type { FakeHostControls, HostFaultOptions } from './fake-host'
