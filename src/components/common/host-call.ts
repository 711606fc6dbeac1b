/** The host calls of the components and the guard (navigation, the privacy contract). */
declare const wx: object | undefined

/**
 * Calls the host API `name` (the instance's adapter, which delegates to `wx`; else the global
 * `wx`) as a promise: rejects with `{ errMsg }` when it fails or is missing.
 */
export function hostCall<T = unknown>(platform: object | undefined, name: string, args?: object): Promise<T> {
  const api = (platform || (typeof wx == 'object' ? wx : undefined)) as Record<string, (o: object) => void> | undefined
  return new Promise<T>((resolve, reject) => {
    if (!api || typeof api[name] !== 'function') return reject({ errMsg: name + ':fail not supported' })
    api[name](Object.assign({ success: resolve, fail: reject }, args))
  })
}
