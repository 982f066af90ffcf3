import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseEnv } from '../../src/config/env.js';
import { SLACK_EVENTS_PATH } from '../../src/ops/http-server.js';

/**
 * The example deployment of several replicas (deploy/compose.replicas.yml and its Caddyfile),
 * read as Docker Compose and Caddy would: three replicas of the one image on one Redis, in
 * HTTP mode, and the proxy sending Slack's requests to exactly those replicas. CI has no
 * Docker to run it; this keeps the wiring from drifting (and
 * test/integration/caddy-replicas.test.ts runs the Caddyfile in a real Caddy).
 */
const root = process.cwd();
const read = (file: string) => readFileSync(join(root, file), 'utf8');

type Service = {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  pull_policy?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: string[] | Record<string, unknown>;
  ports?: string[];
};
const compose = parse(read('deploy/compose.replicas.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const replicaNames = Object.keys(services).filter((name) => /^replica-\d+$/.test(name));
const replicas = replicaNames.map((name) => services[name]!);
const env = (s: Service) => s.environment ?? {};

const proxy = services.proxy!;
const caddyMount = (proxy.volumes ?? []).map((v) => v.split(':')).find(([, target]) => target === '/etc/caddy/Caddyfile');
const caddyfile = caddyMount ? read(posix.join('deploy', caddyMount[0]!)) : '';
/** The Caddyfile's words, comments dropped. */
const caddyLines = caddyfile
  .split('\n')
  .map((l) => l.replace(/#.*$/, '').trim())
  .filter(Boolean);
/** Each line with the `handle` blocks it sits in (`handle /slack/events`, `handle`). */
const caddyScoped = (() => {
  const open: string[] = [];
  return caddyLines.map((line) => {
    const scope = [...open];
    if (line.endsWith('{')) open.push(line.replace(/\s*\{$/, ''));
    if (line === '}') open.pop();
    return { line, handles: scope.filter((s) => s === 'handle' || s.startsWith('handle ')) };
  });
})();
const proxyEntry = caddyScoped.find(({ line }) => line.startsWith('reverse_proxy'));
const [, ...upstreams] = (proxyEntry?.line ?? '').replace(/\s*\{$/, '').split(/\s+/);
const proxyPath = proxyEntry?.handles.at(-1)?.split(/\s+/)[1];
const directive = (name: string) => caddyLines.find((l) => l.startsWith(`${name} `))?.split(/\s+/)[1];

describe('deploy/compose.replicas.yml', () => {
  it('runs three replicas of the project’s image, built once from its Dockerfile and never pulled', () => {
    expect(replicaNames).toHaveLength(3);
    const builders = replicaNames.filter((name) => services[name]!.build);
    expect(builders).toHaveLength(1);
    const builder = builders[0]!;
    expect(services[builder]!.build).toEqual({ context: '..', dockerfile: 'Dockerfile' });
    expect(services[builder]!.pull_policy).toBe('build');
    for (const name of replicaNames.filter((n) => n !== builder)) {
      const r = services[name]!;
      expect(r.image).toBe(services[builder]!.image);
      expect(r.pull_policy).toBe('never');
      // Started with the builder, so that its build has run.
      expect(Array.isArray(r.depends_on) ? r.depends_on : Object.keys(r.depends_on ?? {})).toContain(builder);
    }
  });

  it('gives every replica the same STORE_URL, naming the Redis service of the file', () => {
    const urls = new Set(replicas.map((r) => env(r).STORE_URL));
    expect(urls.size).toBe(1);
    const url = new URL([...urls][0]!);
    expect(url.protocol).toBe('redis:');
    const redis = services[url.hostname];
    expect(redis?.image).toMatch(/^redis:/);
    expect(redis?.command?.join(' ') ?? '').toContain(`--appendonly yes`);
    for (const r of replicas) expect(Array.isArray(r.depends_on) ? r.depends_on : Object.keys(r.depends_on ?? {})).toContain(url.hostname);
  });

  it('runs them in HTTP mode (a signing secret, no app token) with variables the bot reads', () => {
    const envSource = read('src/config/env.ts');
    for (const r of replicas) {
      expect(env(r).SLACK_SIGNING_SECRET).toBeDefined();
      expect(env(r).SLACK_APP_TOKEN).toBeUndefined();
      for (const name of Object.keys(env(r))) expect(envSource).toMatch(new RegExp(`^\\s+${name}:`, 'm'));
      // With the operator's values in place of the ${…:?} placeholders, the bot accepts it.
      const values = Object.fromEntries(
        Object.entries(env(r)).map(([k, v]) => [k, v.startsWith('${') ? (k === 'SLACK_BOT_TOKEN' ? 'xoxb-1-2' : 'secret') : v]),
      );
      const parsed = parseEnv(values);
      expect(parsed.kind === 'parsed' && parsed.env.STORE_URL).toBe(env(r).STORE_URL);
    }
  });

  it('the proxy sends /slack/events round-robin to exactly the three replicas, on the port they listen on', () => {
    expect(caddyfile).not.toBe('');
    expect(proxyPath).toBe(SLACK_EVENTS_PATH);
    const expected = replicaNames.map((name) => `${name}:${env(services[name]!).PORT}`);
    expect([...upstreams].sort()).toEqual(expected.sort());
    expect(directive('lb_policy')).toBe('round_robin');
    expect(Array.isArray(proxy.depends_on) ? proxy.depends_on : Object.keys(proxy.depends_on ?? {})).toEqual(expect.arrayContaining(replicaNames));
  });

  it('answers every other path with a 404 of its own, in a handle block of its own', () => {
    // Outside `handle` blocks Caddy runs `respond` before `reverse_proxy`, whatever the order
    // in the file: a bare `respond 404` would answer /slack/events too.
    const responds = caddyScoped.filter(({ line }) => line.startsWith('respond'));
    expect(responds.map(({ line }) => line)).toEqual(['respond 404']);
    expect(responds[0]!.handles).toEqual(['handle']);
  });

  it('checks each replica on a path the bot answers', () => {
    const path = directive('health_uri');
    expect(path).toMatch(/^\/(healthz|readyz)$/);
    expect(read('src/ops/http-server.ts')).toContain(`'${path}'`);
  });
});
