import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { Logger } from './logger.js';

export const SLACK_EVENTS_PATH = '/slack/events';
const BODY_LIMIT = 4 * 1024 * 1024;

type SlackListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The process's one HTTP server: /healthz for Docker and orchestrators, and (in HTTP
 * mode) Slack's endpoint, whose body is read and checked here before Bolt sees it.
 */
export function createHttpServer(opts: { isReady: () => boolean; slack?: SlackListener; log: Logger }): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      const ready = opts.isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: ready }));
      return;
    }
    if (path === SLACK_EVENTS_PATH && req.method === 'POST' && opts.slack) {
      void forwardToSlack(req, res, opts.slack, opts.log);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: false, error: 'not_found' }));
  });
}

async function forwardToSlack(req: IncomingMessage, res: ServerResponse, slack: SlackListener, log: Logger): Promise<void> {
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
  const problem = bodyProblem(raw, req.headers['content-type']);
  if (problem) {
    log.warn({ path: SLACK_EVENTS_PATH, problem }, 'rejected inbound body before Bolt');
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: false, error: 'invalid_body' }));
    return;
  }
  // Bolt reuses a body that is already buffered on `rawBody` instead of reading the stream.
  Object.assign(req, { rawBody: raw });
  try {
    slack(req, res);
  } catch (error) {
    log.error({ err: error }, 'slack request handler threw');
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
}

/**
 * Bolt 5.1 reads `body.ssl_check` outside any try: a signed JSON `null` would kill the
 * process. Anything that is not an object (or a form whose payload is not one) stops here.
 */
export function bodyProblem(raw: Buffer, contentType: string | undefined): string | undefined {
  const text = raw.toString('utf8');
  if (contentType === 'application/x-www-form-urlencoded') {
    const form = parseQuery(text);
    if (typeof form.payload !== 'string') return undefined;
    return isObjectJson(form.payload) ? undefined : 'form payload is not a JSON object';
  }
  return isObjectJson(text) ? undefined : 'body is not a JSON object';
}

function isObjectJson(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    // Malformed JSON is Bolt's to answer (400, inside its try).
    return true;
  }
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
