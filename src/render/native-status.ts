import type { ThreadState } from '../bridge/thread-state.js';
import { nativeWords } from '../words/native.js';
import { cutPlain } from './slack-limits.js';
import { inputPreview } from './tool-line.js';

/** The agent-session status Slack shows for a thread (agents.sessions.setStatus). */
export type NativeSessionStatus = 'processing' | 'active' | 'closed';

/**
 * What Slack's own surfaces should show for a thread: the session status, and while it
 * is `processing` the loading messages under Slack's "working…" row.
 */
export type NativeWanted = { status: NativeSessionStatus; loading: readonly string[] };

/** assistant.threads.setStatus rotates at most 10 loading messages. */
export const MAX_LOADING_MESSAGES = 10;
const PREVIEW_CHARS = 60;

/**
 * `processing` while a turn runs (or the first is about to), `active` while the session
 * waits for a person or is done with its turn, `closed` once it has ended. A failure the
 * bridge hit leaves nothing running: `active`, so the person may reply.
 */
export function nativeWanted(state: ThreadState, o: { failed: boolean }): NativeWanted {
  if (state.phase === 'terminated') return { status: 'closed', loading: [] };
  if (o.failed) return { status: 'active', loading: [] };
  switch (state.phase) {
    case 'starting':
      return { status: 'processing', loading: [nativeWords({ kind: 'loading_thinking' })] };
    case 'running':
      return { status: 'processing', loading: loadingOf(state) };
    case 'waiting':
    case 'idle':
      return { status: 'active', loading: [] };
  }
}

/** The tools running now, newest first ("running `npm test`…"), or "thinking…" when none is. */
function loadingOf(state: ThreadState): string[] {
  const running: string[] = [];
  for (let i = state.items.length - 1; i >= 0 && running.length < MAX_LOADING_MESSAGES; i -= 1) {
    const item = state.items[i]!;
    if (item.kind !== 'tools' || item.turn !== state.turn) continue;
    for (let j = item.tools.length - 1; j >= 0 && running.length < MAX_LOADING_MESSAGES; j -= 1) {
      const tool = item.tools[j]!;
      if (tool.status !== 'running') continue;
      const preview = inputPreview(tool.input, PREVIEW_CHARS).replace(/`/g, "'");
      running.push(nativeWords({ kind: 'loading_tool', tool: cutPlain(tool.name, PREVIEW_CHARS), preview }));
    }
  }
  return running.length > 0 ? [...new Set(running)] : [nativeWords({ kind: 'loading_thinking' })];
}

/** The session title Slack shows: the prompt's first line, within Slack's 200 characters. */
export function sessionTitle(prompt: string): string {
  const line = prompt.replace(/\s+/g, ' ').trim();
  return cutPlain(line === '' ? 'Agent session' : line, 200);
}
