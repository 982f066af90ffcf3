import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Where the child's bot is built: apart from dist/, which `npm start` (the npm-start test)
 * rebuilds at the same time. Built once per run (test/e2e/support/build.ts, the e2e files'
 * globalSetup) and shared by every file that runs the built bot.
 */
export const TEST_DIST = '.e2e-dist';

/**
 * Builds the bot into TEST_DIST unless it is newer than every source file (the child runs the
 * built bot). Without type checks (`--noCheck`, the same JavaScript): `npm test` has already
 * type-checked src with `tsc -p tsconfig.json --noEmit`, and `npm start` (the npm-start test)
 * builds with them. Written to a folder of its own and renamed into place, so a build cut
 * off halfway never leaves a bot.js that looks newer than the sources beside missing files.
 */
export function ensureBuilt(root = process.cwd()): void {
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }, 0);
  let built = 0;
  try {
    built = statSync(join(root, TEST_DIST, 'src/bot.js')).mtimeMs;
  } catch {
    built = 0;
  }
  if (built > newest(join(root, 'src'))) return;
  const staging = join(root, `${TEST_DIST}-${process.pid}`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  rmSync(staging, { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', staging, '--noCheck'], { cwd: root, stdio: 'inherit' });
  rmSync(join(root, TEST_DIST), { recursive: true, force: true });
  renameSync(staging, join(root, TEST_DIST));
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The built bot in a child process (test/e2e/support/bot-child.mjs), started again and
 * again on the same environment (same store file, same port), and killed with SIGKILL.
 */
export class BotProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Every line the children wrote, across restarts. */
  readonly output: string[] = [];
  private readonly outputListeners = new Set<() => void>();

  /** Calls `listener` after each line the child writes; returns the function that stops it. */
  onOutput(listener: () => void): () => void {
    this.outputListeners.add(listener);
    return () => this.outputListeners.delete(listener);
  }
  starts = 0;

  constructor(
    private readonly env: Record<string, string>,
    private readonly options: Record<string, unknown> = {},
  ) {}

  /** Set the moment a kill is sent (the exit comes later): a dying child is not alive. */
  private killed = false;

  get alive(): boolean {
    return this.child !== undefined && !this.killed && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    // Never two children at once (they would share the store and the port).
    await this.exited;
    if (this.closed) throw new Error('bot process closed');
    this.killed = false;
    const proc = spawn(process.execPath, ['test/e2e/support/bot-child.mjs'], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? '', ...this.env, BOT_TEST_OPTIONS: JSON.stringify(this.options), BOT_DIST: TEST_DIST },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = proc;
    this.starts += 1;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout! });
      lines.on('line', (line) => {
        this.output.push(line);
        if (line.includes('"bot is ready"')) resolve();
        for (const listener of this.outputListeners) listener();
      });
      proc.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
      proc.once('exit', (code, signal) =>
        reject(new Error(`bot exited (${code ?? signal}) before it was ready:\n${this.output.slice(-30).join('\n')}`)),
      );
    });
  }

  private closed = false;

  /** Kills the child and starts no other (a restart scheduled meanwhile fails). */
  async close(): Promise<void> {
    this.closed = true;
    await this.kill();
  }

  /** kill -9: no shutdown code runs, writes in flight are cut where they are. */
  async kill(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.killed = true;
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  /** Sends `signal` to the live child (SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child!.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.alive) this.child!.kill('SIGTERM');
    await this.exited;
  }

  /** Log lines (parsed JSON) at or above `level`. */
  logs(level: 'debug' | 'info' | 'warn' | 'error' = 'debug'): Array<Record<string, unknown>> {
    const order = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
    return this.output.flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        const o = JSON.parse(l) as Record<string, unknown>;
        return order.indexOf(String(o.level)) >= order.indexOf(level) ? [o] : [];
      } catch {
        return [];
      }
    });
  }
}
