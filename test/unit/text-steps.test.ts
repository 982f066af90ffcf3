import { describe, expect, it } from 'vitest';
import { settleWriting, type SettleRecords } from '../../src/delivery/settle-writing.js';
import { METADATA_EVENT_TYPE, SlackCallError, type ThreadReply } from '../../src/delivery/slack-writer.js';
import { StreamSlots } from '../../src/delivery/stream-slots.js';
import { carrying, type Segment } from '../../src/delivery/text-plan.js';
import { appendToStream } from '../../src/delivery/text-steps/append.js';
import { attachAnswer } from '../../src/delivery/text-steps/attach.js';
import { postText } from '../../src/delivery/text-steps/post.js';
import { rewriteText } from '../../src/delivery/text-steps/rewrite.js';
import { startStream } from '../../src/delivery/text-steps/start-stream.js';
import type { TextStepContext } from '../../src/delivery/text-steps/step.js';
import { stopStream } from '../../src/delivery/text-steps/stop.js';
import type { ThreadRecord, Writing } from '../../src/store/thread-records.js';

type Call = { method: string; args: Record<string, unknown> };

/** A step's context with the store calls written down, and the calls a fake writer saw. */
function context(segments: Segment[] = []) {
  const intents: Writing[] = [];
  const indexed: string[] = [];
  const warnings: string[] = [];
  const ctx: TextStepContext = {
    channel: 'C1',
    threadTs: '100.000001',
    key: 'text:1',
    segments,
    now: 5_000,
    intend: async (w) => void intents.push(w),
    indexMessage: async (ts) => void indexed.push(ts),
    log: { warn: (_obj, msg) => void warnings.push(msg) },
  };
  return { ctx, intents, indexed, warnings };
}

const seg = (text: string, s: Partial<Segment> = {}): Segment => ({
  ts: '200.000001',
  mode: 'stream',
  ...carrying(text),
  prefix: '',
  closed: false,
  startedAt: 0,
  lastWriteAt: 0,
  ...s,
});
const refused = (method: string, error = 'message_not_in_streaming_state') => new SlackCallError(method, error);
const unknown = (method: string) => new SlackCallError(method, 'http_503', { transient: true, unknownOutcome: true });
const down = (method: string) => new SlackCallError(method, 'ratelimited', { transient: true });

/** A writer whose calls are recorded; `fail` decides per method whether (and how) a call fails. */
function writer(fail: (method: string) => Error | undefined = () => undefined, ts = '300.000001') {
  const calls: Call[] = [];
  const run = async (method: string, args: Record<string, unknown>) => {
    calls.push({ method, args });
    const error = fail(method);
    if (error) throw error;
    return { ts };
  };
  return {
    calls,
    call: run,
    callOnce: run,
    postOnce: async (channel: string, threadTs: string, key: string, body: { markdown_text: string }) => {
      await run('chat.postMessage', { channel, thread_ts: threadTs, key, ...body });
      return ts;
    },
  };
}

