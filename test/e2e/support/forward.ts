import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:http';

export type ForwardOutcome =
  | { kind: 'answered'; status: number }
  /** Nothing reached the upstream (it was down): safe to try another. */
  | { kind: 'refused' }
  /** The upstream took the request and then the connection broke. */
  | { kind: 'broken' };

/**
 * Sends one buffered request to 127.0.0.1:`port` and pipes the answer back as it comes
 * (event streams included). Either side going away ends the other: a client killed with
 * SIGKILL closes its upstream connection too, as it would without anything in between.
 */
export function forwardTo(port: number, req: IncomingMessage, body: Buffer, res: ServerResponse, agent: Agent): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    const headers = { ...req.headers, 'content-length': String(body.length) };
    const out = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent }, (answer) => {
      const status = answer.statusCode ?? 502;
      res.writeHead(status, answer.headers);
      // An event stream's headers come before any event: pass them on at once, as the
      // client waits for them before it counts the stream as open.
      res.flushHeaders();
      answer.pipe(res);
      answer.on('end', () => resolve({ kind: 'answered', status }));
      answer.on('error', () => {
        res.destroy();
        resolve({ kind: 'broken' });
      });
      answer.on('aborted', () => res.destroy());
    });
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    out.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') return resolve({ kind: 'refused' });
      if (!res.headersSent) res.writeHead(502);
      res.destroy();
      resolve({ kind: 'broken' });
    });
    out.end(body);
  });
}

/** The whole request body. */
export function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
