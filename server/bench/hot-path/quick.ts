// scratch: one deployment, one measurement of each
import { deploy } from './deployment'
import { loadLogin, loadMe } from './load'
async function main() {
  const store = (process.argv[2] ?? 'memory') as any
  const n = Number(process.argv[3] ?? 1)
  const d = await deploy({ store, processes: n })
  try {
    await loadMe(d.references, 50, 2); await loadMe(d.bins, 50, 2)
    for (let i = 0; i < 2; i++) {
      const ref = await loadMe(d.references, 50, 4)
      const bin = await loadMe(d.bins, 50, 4)
      console.log(store, n, 'ref', ref, 'bin', bin, 'ratio', (bin.perSecond / ref.perSecond).toFixed(2))
    }
    console.log('login', await loadLogin(d.bins, 50, 4))
  } finally { await d.stop() }
}
main().catch((e) => { console.error(e); process.exit(1) })
