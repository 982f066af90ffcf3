import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One JSON line per event. Tokens and keys can reach a log through error objects and
 * request options, so the usual places are redacted by path, not by hoping.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'slack-managed-agents', pid: process.pid },
      redact: {
        paths: [
          'token',
          '*.token',
          'apiKey',
          '*.apiKey',
          'headers.authorization',
          '*.headers.authorization',
          '*.headers["x-api-key"]',
          'env.SLACK_BOT_TOKEN',
          'env.SLACK_APP_TOKEN',
          'env.SLACK_SIGNING_SECRET',
          'env.ANTHROPIC_API_KEY',
        ],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream | undefined,
  );
}
