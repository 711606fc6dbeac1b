import { createFakeTaro, createFakeUni } from '../../src/testing/fake-framework'
import type { FakeWxOptions } from '../../src/testing/fake-wx'

/** The uni or Taro fake (targeting WeChat) for the parametrised suites. */
export function createFakeFramework(kind: 'uni' | 'taro', options: FakeWxOptions = {}): any {
  return kind === 'uni' ? createFakeUni(options) : createFakeTaro(options)
}
