/** Calls a callback-style Platform method and settles with `{ ok, res }` or `{ ok: false, err }`. */
export function call(fn: ((o: any) => unknown) | undefined, args: Record<string, unknown> = {}): Promise<{ ok: boolean; res?: any; err?: any; task?: any }> {
  if (!fn) throw new Error('platform call missing')
  return new Promise((resolve) => {
    const out: { task?: unknown } = {}
    out.task = fn(Object.assign({}, args, { success: (res: unknown) => resolve({ ok: true, res, task: out.task }), fail: (err: unknown) => resolve({ ok: false, err, task: out.task }) }))
  })
}
