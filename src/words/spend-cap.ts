import { unreachable } from '../ops/unreachable.js';

/** What the person who pressed Raise the cap / End is told when the thread does not say it. */
export type SpendCapReply = { kind: 'not_paused' } | { kind: 'no_cap' };

export function spendCapWords(r: SpendCapReply): string {
  switch (r.kind) {
    case 'not_paused':
      return 'The session is no longer stopped at its cap (someone already raised it or ended it).';
    case 'no_cap':
      return 'This session has no spend cap.';
    default:
      return unreachable(r);
  }
}
