import { createHash } from 'node:crypto';
import type { KnownBlock } from './block-kit.js';

/** One message the thread should show, keyed so delivery can tell posted from new. */
export type SlackBody = { markdown_text: string } | { text: string; blocks?: ReadonlyArray<KnownBlock> };

export function bodyHash(body: SlackBody): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 22);
}
