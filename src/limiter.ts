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

interface Waiter {
  grant: () => void
  done: boolean
}

export function createLimiter(max: number): Limiter {
  let active = 0
  const queue: Waiter[] = []

  function next(): void {
    while (active < max && queue.length) {
      const w = queue.shift()!
      if (w.done) continue
      active++
      w.grant()
    }
  }

  function acquire(urgent?: boolean): Slot {
    let granted = false
    let released = false
    let resolveReady!: (release: () => void) => void
    const ready = new Promise<() => void>((r) => (resolveReady = r))
    const release = (): void => {
      if (!granted || released) return
      released = true
      active--
      next()
    }
    const waiter: Waiter = {
      done: false,
      grant: () => {
        granted = true
        waiter.done = true
        resolveReady(release)
      },
    }
    if (urgent) queue.unshift(waiter)
    else queue.push(waiter)
    next()
    return {
      ready,
      cancel() {
        if (granted) release()
        else if (!waiter.done) {
          waiter.done = true
          const i = queue.indexOf(waiter)
          if (i >= 0) queue.splice(i, 1)
        }
      },
    }
  }

  function tryAcquire(): (() => void) | null {
    if (active >= max || queue.length) return null
    active++
    let released = false
    return () => {
      if (released) return
      released = true
      active--
      next()
    }
  }

  return {
    acquire,
    tryAcquire,
    get active() {
      return active
    },
    get queued() {
      return queue.length
    },
  }
}
