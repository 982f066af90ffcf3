import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { SlackCallError } from '../../src/delivery/slack-writer.js';
import { Starts, type StartsDeps } from '../../src/bridge/starts.js';
import { ThreadRecords } from '../../src/store/thread-records.js';

const request = { team: 'T1', channel: 'C1', user: 'U1', prompt: 'hello' };
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/** A start whose root card post fails; `closed`: the bot is shutting down (its writer closed under the post). */
async function startWhosePostFails(closed: boolean) {
  const records = new ThreadRecords(new Keyv());
  // Only what a start uses before its root card is posted; anything else would throw.
  const deps = {
    records,
    profiles: { choose: () => ({ kind: 'chosen', target: { agentId: 'agent_1', environmentId: 'env_1' } }) },
    writer: {
      postTopLevelOnce: async () => {
        throw closed ? new Error('slack writer closed') : new SlackCallError('chat.postMessage', 'channel_not_found');
      },
    },
    log: { ...silent, child: () => silent },
    runners: { closed },
  } as unknown as StartsDeps;
  const outcome = await new Starts(deps).fresh(request);
  return { outcome, pending: await records.pendingStarts() };
}

describe('Starts: a root card post that fails', () => {
  it('during a shutdown keeps the stored start, for the next start-up (or another replica) to finish', async () => {
    const { outcome, pending } = await startWhosePostFails(true);
    expect(outcome).toEqual({ kind: 'not_started', problem: { kind: 'start_carried_over' } });
    expect(pending.map((p) => p.request.prompt)).toEqual(['hello']);
  });

  it('refused by Slack while the bot runs drops the stored start (the person is told why)', async () => {
    const { outcome, pending } = await startWhosePostFails(false);
    expect(outcome).toEqual({ kind: 'not_started', problem: { kind: 'root_card_refused', code: 'channel_not_found' } });
    expect(pending).toEqual([]);
  });
});
