/**
 * A FIFO slot limiter: at most `max` holders at once, waiters served in order. The platform
 * allows 10 concurrent network tasks; the SDK keeps its own requests, uploads and logins under
 * that. A login or refresh asks with `urgent` and goes to the head of the queue, so it is never
 * stuck behind requests that are themselves waiting for it.
 */

export interface Slot {
  /** Resolves with a release function once a slot is free. */
  ready: Promise<() => void>
  /** Leaves the queue (or frees the slot if it was already granted). Safe to call twice. */
  cancel(): void
}

export interface Limiter {
  acquire(urgent?: boolean): Slot
  /** A slot now, without a promise, when one is free and nobody waits; else null. */
  tryAcquire(): (() => void) | null
  readonly active: number
  readonly queued: number
}

export function createLimiter(max: number): Limiter {
  let active = 0
  /** Grants in order; a cancelled waiter is removed, so every entry is live. */
  const queue: Array<() => void> = []

  /** Takes a slot; the returned release frees it once, however often it is called. */
  function take(): () => void {
    active++
    let released = false
    return () => {
      if (released) return
      released = true
      active--
      while (active < max && queue.length) queue.shift()!()
    }
  }

  return {
    acquire(urgent) {
      let release: (() => void) | undefined
      let grant!: () => void
      const ready = new Promise<() => void>((resolve) => (grant = () => resolve((release = take()))))
      if (active < max && !queue.length) grant()
      else if (urgent) queue.unshift(grant)
      else queue.push(grant)
      return {
        ready,
        cancel() {
          if (release) return release()
          const i = queue.indexOf(grant)
          if (i >= 0) queue.splice(i, 1)
        },
      }
    },
    tryAcquire: () => (active >= max || queue.length ? null : take()),
    get active() {
      return active
    },
    get queued() {
      return queue.length
    },
  }
}
