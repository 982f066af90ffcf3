import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/ops/logger.js';

/** A real pino logger writing JSON lines into memory, so tests can read what was logged. */
export function memoryLogger(level = 'info'): {
  log: Logger;
  lines: () => Array<Record<string, unknown>>;
  text: () => string;
  /** Resolves with the first line (logged already or later) the predicate accepts. */
  waitFor: (predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>;
} {
  const chunks: string[] = [];
  const written = new EventEmitter();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      written.emit('line');
      done();
    },
  });
  const log = createLogger(level, sink);
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitFor = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 10_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const hit = lines().find(predicate);
        if (!hit) return;
        clearTimeout(timer);
        written.off('line', check);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        written.off('line', check);
        reject(new Error(`no log line matched within ${timeoutMs} ms: ${predicate.toString()}`));
      }, timeoutMs);
      written.on('line', check);
      check();
    });
  return { log, lines, text, waitFor };
}
