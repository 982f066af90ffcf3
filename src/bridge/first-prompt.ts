import type { PreparedInput, ThreadRecord, ThreadRef } from '../store/thread-records.js';
import type { SharedFile } from '../slack/shared-files.js';
import type { BridgeDeps } from './bridge-deps.js';
import type { Receipts } from './runner/receipts.js';
import type { SessionRunner } from './session-runner.js';

export type FirstPromptDeps = Pick<BridgeDeps, 'intake' | 'records'> & { receipts: Receipts };

/**
 * The thread's first prompt, with its files. What the agent gets is kept in the record
 * until the send is accepted, so a restart in between sends the same blocks (no second
 * upload); a restart during the upload redoes it from the files kept in the record.
 */
export async function sendFirstPrompt(
  deps: FirstPromptDeps,
  runner: SessionRunner,
  record: ThreadRecord & { sessionId: string },
  files?: readonly SharedFile[],
): Promise<void> {
  const ref: ThreadRef = { team: record.team, channel: record.channel, threadTs: record.threadTs };
  await runner.busy(async () => {
    let input: PreparedInput | undefined = record.promptInput;
    if (!input) {
      const shared = files ?? record.promptFiles;
      const prepared = await deps.intake.prepare({
        sessionId: record.sessionId,
        channel: ref.channel,
        threadTs: ref.threadTs,
        user: record.owner,
        text: record.prompt,
        ...(shared ? { files: shared } : {}),
      });
      input = prepared;
      if (prepared.blocks.length > 0 || shared?.length) {
        await deps.records.update(ref, (r) => {
          r.promptInput = { text: prepared.text, blocks: prepared.blocks };
        });
      }
    }
    const sent = await runner.sendMessage(input.text, { user: record.owner, ...(record.promptTs ? { ts: record.promptTs } : {}) }, input.blocks);
    if (sent.kind === 'failed') return runner.fail(sent.problem.words);
    await deps.records.update(ref, (r) => {
      delete r.promptInput;
      delete r.promptFiles;
    });
    if (record.promptTs) await deps.receipts.seen(ref.channel, record.promptTs);
  });
}
