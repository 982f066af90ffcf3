import { describe, expect, it } from 'vitest';
import type { OutputFile } from '../../../src/agents/files-api.js';
import { OutputFiles } from '../../../src/bridge/output-files.js';
import type { OutputRecord, ThreadRecord } from '../../../src/store/thread-records.js';
import { memoryLogger } from '../../support/log-sink.js';

const ref = { team: 'T1', channel: 'C1', threadTs: '1.0' };
const report: OutputFile = { id: 'file_1', filename: 'report.md', mimeType: 'text/markdown', size: 12, downloadable: true };

function setup(o: { outputs?: Record<string, OutputRecord>; inThread?: string[] } = {}) {
  let record = { ...ref, outputs: o.outputs ?? {} } as unknown as ThreadRecord;
  const uploads: string[] = [];
  const shares: Array<{ ids: string[]; comment: string }> = [];
  const files = new OutputFiles(
    {
      outputs: {
        list: async () => ({ kind: 'done', value: [report] }),
        download: async () => ({ kind: 'done', value: Buffer.from('# the report') }),
      },
      writer: {
        reserveUpload: async (f) => {
          uploads.push(f.filename);
          return `F${uploads.length}`;
        },
        completeUploadsOnce: async (_c, _t, list, comment) => void shares.push({ ids: list.map((f) => f.id), comment }),
        postOnce: async () => '2.0',
        filesInThread: async () => new Set(o.inThread ?? []),
      },
      records: {
        get: async () => record,
        update: async (_ref, change) => {
          const copy = structuredClone(record);
          change(copy);
          record = copy;
          return record;
        },
      },
      log: memoryLogger('silent').log,
    },
    ref,
    new AbortController().signal,
  );
  return { files, uploads, shares, outputs: () => record.outputs ?? {} };
}

describe('output files', () => {
  it('shares a file the agent wrote once, across two turn ends', async () => {
    const s = setup();
    await s.files.deliver(true);
    await s.files.deliver(true);
    expect(s.uploads).toEqual(['report.md']);
    expect(s.shares).toHaveLength(1);
    expect(s.outputs().file_1).toMatchObject({ state: 'shared', slackFileId: 'F1' });
  });

  it('a file reserved before a crash and found in the thread counts as shared, not uploaded again', async () => {
    const s = setup({ outputs: { file_1: { name: 'report.md', state: 'reserved', slackFileId: 'F9' } }, inThread: ['F9'] });
    await s.files.deliver(true);
    expect(s.uploads).toEqual([]);
    expect(s.outputs().file_1).toMatchObject({ state: 'shared', slackFileId: 'F9' });
  });

  it('a file reserved before a crash but not in the thread is shared anew', async () => {
    const s = setup({ outputs: { file_1: { name: 'report.md', state: 'reserved', slackFileId: 'F9' } } });
    await s.files.deliver(true);
    expect(s.uploads).toEqual(['report.md']);
    expect(s.outputs().file_1).toMatchObject({ state: 'shared', slackFileId: 'F1' });
  });
});
