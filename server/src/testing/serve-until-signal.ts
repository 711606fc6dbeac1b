/**
 * What every fake-API process does once its fake listens (fake-wechat-main, fake-host-main): print
 * exactly one line, `<label>: <url>`, and on SIGTERM or SIGINT close the fake and exit 0.
 */
export function serveUntilSignal(label: string, fake: { url: string; close(): Promise<void> }): void {
  let closing = false
  const shutdown = () => {
    if (closing) return
    closing = true
    fake.close().then(
      () => process.exit(0),
      () => process.exit(0),
    )
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  process.stdout.write(`${label}: ${fake.url}\n`)
}