describe('startStream', () => {
  const action = { kind: 'start_stream' as const, text: '\n\nhello', prefix: '' };

  it('records its intent before the call, then hands the slot to the new stream', async () => {
    const { ctx, intents, indexed } = context();
    const w = writer();
    const slots = new StreamSlots(1);
    const held: string[] = [];
    const out = await startStream({ ...ctx, recipient: { user: 'U1', team: 'T1' }, afterTs: '150.0' }, action, w, {
      take: () => slots.take(),
      hold: (_key, ts) => void held.push(ts),
    });
    expect(intents).toEqual([{ key: 'text:1', segment: 0, kind: 'start_stream', afterTs: '150.0' }]);
    expect(w.calls).toEqual([
      {
        method: 'chat.startStream',
        args: { channel: 'C1', thread_ts: '100.000001', recipient_user_id: 'U1', recipient_team_id: 'T1', markdown_text: 'hello' },
      },
    ]);
    expect(out).toEqual({
      kind: 'written',
      segments: [{ ts: '300.000001', mode: 'stream', ...carrying(action.text), prefix: '', closed: false, startedAt: 5_000, lastWriteAt: 5_000 }],
    });
    expect(held).toEqual(['300.000001']);
    expect(indexed).toEqual(['300.000001']);
    expect(slots.free).toBe(0);
  });

  it('plans again without writing when no slot is free', async () => {
    const { ctx, intents } = context();
    const w = writer();
    const out = await startStream({ ...ctx, recipient: { user: 'U1', team: 'T1' }, afterTs: '0' }, action, w, {
      take: () => undefined,
      hold: () => undefined,
    });
    expect(out).toEqual({ kind: 'replan' });
    expect(intents).toEqual([]);
    expect(w.calls).toEqual([]);
  });

  it.each([
    [
      'an unknown outcome',
      unknown('chat.startStream'),
      { kind: 'unknown_outcome', intent: { key: 'text:1', segment: 0, kind: 'start_stream', afterTs: '0' }, next: 'retry_later' },
    ],
    ['a refusal for good', refused('chat.startStream', 'missing_scope'), { kind: 'cannot_stream', slackError: 'missing_scope' }],
  ])('gives its slot back on %s', async (_name, error, expected) => {
    const { ctx } = context();
    const slots = new StreamSlots(1);
    const out = await startStream(
      { ...ctx, recipient: { user: 'U1', team: 'T1' }, afterTs: '0' },
      action,
      writer(() => error),
      {
        take: () => slots.take(),
        hold: () => expect.unreachable('a stream that did not start holds no slot'),
      },
    );
    expect(out).toEqual(expected);
    expect(slots.free).toBe(1);
  });

  it('gives its slot back and throws when Slack is down (the write is tried later)', async () => {
    const { ctx } = context();
    const slots = new StreamSlots(1);
    await expect(
      startStream(
        { ...ctx, recipient: { user: 'U1', team: 'T1' }, afterTs: '0' },
        action,
        writer(() => down('chat.startStream')),
        { take: () => slots.take(), hold: () => undefined },
      ),
    ).rejects.toThrow('ratelimited');
    expect(slots.free).toBe(1);
  });
});

describe('appendToStream', () => {
  const action = { kind: 'append' as const, segment: 0, text: ' there', carries: 'hello there' };

  it('appends the new words and records what the stream now carries', async () => {
    const { ctx, intents } = context([seg('hello')]);
    const w = writer();
    const out = await appendToStream(ctx, action, w);
    expect(intents).toEqual([{ key: 'text:1', segment: 0, kind: 'append' }]);
    expect(w.calls).toEqual([{ method: 'chat.appendStream', args: { channel: 'C1', ts: '200.000001', markdown_text: ' there' } }]);
    expect(out).toEqual({ kind: 'written', segments: [{ ...seg('hello'), ...carrying('hello there'), lastWriteAt: 5_000 }] });
  });

  it('leaves an append that may have landed to be settled, writing nothing more', async () => {
    const { ctx } = context([seg('hello')]);
    const w = writer(() => unknown('chat.appendStream'));
    expect(await appendToStream(ctx, action, w)).toEqual({
      kind: 'unknown_outcome',
      intent: { key: 'text:1', segment: 0, kind: 'append' },
      next: 'replan',
    });
    expect(w.calls.map((c) => c.method)).toEqual(['chat.appendStream']);
  });

  it('puts the words it had in place when Slack no longer takes the stream, and closes it', async () => {
    const { ctx, warnings } = context([seg('hello')]);
    const w = writer((m) => (m === 'chat.appendStream' ? refused(m) : undefined));
    const out = await appendToStream(ctx, action, w);
    expect(w.calls[1]).toEqual({ method: 'chat.update', args: { channel: 'C1', ts: '200.000001', markdown_text: 'hello' } });
    expect(out).toMatchObject({ kind: 'written', segments: [{ ...carrying('hello'), closed: true }] });
    expect(warnings).toEqual(['stream no longer writable; replacing its text']);
  });
});

