import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardTo, readAll } from './forward.js';

export interface Forwarded {
  /** The upstream port that took it, or undefined when none could be reached (502). */
  upstream: number | undefined;
  status: number;
  path: string;
}

export interface RoundRobinProxy {
  url: string;
  /** Every request and where it went, in the order they were answered. */
  readonly forwarded: Forwarded[];
  close(): Promise<void>;
}

/**
 * A load balancer in front of the replicas, as one in production would be: each request
 * goes to the next upstream in turn; an upstream that refuses the connection (a replica
 * that is down or restarting) is passed over for the next one, as nginx's
 * `proxy_next_upstream error` does. Nothing else is retried: once a request reached a
 * replica, sending it again could do its work twice, so a broken connection then answers
 * 502 (Slack redelivers an event that got no 2xx, as it would).
 */
export async function startRoundRobinProxy(upstreams: readonly number[]): Promise<RoundRobinProxy> {
  const agent = new Agent({ keepAlive: false });
  const forwarded: Forwarded[] = [];
  let next = 0;

  const server = createServer(async (req, res) => {
    const body = await readAll(req).catch(() => undefined);
    if (!body) return void res.destroy();
    const first = next;
    next = (next + 1) % upstreams.length;
    for (let i = 0; i < upstreams.length; i++) {
      const port = upstreams[(first + i) % upstreams.length]!;
      const outcome = await forwardTo(port, req, body, res, agent);
      if (outcome.kind === 'refused') continue;
      forwarded.push({ upstream: port, status: outcome.kind === 'answered' ? outcome.status : 502, path: req.url ?? '/' });
      return;
    }
    res.writeHead(502).end();
    forwarded.push({ upstream: undefined, status: 502, path: req.url ?? '/' });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
