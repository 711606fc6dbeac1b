/**
 * A throwaway Redis Cluster for the benchmark: six `redis-server --cluster-enabled yes` nodes on
 * free ports, each in its own folder, joined by `redis-cli --cluster create … --cluster-replicas 1`
 * into 3 masters and 3 replicas, ready once `cluster_state:ok`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { freePort, terminate, track } from '../../test/helpers/processes'

export interface RedisClusterHandle {
  /** `127.0.0.1:<port>` of every node. */
  nodes: string[]
  stop(): Promise<void>
}

function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (err, stdout, stderr) => (err ? reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout)))
  })
}

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weapp-auth-bench-cluster-'))
  const nodes: { child: ChildProcess; exited: Promise<void> }[] = []
  const ports: number[] = []
  const stop = async () => {
    await Promise.all(nodes.map((n) => terminate(n.child, n.exited, 2000)))
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freePort()
      const cwd = path.join(dir, String(port))
      fs.mkdirSync(cwd)
      const child = spawn(
        process.env.REDIS_SERVER_BIN || 'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000', '--save', '', '--appendonly', 'no'],
        { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      nodes.push({ child, exited: track(child).exited })
      ports.push(port)
    }
    const cli = process.env.REDIS_CLI_BIN || 'redis-cli'
    for (const port of ports) {
      for (let tries = 0; ; tries++) {
        try {
          if ((await run(cli, ['-p', String(port), 'ping'], 1000)).trim() === 'PONG') break
        } catch {
          if (tries > 100) throw new Error(`redis node on ${port} never answered PING`)
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    await run(cli, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], 30000)
    for (let tries = 0; ; tries++) {
      if ((await run(cli, ['-p', String(ports[0]), 'cluster', 'info'], 1000)).includes('cluster_state:ok')) break
      if (tries > 200) throw new Error('the Redis Cluster never reached cluster_state:ok')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return { nodes: ports.map((p) => `127.0.0.1:${p}`), stop }
  } catch (err) {
    await stop().catch(() => undefined)
    throw err
  }
}
