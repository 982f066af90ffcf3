import type { ThreadState, Item } from '../bridge/thread-state.js';
import type { Notice } from '../store/thread-records.js';
import { splitMarkdown } from './markdown-split.js';
import { escapeMrkdwn, sanitizeForSlack } from './sanitize.js';
import type { WantedMessage } from './slack-message.js';
import { renderToolLine } from './tool-line.js';

const LINES_PER_CONTEXT = 10;
const MAX_TOOL_LINES = 40;

/**
 * The thread's replies, in order, as they should look now. Keys are stable across
 * re-renders (derived from event ids), so delivery posts each once and edits in place.
 */
export function renderThread(state: ThreadState, notices: readonly Notice[] = []): WantedMessage[] {
  const pending = [...notices].sort((a, b) => a.afterItems - b.afterItems);
  const wanted: WantedMessage[] = [];
  const emitNoticesUpTo = (itemCount: number) => {
    while (pending.length > 0 && pending[0]!.afterItems <= itemCount) {
      const n = pending.shift()!;
      wanted.push({ key: `notice:${n.key}`, body: { text: `:warning: ${escapeMrkdwn(sanitizeForSlack(n.text))}` } });
    }
  };
  emitNoticesUpTo(0);
  state.items.forEach((item, index) => {
    wanted.push(...renderItem(item));
    emitNoticesUpTo(index + 1);
  });
  emitNoticesUpTo(Number.POSITIVE_INFINITY);
  return wanted;
}

function renderItem(item: Item): WantedMessage[] {
  switch (item.kind) {
    case 'text':
      return splitMarkdown(sanitizeForSlack(item.text)).map((part, i) => ({
        key: `text:${item.id}:${i}`,
        body: { markdown_text: part },
      }));
    case 'tools': {
      const lines = item.tools.map(renderToolLine);
      const hidden = Math.max(0, lines.length - MAX_TOOL_LINES);
      const shown = hidden > 0 ? [`… ${hidden} earlier tool calls`, ...lines.slice(hidden)] : lines;
      const blocks = [];
      for (let i = 0; i < shown.length; i += LINES_PER_CONTEXT) {
        blocks.push({
          type: 'context',
          elements: [{ type: 'mrkdwn', text: shown.slice(i, i + LINES_PER_CONTEXT).join('\n') }],
        });
      }
      const fallback = `Tool activity: ${item.tools.map((t) => `${t.name} (${t.status})`).join(', ')}`;
      return [{ key: `tools:${item.id}`, body: { text: fallback.slice(0, 3000), blocks } }];
    }
    case 'error':
      return [{ key: `error:${item.id}`, body: { text: `:warning: ${escapeMrkdwn(sanitizeForSlack(item.text))}` } }];
  }
}
