import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLACK_EVENTS_PATH } from '../../src/ops/http-server.js';

/**
 * deploy/Caddyfile.replicas run by a real Caddy, not read as text: its three upstreams are
 * stand-ins on loopback ports that answer /readyz and /slack/events as a replica does, so
 * what reaches which replica is counted where it arrives. Caddy is Debian's package
 * (`.ci/run` installs it); CADDY names another binary.
 */
const CADDY = process.env.CADDY ?? 'caddy';
const version = spawnSync(CADDY, ['version'], { encoding: 'utf8' });
const haveCaddy = version.status === 0;
// Without Caddy the file is skipped with the reason in its title, except in CI, which
// installs it: there a missing Caddy is a failure, not a quiet skip.
if (!haveCaddy && process.env.CI !== 'true') console.warn(`${CADDY} is not installed: the Caddyfile tests are skipped (apt-get install caddy)`);
const suite = haveCaddy || process.env.CI === 'true' ? describe : describe.skip;

/** Releases up to 2.11.1 answer 502 where they should pass a POST on to the next replica (below). */
const closesBodyOnFailedDial = (() => {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.stdout?.trim() ?? '');
  if (!m) return false;
  const [major, minor, patch] = m.slice(1).map(Number) as [number, number, number];
  return major === 2 && (minor < 11 || (minor === 11 && patch <= 1));
})();

/** Marks the test's own requests, so they are told apart from Caddy's health checks. */
const CLIENT = 'x-from-test';

type Replica = {
  name: string;
  port: number;
  /** What /readyz answers: 200, or 503 as a replica that cannot reach Redis or Slack. */
  readyStatus: number;
  /** Paths of the test's requests that reached this replica (through Caddy). */
  reached: string[];
  /** Stop listening and drop every connection: the port refuses, as a restarting replica's does. */
  refuse(): Promise<void>;
};

