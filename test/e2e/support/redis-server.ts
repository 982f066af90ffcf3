import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { freePort } from './bot-process.js';

/** `redis-server` from PATH (CI installs Debian's package when it is missing); REDIS_SERVER names another binary. */
const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, for STORE_URL. */
  url: string;
  port: number;
  /** Everything the server wrote (its log), for a failing test's message. */
  output: string[];
  /** FLUSHALL: the next test starts on an empty store. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A redis-server of its own on a free loopback port, with nothing persisted: replicas of one
 * test share it, and no other test (nor the Redis on 6379 other tools use) sees its keys.
 */
export async function startRedisServer(): Promise<RedisServer> {
  let lastError: unknown;
  // Another process can take the free port between the look-up and the bind: try another.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      return await startOn(port);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOn(port: number): Promise<RedisServer> {
  const output: string[] = [];
  const child: ChildProcess = spawn(
    BINARY,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'notice'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (line.includes('Ready to accept connections')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    child.once('error', (error) => reject(new Error(`could not run ${BINARY}: ${error.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${output.join('\n')}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    output,
    flush: () => command(port, ['FLUSHALL']).then(() => undefined),
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** One command over RESP on a connection of its own; resolves with the first reply line. */
function command(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.on('data', (d: Buffer) => {
      reply += d.toString('utf8');
      if (!reply.includes('\r\n')) return;
      socket.end();
      const line = reply.slice(0, reply.indexOf('\r\n'));
      if (line.startsWith('-')) reject(new Error(`redis: ${line.slice(1)}`));
      else resolve(line);
    });
    socket.on('error', reject);
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}
