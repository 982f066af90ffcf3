import { describe, expect, it } from 'vitest';
import {
  carrying,
  cut,
  DEFAULT_LIMITS,
  fenceCloser,
  fenceOpenerAt,
  planText,
  type Segment,
  type TextPlanInput,
} from '../../src/delivery/text-plan.js';
import { ThreadRecordSchema } from '../../src/store/thread-records.js';

/** A segment that carries `text` (only its length and hash are kept, as in the store). */
const seg = ({ text = '', ...s }: Partial<Segment> & { text?: string }): Segment => ({
  ts: '1.1',
  mode: 'stream',
  ...carrying(text),
  prefix: '',
  closed: false,
  startedAt: 0,
  lastWriteAt: 0,
  ...s,
});
const plan = (p: Partial<TextPlanInput>) =>
  planText({ text: '', committed: 0, open: true, segments: [], now: 10_000, pendingSince: 10_000, canStream: true, ...p });

describe('planText', () => {
  it('lingers briefly, then opens a stream with all pending text (a burst becomes one call)', () => {
    expect(plan({ text: 'hello', committed: 5, pendingSince: 9_950 })).toEqual({ kind: 'wait', until: 9_950 + DEFAULT_LIMITS.streamLingerMs });
    expect(plan({ text: 'hello world', committed: 11, pendingSince: 10_000 - DEFAULT_LIMITS.streamLingerMs })).toEqual({
      kind: 'start_stream',
      text: 'hello world',
      prefix: '',
    });
  });

  it('appends at most once per flush interval, and stops with the rest when the block is done', () => {
    const open = seg({ text: 'hello', lastWriteAt: 9_500 });
    expect(plan({ text: 'hello there', committed: 11, segments: [open] })).toEqual({ kind: 'wait', until: 9_500 + DEFAULT_LIMITS.flushMs });
    expect(plan({ text: 'hello there', committed: 11, segments: [open], now: 9_500 + DEFAULT_LIMITS.flushMs })).toEqual({
      kind: 'append',
      segment: 0,
      text: ' there',
      carries: 'hello there',
    });
    expect(plan({ text: 'hello there', committed: 11, segments: [open], open: false })).toEqual({
      kind: 'stop',
      segment: 0,
      text: ' there',
      suffix: '',
      carries: 'hello there',
    });
    expect(plan({ text: 'hello', committed: 5, segments: [open] })).toEqual({ kind: 'none' });
  });

  it('rolls a stream over before Slack expires it or it grows past the limit', () => {
    const old = seg({ text: 'a', startedAt: 0 });
    expect(plan({ text: 'ab', committed: 2, segments: [old], now: DEFAULT_LIMITS.maxStreamAgeMs - 1 })).toMatchObject({ kind: 'append' });
    expect(plan({ text: 'ab', committed: 2, segments: [old], now: DEFAULT_LIMITS.maxStreamAgeMs })).toMatchObject({ kind: 'stop', segment: 0 });
    const nearlyFull = 'x'.repeat(DEFAULT_LIMITS.maxSegment - 10);
    const big = seg({ text: nearlyFull, startedAt: 9_000 });
    const more = `${nearlyFull}\n\n${'y'.repeat(50)}`;
    const action = plan({ text: more, committed: more.length, segments: [big] });
    expect(action).toMatchObject({ kind: 'stop', segment: 0, text: '' });
  });

  it('posts a finished answer that fits in one Slack message whole, past the split size', () => {
    const paragraph = `${'x'.repeat(98)}\n\n`;
    const text = paragraph.repeat(Math.floor((DEFAULT_LIMITS.maxSegment + 1000) / paragraph.length)).trimEnd();
    expect(text.length).toBeGreaterThan(DEFAULT_LIMITS.maxSegment);
    expect(text.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxMessage);
    expect(plan({ text, committed: text.length, canStream: false, open: false })).toEqual({ kind: 'post', text, prefix: '', suffix: '' });
  });

  it('an answer longer than one message is still split at a paragraph within the split size', () => {
    const paragraph = `${'x'.repeat(98)}\n\n`;
    const text = paragraph.repeat(Math.ceil((DEFAULT_LIMITS.maxMessage + 100) / paragraph.length));
    const action = plan({ text, committed: text.length, canStream: false, open: false });
    expect(action).toMatchObject({ kind: 'post' });
    const body = action.kind === 'post' ? action.text : '';
    expect(body.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxSegment);
    expect(body.endsWith('\n\n')).toBe(true);
  });

  it('counts a reopened code fence and its closer against the one-message limit', () => {
    const code = `\`\`\`\n${'y'.repeat(DEFAULT_LIMITS.maxMessage - 6)}\n`;
    // Delivered: the fence line. What is left fits 12,000 alone, not with the fence reopened and closed.
    const opened = seg({ text: '```\n', mode: 'post', closed: true });
    const action = plan({ text: code, committed: code.length, canStream: false, open: false, segments: [opened] });
    expect(action).toMatchObject({ kind: 'post', prefix: '```\n' });
    const body = action.kind === 'post' ? action.text : '';
    expect(body.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxSegment);
  });

  it('without stream budget posts only final text, batched while the turn runs, at once when done', () => {
    const text = 'Done one.\n\nprev';
    expect(plan({ text, committed: 9, canStream: false, pendingSince: 9_900 })).toEqual({ kind: 'wait', until: 9_900 + DEFAULT_LIMITS.postLingerMs });
    expect(plan({ text, committed: 9, canStream: false, pendingSince: 10_000 - DEFAULT_LIMITS.postLingerMs })).toEqual({
      kind: 'post',
      text: 'Done one.',
      prefix: '',
      suffix: '',
    });
    expect(plan({ text: 'final', committed: 5, canStream: false, open: false })).toEqual({ kind: 'post', text: 'final', prefix: '', suffix: '' });
    expect(plan({ text: 'preview only', committed: 0, canStream: false })).toEqual({ kind: 'none' });
  });

  it('rewrites a message whose shown text went wrong (a withdrawn preview)', () => {
    const shown = seg({ text: 'I will delete', closed: true, mode: 'post' });
    expect(plan({ text: 'I will check', committed: 12, segments: [shown], open: false })).toEqual({
      kind: 'rewrite',
      segment: 0,
      text: 'I will check',
      suffix: '',
    });
  });

  it("a message whose words are not known (hash '') is rewritten with the block's text, later ones dropped", () => {
    const unknown = seg({ closed: true, hash: '', length: 0 });
    const later = seg({ text: 'x', closed: true, mode: 'post' });
    expect(plan({ text: 'all of it', committed: 9, segments: [unknown, later], open: false })).toEqual({
      kind: 'rewrite',
      segment: 0,
      text: 'all of it',
      suffix: '',
    });
  });

  it('keeps a segment bounded: length and hash, never the words; records that kept the words are read into that', () => {
    const words = 'w '.repeat(2_000);
    const s = seg({ text: words });
    expect(JSON.stringify(s).length).toBeLessThan(200);
    expect(plan({ text: `${words}more`, committed: words.length + 4, segments: [s], now: 20_000 })).toMatchObject({ kind: 'append', text: 'more' });
    const legacy = ThreadRecordSchema.parse({
      v: 1,
      team: 'T',
      channel: 'C',
      threadTs: '1.1',
      owner: 'U',
      prompt: 'p',
      status: 'active',
      createdAt: 0,
      segments: { 'text:a': [{ ts: '2.2', mode: 'post', text: 'hello', prefix: '', closed: true, startedAt: 0, lastWriteAt: 0 }] },
    });
    expect(legacy.segments['text:a']).toEqual([
      { ts: '2.2', mode: 'post', ...carrying('hello'), prefix: '', closed: true, startedAt: 0, lastWriteAt: 0 },
    ]);
  });

  it('reopens a code fence in the next message and closes it in the one that ends inside it', () => {
    const text = 'Here:\n```ts\nconst a = 1;\nconst b = 2;\n```';
    const first = 'Here:\n```ts\nconst a = 1;\n';
    expect(fenceCloser(first)).toBe('\n```');
    expect(fenceOpenerAt(text, first.length)).toBe('```ts\n');
    const action = plan({
      text,
      committed: text.length,
      canStream: false,
      open: false,
      segments: [seg({ text: first, closed: true, mode: 'post' })],
    });
    expect(action).toEqual({ kind: 'post', text: 'const b = 2;\n```', prefix: '```ts\n', suffix: '' });
  });

  it('cuts at paragraph, then line boundaries', () => {
    expect(cut('aaaa\n\nbbbb\ncccc', 12)).toBe('aaaa\n\nbbbb\n');
    expect(cut('aaaaaa\n\nbb', 9)).toBe('aaaaaa\n\n');
    expect(cut('abcdefghij', 4)).toBe('abcd');
    expect(cut('abcdefghij', 4, true)).toBe('');
  });
});
