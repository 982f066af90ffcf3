import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import type { Logger } from '../ops/logger.js';

/** Bolt and web-api log through pino too, so every line is one JSON object. */
export function boltLogger(log: Logger): SlackLogger {
  const child = log.child({ component: 'bolt' });
  const join = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg) => child.debug(join(msg)),
    info: (...msg) => child.info(join(msg)),
    warn: (...msg) => child.warn(join(msg)),
    error: (...msg) => child.error(join(msg)),
    setLevel: () => undefined,
    getLevel: () => (child.isLevelEnabled('debug') ? LogLevel.DEBUG : LogLevel.INFO),
    setName: () => undefined,
  };
}