async function startReplica(name: string, readyStatus: number): Promise<Replica & { server: Server }> {
  // Each connection closes after its answer, so Caddy dials anew for every request and a
  // refused replica is refused at the dial. (A request Caddy writes on a kept-alive
  // connection just as the replica closes it is not sent again: it may have reached the
  // replica, and Caddy answers 502.)
  const server = createServer((req, res) => {
    if (req.headers[CLIENT]) replica.reached.push(req.url ?? '');
    if (req.url === '/readyz') return void res.writeHead(replica.readyStatus, { connection: 'close' }).end();
    // The bot acks Slack with a 200; the body names who answered.
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end(name);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const replica = {
    name,
    port: (server.address() as AddressInfo).port,
    readyStatus,
    reached: [] as string[],
    server,
    refuse: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
  return replica;
}

type Caddy = {
  port: number;
  /** Resolves when Caddy's health checks have marked `host` unhealthy (its "unhealthy" event). */
  unhealthy(host: string): Promise<void>;
  output: string[];
  close(): Promise<void>;
};

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * The deployment's Caddyfile with the replicas' host names replaced by the stand-ins' ports,
 * the site on a free loopback port and the health checks' interval made long, behind global options that keep Caddy to itself: no
 * admin endpoint (another run's would hold its port), no certificates, and debug logs, which
 * carry the health checker's "unhealthy" event, the moment an upstream stops getting requests.
 */
async function startCaddy(dir: string, upstreams: Map<string, number>): Promise<Caddy> {
  const source = await readFile(join(process.cwd(), 'deploy/Caddyfile.replicas'), 'utf8');
  let lastError: unknown;
  // Another process can take the free port between the look-up and Caddy's bind: try another.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    let replaced = 0;
    const site = source
      .replace(/^:8080 \{$/m, () => {
        replaced++;
        return `:${port} {`;
      })
      // Caddy checks every upstream as it starts and then every health_interval: with the
      // next check an hour away, the replica refused below is still taken for ready when
      // the requests reach it, whatever the machine's load.
      .replace(/^(\s*health_interval) \S+$/m, (_, key: string) => {
        replaced++;
        return `${key} 1h`;
      })
      .replace(/\b(replica-\d+):3000\b/g, (whole, name: string) => {
        const upstream = upstreams.get(name);
        if (upstream === undefined) return whole;
        replaced++;
        return `127.0.0.1:${upstream}`;
      });
    // The site's address, the interval and each replica once: the rest is the file as it is.
    expect(replaced).toBe(2 + upstreams.size);
    const file = join(dir, 'Caddyfile');
    await writeFile(file, `{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n\tdebug\n}\n${site}`);
    try {
      return await run(file, port, dir);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function run(file: string, port: number, dir: string): Promise<Caddy> {
  const output: string[] = [];
  const unhealthy = new Set<string>();
  const waiting = new Map<string, () => void>();
  const child: ChildProcess = spawn(CADDY, ['run', '--config', file, '--adapter', 'caddyfile'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Caddy keeps its autosaved config and storage under these: the test's folder, not the machine's.
    env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') },
  });
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      output.push(line);
      let entry: { msg?: string; name?: string; data?: { host?: string } };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.msg === 'serving initial configuration') resolve();
      if (entry.msg === 'event' && entry.name === 'unhealthy' && entry.data?.host) {
        unhealthy.add(entry.data.host);
        waiting.get(entry.data.host)?.();
      }
    });
    child.once('error', (error) => reject(new Error(`could not run ${CADDY}: ${error.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`caddy exited (${code ?? signal}) before it served:\n${output.join('\n')}`)));
  });
  return {
    port,
    output,
    unhealthy: (host) => (unhealthy.has(host) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(host, resolve))),
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

suite(`deploy/Caddyfile.replicas in a real Caddy (${haveCaddy ? version.stdout.trim() : `${CADDY} not installed`})`, () => {
  let dir: string;
  let caddy: Caddy;
  let replicas: (Replica & { server: Server })[];
  const [one, two, unready] = [0, 1, 2];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'caddy-replicas-'));
    // The third cannot reach Redis or Slack: its /readyz answers 503 from the start.
    replicas = await Promise.all([startReplica('replica-1', 200), startReplica('replica-2', 200), startReplica('replica-3', 503)]);
    caddy = await startCaddy(dir, new Map(replicas.map((r) => [r.name, r.port])));
    // Caddy's first health checks, as it starts (the next are an hour away).
    await caddy.unhealthy(`127.0.0.1:${replicas[unready]!.port}`);
  });

  afterAll(async () => {
    await caddy?.close();
    for (const r of replicas ?? []) if (r.server.listening) await r.refuse();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const send = async (path: string, method = 'POST') => {
    const res = await fetch(`http://127.0.0.1:${caddy.port}${path}`, {
      method,
      headers: { [CLIENT]: '1' },
      ...(method === 'POST' ? { body: 'payload=%7B%7D' } : {}),
    });
    return { status: res.status, body: await res.text() };
  };
  /** The answers to the requests sent after the second replica stopped listening. */
  const afterRefusal: { status: number; body: string }[] = [];
  const reset = () => {
    for (const r of replicas) r.reached.length = 0;
  };

  it('sends /slack/events to the ready replicas in turn, never to the one whose /readyz answers 503', async () => {
    reset();
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { status, body } = await send(SLACK_EVENTS_PATH);
      expect(status).toBe(200);
      answers.push(body);
    }
    // Round-robin: the two ready replicas take turns.
    for (let i = 1; i < answers.length; i++) expect(answers[i]).not.toBe(answers[i - 1]);
    expect(replicas.map((r) => r.reached.length)).toEqual([3, 3, 0]);
    expect(replicas[one]!.reached).toEqual(Array(3).fill(SLACK_EVENTS_PATH));
    expect(replicas[two]!.reached).toEqual(Array(3).fill(SLACK_EVENTS_PATH));
  });

  it('answers every other path itself with a 404: no replica sees it', async () => {
    reset();
    for (const [path, method] of [
      ['/', 'GET'],
      ['/healthz', 'GET'],
      ['/readyz', 'GET'],
      ['/metrics', 'GET'],
      [`${SLACK_EVENTS_PATH}/more`, 'POST'],
      ['/slack', 'POST'],
    ] as const) {
      expect(await send(path, method), `${method} ${path}`).toEqual({ status: 404, body: '' });
    }
    expect(replicas.flatMap((r) => r.reached)).toEqual([]);
  });

  it('sends nothing to a replica that refuses the connection, nor to the unready one', async () => {
    reset();
    // Refused after Caddy's last health check found it ready: Caddy still picks it in its
    // turn, and lb_try_duration is to take the request on to the next replica.
    await replicas[two]!.refuse();
    afterRefusal.length = 0;
    for (let i = 0; i < 4; i++) afterRefusal.push(await send(SLACK_EVENTS_PATH));
    expect(replicas[two]!.reached).toEqual([]);
    expect(replicas[unready]!.reached).toEqual([]);
    // Answered by the live one, or Caddy's 502 (see the next test), never by another.
    for (const a of afterRefusal) expect(a.status === 200 ? a.body : a.status).toBe(a.status === 200 ? replicas[one]!.name : 502);
  });

  // Caddy up to 2.11.1, Debian's 2.6 among them, closes the request's body when the dial to
  // the replica it picked fails, so the retry at the next one has no body to send and the
  // request is answered 502 (caddyserver/caddy#7546, fixed by #7547). Slack sends an event
  // again after a 502; a click or a slash command it does not.
  (closesBodyOnFailedDial ? it.fails : it)('passes a replica that refuses the connection over for the next one: every request is answered', () => {
    expect(afterRefusal.map((a) => a.status)).toEqual(afterRefusal.map(() => 200));
  });
});
