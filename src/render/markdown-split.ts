/**
 * Split Markdown into pieces Slack accepts (markdown_text ≤ 12,000 chars), at
 * paragraph boundaries first, then lines; a fence cut in two is closed at the end of
 * one piece and reopened at the start of the next so both render as code.
 */
export const SLACK_MARKDOWN_LIMIT = 12_000;

export function splitMarkdown(text: string, limit = 11_000): string[] {
  if (text.length <= limit) return [text];
  const lines = text.split('\n');
  const pieces: string[] = [];
  let current: string[] = [];
  let currentLength = 0;
  let openFence: string | undefined;
  let fenceAtPieceStart: string | undefined;
  let lastParagraphBreak = -1; // index in `current` after which a blank line outside a fence ends a paragraph

  const flush = (upTo: number) => {
    const head = current.slice(0, upTo);
    const rest = current.slice(upTo);
    const fenceAtCut = fenceStateAfter(fenceAtPieceStart, head);
    let piece = (fenceAtPieceStart ? `${fenceAtPieceStart}\n` : '') + head.join('\n');
    if (fenceAtCut) piece += '\n```';
    pieces.push(piece.replace(/\n+$/, ''));
    fenceAtPieceStart = fenceAtCut;
    current = rest;
    currentLength = rest.reduce((n, l) => n + l.length + 1, 0);
    lastParagraphBreak = -1;
  };

  // Room kept for a reopened fence line and a closing fence.
  const budget = limit - 20;
  for (const rawLine of lines) {
    for (const line of hardWrap(rawLine, budget)) {
      if (currentLength + line.length + 1 > budget && current.length > 0) {
        flush(lastParagraphBreak > 0 ? lastParagraphBreak : current.length);
      }
      current.push(line);
      currentLength += line.length + 1;
      const fenceMatch = /^\s*(```|~~~)/.exec(line);
      if (fenceMatch) openFence = openFence ? undefined : line.trim();
      if (line.trim() === '' && !openFence) lastParagraphBreak = current.length;
    }
  }
  if (current.length > 0) flush(current.length);
  return pieces.filter((p) => p.trim() !== '');
}

function fenceStateAfter(start: string | undefined, lines: string[]): string | undefined {
  let open = start;
  for (const line of lines) if (/^\s*(```|~~~)/.test(line)) open = open ? undefined : line.trim();
  return open;
}

function hardWrap(line: string, max: number): string[] {
  if (line.length <= max) return [line];
  const out: string[] = [];
  for (let i = 0; i < line.length; i += max) out.push(line.slice(i, i + max));
  return out;
}
