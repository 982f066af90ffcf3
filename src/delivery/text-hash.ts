import { createHash } from 'node:crypto';

/**
 * A short fingerprint of the words a Slack message carries: enough to tell that a text
 * block still starts with what was delivered, without keeping the words themselves.
 */
export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}
