import { scrubSecrets } from '../ops/secrets.js';

/**
 * Agent output is untrusted text that lands in a shared channel: it must not ping
 * everyone, and must not repeat a token it found in a file.
 */
export function sanitizeForSlack(text: string): string {
  return scrubSecrets(text)
    .replace(/<!(here|channel|everyone|subteam\^[^>|]*)(\|[^>]*)?>/gi, (_m, name: string) => `@\u200b${name.replace(/^subteam\^.*/, 'group')}`)
    .replace(/<!([^>]*)>/g, '<\u200b!$1>')
    .replace(/@(here|channel|everyone)\b/gi, '@\u200b$1');
}

/** Escape text going into Slack mrkdwn (section/context blocks, top-level text). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