describe('stopStream', () => {
  const action = { kind: 'stop' as const, segment: 0, text: ' end', suffix: '\n```', carries: 'hello end' };

  it('stops the stream with its last words and the fence closer', async () => {
    const { ctx, intents } = context([seg('hello')]);
    const w = writer();
    const out = await stopStream(ctx, action, w);
    expect(intents).toEqual([{ key: 'text:1', segment: 0, kind: 'stop' }]);
    expect(w.calls).toEqual([{ method: 'chat.stopStream', args: { channel: 'C1', ts: '200.000001', markdown_text: ' end\n```' } }]);
    expect(out).toEqual({ kind: 'written', segments: [{ ...seg('hello'), ...carrying('hello end'), closed: true, lastWriteAt: 5_000 }] });
  });

  it('edits the whole text in when the stop is refused (a stop that already landed)', async () => {
    const { ctx } = context([seg('hello')]);
    const w = writer((m) => (m === 'chat.stopStream' ? refused(m) : undefined));
    const out = await stopStream(ctx, action, w);
    expect(w.calls[1]).toEqual({ method: 'chat.update', args: { channel: 'C1', ts: '200.000001', markdown_text: 'hello end\n```' } });
    expect(out).toMatchObject({ kind: 'written', segments: [{ ...carrying('hello end'), closed: true }] });
  });

  it('throws when Slack is down, leaving the stream open for a later try', async () => {
    const { ctx } = context([seg('hello')]);
    await expect(
      stopStream(
        ctx,
        action,
        writer(() => down('chat.stopStream')),
      ),
    ).rejects.toThrow('ratelimited');
  });
});

describe('postText', () => {
  it('posts finished words keyed by block and segment, and records the new message', async () => {
    const { ctx, indexed } = context([seg('hello', { closed: true })]);
    const w = writer();
    const out = await postText(ctx, { kind: 'post', text: '\nmore', prefix: '```\n', suffix: '\n```' }, w);
    expect(w.calls).toEqual([
      { method: 'chat.postMessage', args: { channel: 'C1', thread_ts: '100.000001', key: 'text:1#1', markdown_text: '```\nmore\n```' } },
    ]);
    expect(out).toMatchObject({
      kind: 'written',
      segments: [{ ts: '200.000001' }, { ts: '300.000001', mode: 'post', ...carrying('\nmore'), prefix: '```\n', closed: true }],
    });
    expect(indexed).toEqual(['300.000001']);
  });
});

describe('attachAnswer', () => {
  const action = { kind: 'attach' as const, fullText: 'x'.repeat(30_000), rest: 'x'.repeat(5_000) };
  function files(shared: string[], fail?: Error) {
    const done: Array<{ id: string; comment: string }> = [];
    return {
      done,
      reserveUpload: async () => 'F_NEW',
      filesInThread: async () => new Set(shared),
      completeUploadsOnce: async (_c: string, _t: string, fs: Array<{ id: string }>, comment: string) => {
        if (fail) throw fail;
        done.push({ id: fs[0]!.id, comment });
      },
    };
  }

  it('reserves the file and records it as the intent before sharing it', async () => {
    const { ctx, intents } = context();
    const w = files([]);
    const out = await attachAnswer({ ...ctx, reserved: undefined, forgetIntent: async () => undefined }, action, w);
    expect(intents).toEqual([{ key: 'text:1', segment: 0, kind: 'attach', fileId: 'F_NEW' }]);
    expect(w.done).toEqual([{ id: 'F_NEW', comment: 'The answer is long (30,000 characters). The start is above; all of it is in this file.' }]);
    expect(out).toMatchObject({ kind: 'written', segments: [{ ts: 'F_NEW', mode: 'file', ...carrying(action.rest) }] });
  });

  it('shares nothing again when the reserved file is already in the thread', async () => {
    const { ctx, intents } = context();
    const w = files(['F_OLD']);
    const out = await attachAnswer({ ...ctx, reserved: 'F_OLD', forgetIntent: async () => undefined }, action, w);
    expect(w.done).toEqual([]);
    expect(intents).toEqual([]);
    expect(out).toMatchObject({ kind: 'written', segments: [{ ts: 'F_OLD', mode: 'file' }] });
  });

  it('forgets a reserved file Slack refuses for good, so the next pass reserves a new one', async () => {
    const { ctx } = context();
    let forgotten = 0;
    await expect(
      attachAnswer(
        { ...ctx, reserved: 'F_OLD', forgetIntent: async () => void forgotten++ },
        action,
        files([], refused('files.completeUploadExternal', 'file_not_found')),
      ),
    ).rejects.toThrow('file_not_found');
    expect(forgotten).toBe(1);
    await expect(
      attachAnswer(
        { ...ctx, reserved: 'F_OLD', forgetIntent: async () => void forgotten++ },
        action,
        files([], down('files.completeUploadExternal')),
      ),
    ).rejects.toThrow('ratelimited');
    expect(forgotten).toBe(1);
  });
});

