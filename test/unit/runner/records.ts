import { emptyHistory, type ThreadRecord } from '../../../src/store/thread-records.js';

/** A thread record as the bridge writes it when a session starts. */
export function sessionRecord(o: Partial<ThreadRecord> = {}): ThreadRecord & { sessionId: string } {
  return {
    v: 1,
    team: 'T1',
    channel: 'C1',
    threadTs: '100.1',
    owner: 'U1',
    prompt: 'do the thing',
    rootTs: '100.1',
    status: 'active',
    createdAt: 0,
    ...emptyHistory(),
    ...o,
    sessionId: 'sesn_1',
  } as ThreadRecord & { sessionId: string };
}

/** The store's locked update, in memory: each write changes a copy and counts. */
export function memoryStore(first: ThreadRecord) {
  let record = structuredClone(first);
  let writes = 0;
  return {
    write: async (change: (r: ThreadRecord) => void): Promise<ThreadRecord> => {
      const copy = structuredClone(record);
      change(copy);
      record = copy;
      writes += 1;
      return structuredClone(record);
    },
    stored: () => record,
    writes: () => writes,
  };
}
