/**
 * The fake wx times every network task as wx does: the call's `timeout`, else app.json's
 * `networkTimeout` (60 000 ms by default). A bare `wx.request` therefore pays for its timer in
 * the overhead bench, as on a device, and a hung answer never leaves a task open forever.
 */
import { createFakeWx } from 'weapp-auth/testing'

type Outcome = { ok: boolean; errMsg?: string; ms: number }

function call(kind: 'request' | 'uploadFile', wx: ReturnType<typeof createFakeWx>['wx'], extra: Record<string, unknown> = {}): Promise<Outcome> {
  const t0 = Date.now()
  return new Promise((resolve) => {
    const o = Object.assign(
      { url: 'https://api.example.com/slow', success: () => resolve({ ok: true, ms: Date.now() - t0 }), fail: (e: { errMsg: string }) => resolve({ ok: false, errMsg: e.errMsg, ms: Date.now() - t0 }) },
      extra,
    )
    ;(wx as unknown as Record<string, (o: unknown) => unknown>)[kind](o)
  })
}

test('a request without timeout fails with "request:fail timeout" after networkTimeout, and frees its task', async () => {
  const fake = createFakeWx({ handler: () => ({ hang: true }), networkTimeout: 40 })
  const r = await call('request', fake.wx)
  expect(r).toMatchObject({ ok: false, errMsg: 'request:fail timeout' })
  expect(r.ms).toBeGreaterThanOrEqual(35)
  expect(fake.network.active).toBe(0)
})

test("an upload without timeout fails with \"uploadFile:fail timeout\"; the call's own timeout wins over networkTimeout", async () => {
  const fake = createFakeWx({ handler: () => ({ hang: true }), networkTimeout: 10000 })
  const own = await call('request', fake.wx, { timeout: 30 })
  expect(own).toMatchObject({ ok: false, errMsg: 'request:fail timeout' })
  expect(own.ms).toBeLessThan(5000)
  const fast = createFakeWx({ handler: () => ({ hang: true }), networkTimeout: 30 })
  const up = await call('uploadFile', fast.wx, { filePath: fast.addTempFile('x'), name: 'file' })
  expect(up).toMatchObject({ ok: false, errMsg: 'uploadFile:fail timeout' })
  expect(fast.network.active).toBe(0)
})

test('the default networkTimeout is 60 000 ms: a fast answer is not cut short, and the timer is cleared', async () => {
  jest.useFakeTimers()
  try {
    const fake = createFakeWx({ handler: () => ({ hang: true }) })
    const p = call('request', fake.wx)
    await jest.advanceTimersByTimeAsync(59999)
    expect(fake.network.active).toBe(1)
    await jest.advanceTimersByTimeAsync(1)
    await expect(p).resolves.toMatchObject({ ok: false, errMsg: 'request:fail timeout' })
    const ok = createFakeWx({ handler: () => ({ data: { v: 1 } }) })
    await expect(call('request', ok.wx)).resolves.toMatchObject({ ok: true })
    expect(jest.getTimerCount()).toBe(0)
  } finally {
    jest.useRealTimers()
  }
})
