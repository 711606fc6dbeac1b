/**
 * The type of a fake host object (`fake.wx`, `fake.qq`, `fake.tt`, `fake.my`, `fake.uni`,
 * `fake.taro`): every call `T` names, loosely typed so tests can call them with anything, and the
 * host's other calls. So `fake.wx` is a `Platform` (`createAuth({ platform: fake.wx })`,
 * `ensureScope(…, { platform: fake.wx })`), `fake.tt` a `TtLike` for `douyinPlatform(fake.tt)`,
 * `fake.my` a `MyLike`, and so on, without casts. Its own file, so the wx fake and the others'
 * builder (fake-host.ts) both use it without importing each other.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Fn = (...args: any[]) => any

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FakeHostObject<T> = { [K in keyof T]-?: Fn } & { [name: string]: any }
