/**
 * Issue 7: the soak, reduced for `npm test` (the full 10 000 requests run with `npm run bench`
 * or `npx tsx bench/soak.ts`). Same implementation as the bench: see bench/soak.ts for the
 * fault model. Counts only; no timing assertions.
 */
import { describeSoak, runSoak } from '../bench/soak'

test('1 500 requests with random latencies, 5% 401s, 2% network faults, across expiries: all settle, one login per expiry, nothing left behind', async () => {
  const f = await runSoak({ requests: 1500, expiries: 4, seed: 7, measureHeap: false })
  console.log(describeSoak(f))
  expect(f.settled).toBe(f.requests)
  // every outcome is a success or a typed error the fault explains
  const allowed = ['ok', 'UNAUTHORIZED', 'NETWORK_ERROR', 'ABORTED']
  expect(Object.keys(f.outcomes).filter((k) => allowed.indexOf(k) < 0)).toEqual([])
  expect(f.outcomes.NETWORK_ERROR).toBe(f.injected.networkFaults)
  expect(f.expiries.scheduled).toBe(4)
  // one login for the first request and one per expiry; an expiry that no later request presents is never renewed
  expect(f.logins).toBeLessThanOrEqual(f.expectedLogins)
  expect(f.logins).toBeGreaterThanOrEqual(f.expectedLogins - 1)
  expect(f.rejectedLoginCodes).toBe(0)
  expect(f.networkOverLimit).toBe(0)
  expect(f.final).toEqual({ phase: 'idle', activeRequests: 0, queuedRequests: 0, listeners: 0, signalListeners: 0, networkActive: 0 })
})
