import { describe, expect, it } from 'vitest';
import { adoptPosted } from '../../src/delivery/adopt-posted.js';
import { carrying } from '../../src/delivery/text-plan.js';
import type { ThreadRecord } from '../../src/store/thread-records.js';

const ref = { team: 'T1', channel: 'C1', threadTs: '100.000001' };
const stream = (ts: string) => ({ ts, mode: 'stream' as const, ...carrying('hi'), prefix: '', closed: false, startedAt: 0, lastWriteAt: 0 });

describe('adoptPosted', () => {
  it('records keyed posts the store lost, stops streams left open and takes a lost text segment as words unknown', async () => {
    const record = {
      threadTs: ref.threadTs,
      posted: { root: { ts: '100.000001', hash: 'h' } },
      segments: { 'text:a': [stream('110.0')], 'text:b': [stream('120.0')] },
      // A write to text:b was in flight: the next delivery pass settles that one from the thread.
      writing: { key: 'text:b', segment: 0, kind: 'append' },
    } as unknown as ThreadRecord;
    const stopped: string[] = [];
    await adoptPosted({
      ref,
      threadTs: ref.threadTs,
      writer: {
        postedKeys: async () =>
          new Map([
            ['root', '100.000001'],
            ['approval:e1', '130.0'],
            ['text:c#0', '140.0'],
            ['text:a#0', '110.0'],
          ]),
        call: async (_m, args) => void stopped.push(String(args.ts)),
      },
      records: { get: async () => record, update: async (_r, change) => change(record) },
      log: { warn: () => undefined, info: () => undefined },
    });
    expect(stopped).toEqual(['110.0']);
    expect(record.posted['approval:e1']).toEqual({ ts: '130.0', hash: 'adopted' });
    expect(record.segments['text:a']![0]!.closed).toBe(true);
    expect(record.segments['text:b']![0]!.closed).toBe(false);
    expect(record.segments['text:c']).toEqual([
      { ts: '140.0', mode: 'post', length: 0, hash: '', prefix: '', closed: true, startedAt: 0, lastWriteAt: 0 },
    ]);
  });

  it('takes the root card of an /agent start, keyed root:<start id> in Slack and recorded as root, for recorded: nothing to adopt, nothing said', async () => {
    const record = { threadTs: ref.threadTs, posted: { root: { ts: ref.threadTs, hash: 'h' } }, segments: {} } as unknown as ThreadRecord;
    const warned: string[] = [];
    let updated = false;
    await adoptPosted({
      ref,
      threadTs: ref.threadTs,
      writer: { postedKeys: async () => new Map([['root:0b6f1c2e', ref.threadTs]]), call: async () => undefined },
      records: {
        get: async () => record,
        update: async (_r, change) => {
          updated = true;
          change(record);
        },
      },
      log: { warn: (_o, msg) => void warned.push(msg), info: () => undefined },
    });
    expect(record.posted).toEqual({ root: { ts: ref.threadTs, hash: 'h' } });
    expect(updated).toBe(false);
    expect(warned).toEqual([]);
  });
});
