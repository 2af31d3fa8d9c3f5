/**
 * A real redis-server for the queue tests: 127.0.0.1, a free port, in a temporary directory (no
 * persistence, or an append-only file for restart tests); killed after. Where redis-server is not installed the tests are skipped with a notice,
 * unless BMP_REQUIRE_REDIS=1 (CI), where its absence fails them.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { tempDir } from './helpers';

export const REDIS_BIN = process.env.BMP_REDIS_SERVER ?? 'redis-server';

export function redisAvailable(): boolean {
  const found = spawnSync(REDIS_BIN, ['--version'], { stdio: 'ignore' }).status === 0;
  if (!found) {
    if (process.env.BMP_REQUIRE_REDIS === '1')
      throw new Error(`BMP_REQUIRE_REDIS=1 but ${REDIS_BIN} cannot be run (apt-get install redis-server)`);
    console.warn(
      `notice: ${REDIS_BIN} not found: the queue tests are skipped (apt-get install redis-server)`,
    );
  }
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
  /** Stops the server (SIGTERM: an append-only file is flushed) and starts it again on the same port and files. */
  restart(downMs?: number): Promise<void>;
}

/**
 * Starts redis-server (with `requirepass` when a password is given) and waits until it answers PING.
 * `appendonly: true` keeps the data in an append-only file, so that `restart()` loses nothing.
 */
export async function startRedis(
  password?: string,
  options: { appendonly?: boolean } = {},
): Promise<RedisServer> {
  const dir = tempDir('bmp-redis-');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
  args.push('--appendonly', options.appendonly ? 'yes' : 'no');
  if (password) args.push('--requirepass', password);
  let child: ChildProcess;
  const halt = async (signal: NodeJS.Signals) => {
    if (child.exitCode != null || child.signalCode != null) return;
    const closed = new Promise((res) => child.once('exit', res));
    child.kill(signal);
    await closed;
  };
  const start = async () => {
    child = spawn(REDIS_BIN, args, { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await answers(port))) {
      if (child.exitCode != null || Date.now() > deadline) {
        await halt('SIGKILL');
        throw new Error(`redis-server on port ${port} did not answer PING`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => halt('SIGKILL'),
    restart: async (downMs = 1500) => {
      await halt('SIGTERM');
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
  };
}

/** True when the server replies to PING (+PONG, or -NOAUTH with a password: it is up either way). */
function answers(port: number): Promise<boolean> {
  return new Promise((res) => {
    const sock = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      sock.destroy();
      res(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => done(/^[+-]/.test(d.toString())));
  });
}