describe('rewriteText', () => {
  it('stops an open stream, edits in the right words and deletes the later messages', async () => {
    const segments = [seg('hello', { ts: '1.1' }), seg('old', { ts: '1.2', mode: 'post', closed: true }), seg('more', { ts: '1.3' })];
    const { ctx } = context(segments);
    const w = writer((m) => (m === 'chat.delete' ? refused(m, 'message_not_found') : undefined));
    const out = await rewriteText(
      { ...ctx, segments: [{ ...segments[0]! }, segments[1]!, segments[2]!] },
      { kind: 'rewrite', segment: 0, text: 'hullo', suffix: '' },
      w,
    );
    expect(w.calls.map((c) => `${c.method} ${String(c.args.ts)}`)).toEqual([
      'chat.stopStream 1.1',
      'chat.update 1.1',
      'chat.delete 1.2',
      'chat.delete 1.3',
    ]);
    expect(w.calls[1]!.args.markdown_text).toBe('hullo');
    expect(out).toEqual({ kind: 'written', segments: [{ ...segments[0]!, ...carrying('hullo'), closed: true, lastWriteAt: 5_000 }] });
  });
});

describe('settleWriting', () => {
  const ref = { team: 'T1', channel: 'C1', threadTs: '100.000001' };
  function store(record: Partial<ThreadRecord> = {}) {
    const r = { threadTs: '100.000001', posted: { root: { ts: '100.000001', hash: 'h' } }, segments: {}, ...record } as unknown as ThreadRecord;
    const records: SettleRecords & { record: ThreadRecord; indexed: string[] } = {
      record: r,
      indexed: [],
      get: async () => r,
      update: async (_ref, change) => change(r),
      indexMessage: async (_ref, ts) => void records.indexed.push(ts),
    };
    return records;
  }
  function thread(messages: ThreadReply[]) {
    const calls: string[] = [];
    return {
      calls,
      threadMessages: async () => messages,
      call: async (method: string, args: Record<string, unknown>) => void calls.push(`${method} ${String(args.ts)}`),
    };
  }

  it('adopts the first unknown bot message after the intent as the stream and deletes any other', async () => {
    const records = store({ writing: { key: 'text:1', segment: 0, kind: 'start_stream', afterTs: '150.0' } });
    const w = thread([
      { ts: '140.0', user: 'UBOT' },
      { ts: '170.0', user: 'UBOT' },
      { ts: '160.0', user: 'UBOT' },
      { ts: '165.0', user: 'UHUMAN' },
      { ts: '166.0', user: 'UBOT', metadata: { event_type: METADATA_EVENT_TYPE } },
    ]);
    const segments = await settleWriting({ ref, writer: w, records, log: { warn: () => undefined }, botUserId: 'UBOT' }, records.record.writing!, []);
    expect(w.calls).toEqual(['chat.stopStream 160.0', 'chat.delete 170.0']);
    expect(segments).toMatchObject([{ ts: '160.0', mode: 'stream', hash: '', closed: true }]);
    expect(records.record.segments['text:1']).toEqual(segments);
    expect(records.record.writing).toBeUndefined();
    expect(records.indexed).toEqual(['160.0']);
  });

  it('stops a stream whose append may have landed and marks its words unknown', async () => {
    const records = store();
    const w = thread([]);
    const open = seg('hello', { ts: '1.1' });
    const segments = await settleWriting(
      { ref, writer: w, records, log: { warn: () => undefined }, botUserId: 'UBOT' },
      { key: 'text:1', segment: 0, kind: 'append' },
      [open],
    );
    expect(w.calls).toEqual(['chat.stopStream 1.1']);
    expect(segments).toEqual([{ ...open, hash: '', closed: true }]);
  });

  it('leaves an attach to be settled by the attach step', async () => {
    const records = store({ writing: { key: 'text:1', segment: 0, kind: 'attach', fileId: 'F1' } });
    const segments = await settleWriting(
      { ref, writer: thread([]), records, log: { warn: () => undefined }, botUserId: 'UBOT' },
      records.record.writing!,
      [],
    );
    expect(segments).toEqual([]);
    expect(records.record.writing).toEqual({ key: 'text:1', segment: 0, kind: 'attach', fileId: 'F1' });
  });
});
