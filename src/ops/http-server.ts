import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from './logger.js';
import type { Readiness } from './readiness.js';

export const SLACK_EVENTS_PATH = '/slack/events';
const BODY_LIMIT = 4 * 1024 * 1024;

type SlackListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Decides about one buffered request before Bolt: hand it on, or answer it here. */
export type SlackGate = (
  raw: Buffer,
  headers: IncomingHttpHeaders,
) => { kind: 'forward' } | { kind: 'reply'; status: number; body?: Record<string, unknown> };

/**
 * The process's one HTTP server: /healthz for Docker and orchestrators, and (in HTTP
 * mode) Slack's endpoint, whose body is read and checked (`gate`) before Bolt sees it.
 */
export function createHttpServer(opts: {
  isReady: () => boolean;
  slack?: { listener: SlackListener; gate: SlackGate };
  /** /readyz: whether the process can reach what it needs (Redis, Slack) right now. */
  readiness?: () => Promise<Readiness>;
  /** /metrics: the Prometheus text exposition. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  log: Logger;
}): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const read = req.method === 'GET' || req.method === 'HEAD';
    if (path === '/healthz' && read) {
      const ready = opts.isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: ready }));
      return;
    }
    if (path === '/readyz' && read && opts.readiness) {
      answerReadiness(res, opts.isReady(), opts.readiness).catch((error: unknown) => {
        opts.log.error({ err: error }, 'readiness check failed');
        if (!res.headersSent) res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, reason: 'readiness check failed' }));
      });
      return;
    }
    if (path === '/metrics' && read && opts.metrics) {
      opts.metrics().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(body);
        },
        (error: unknown) => {
          opts.log.error({ err: error }, 'could not collect metrics');
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: 'metrics_failed' }));
        },
      );
      return;
    }
    if (path === SLACK_EVENTS_PATH && req.method === 'POST' && opts.slack) {
      forwardToSlack(req, res, opts.slack, opts.log).catch((error: unknown) => answerAfterError(res, opts.log, error));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: false, error: 'not_found' }));
  });
}

/** 200 when every dependency answers; 503 with the reason while one does not (or while starting / stopping). */
async function answerReadiness(res: ServerResponse, started: boolean, readiness: () => Promise<Readiness>): Promise<void> {
  const state: Readiness = started ? await readiness() : { kind: 'not_ready', failing: ['starting or stopping'] };
  switch (state.kind) {
    case 'ready':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
      return;
    case 'not_ready':
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, reason: `cannot reach: ${state.failing.join(', ')}`, failing: state.failing }));
      return;
    default: {
      const unhandled: never = state;
      return unhandled;
    }
  }
}

async function forwardToSlack(
  req: IncomingMessage,
  res: ServerResponse,
  slack: { listener: SlackListener; gate: SlackGate },
  log: Logger,
): Promise<void> {
  let raw: Buffer;
  try {
    raw = await readBody(req, BODY_LIMIT);
  } catch (error) {
    const tooLarge = error instanceof BodyTooLarge;
    log.warn({ path: SLACK_EVENTS_PATH, tooLarge }, 'could not read inbound request body');
    res.writeHead(tooLarge ? 413 : 400);
    res.end();
    return;
  }
  const decision = slack.gate(raw, req.headers);
  if (decision.kind === 'reply') {
    res.writeHead(decision.status, decision.body ? { 'content-type': 'application/json' } : {});
    res.end(decision.body ? JSON.stringify(decision.body) : undefined);
    return;
  }
  // Bolt reuses a body that is already buffered on `rawBody` instead of reading the stream.
  Object.assign(req, { rawBody: raw });
  slack.listener(req, res);
}

/**
 * A request Slack signed was received; whatever broke on our side, Slack gets a 2xx: it
 * retries a 5xx and turns off the app's events when too many fail.
 */
function answerAfterError(res: ServerResponse, log: Logger, error: unknown): void {
  log.error({ err: error }, 'slack request handler threw');
  if (!res.headersSent) res.writeHead(200);
  res.end();
}

class BodyTooLarge extends Error {}

/**
 * The body, up to `limit` bytes. A larger one is read to its end (up to four times the
 * limit) and then refused, so the sender gets its 413 instead of a reset connection.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 4 * limit) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => (size > limit ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}
