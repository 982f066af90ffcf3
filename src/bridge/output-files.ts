import type { ApiResult, OutputDownload, OutputFile } from '../agents/files-api.js';
import { OUTPUT_LIMITS, planOutputs, type OutputLimits } from '../delivery/output-plan.js';
import { outputComment } from '../render/output-comment.js';
import type { SlackWriter } from '../delivery/slack-writer.js';
import type { Logger } from '../ops/logger.js';
import type { OutputRecord, ThreadRecords, ThreadRef } from '../store/thread-records.js';

/** The session's output files in the Files API (listOutputs and downloadOutput over the SDK client). */
export type SessionOutputs = {
  list(opts: { expectSome: boolean; retryDelaysMs: readonly number[]; signal?: AbortSignal }): Promise<ApiResult<OutputFile[]>>;
  download(file: { id: string; filename: string }, maxBytes: number): Promise<OutputDownload>;
};

export type OutputFilesDeps = {
  outputs: SessionOutputs;
  /** The Slack writes and the look-up that share a file once. */
  writer: Pick<SlackWriter, 'reserveUpload' | 'completeUploadsOnce' | 'postOnce' | 'filesInThread'>;
  records: Pick<ThreadRecords, 'get' | 'update'>;
  log: Logger;
  /** Waits before listing again when a turn that used tools shows no outputs yet. */
  retryDelaysMs?: readonly number[];
  limits?: OutputLimits;
};

/** Outputs appear ~1–3 s after the idle event (the Files API says so of session outputs): about 3.5 s in all. */
const OUTPUT_RETRY_DELAYS_MS = [1000, 2500] as const;

/**
 * Files the agent wrote, shared in the thread once each when a turn ends.
 *
 * Once, across crashes: a file's Slack id is recorded (`reserved`) before it is shared,
 * and `shared` after. A `reserved` entry found later is settled by looking for its Slack
 * file in the thread: there → shared; not there → it was never shared, and is sent anew.
 * Runs are chained, so two turn ends in a row cannot race each other in this process.
 */
export class OutputFiles {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: OutputFilesDeps,
    private readonly ref: ThreadRef,
    private readonly signal: AbortSignal,
  ) {}

  /** `expectSome`: the turn used tools, so an empty list may just be early. */
  deliver(expectSome: boolean): Promise<void> {
    const run = this.chain.then(() => this.run(expectSome));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async run(expectSome: boolean): Promise<void> {
    const log = this.deps.log;
    const listed = await this.deps.outputs.list({
      expectSome,
      retryDelaysMs: this.deps.retryDelaysMs ?? OUTPUT_RETRY_DELAYS_MS,
      signal: this.signal,
    });
    if (listed.kind === 'failed') {
      log.warn({ status: listed.problem.status, requestId: listed.problem.requestId }, 'could not list the files the agent wrote');
      return;
    }
    const known = await this.settleReserved();
    const plan = planOutputs(listed.value, known, this.deps.limits ?? OUTPUT_LIMITS);
    if (plan.attach.length === 0 && plan.skip.length === 0) return;

    const reserved: Array<{ file: OutputFile; slackFileId: string }> = [];
    const skipped = [...plan.skip];
    for (const file of plan.attach) {
      const bytes = await this.deps.outputs.download(file, (this.deps.limits ?? OUTPUT_LIMITS).maxFileBytes);
      if (bytes.kind !== 'done') {
        const transient = bytes.kind === 'failed' && bytes.problem.transient;
        log.warn(
          { fileId: file.id, ...(bytes.kind === 'failed' ? { status: bytes.problem.status } : { limitBytes: bytes.limitBytes }) },
          'could not download an output file',
        );
        // Transient trouble leaves the file unrecorded, so the next turn end tries again.
        if (!transient) skipped.push({ file, reason: { kind: 'not_downloaded' } });
        continue;
      }
      const slackFileId = await this.deps.writer.reserveUpload({ filename: file.filename, bytes: bytes.value });
      await this.record({ [file.id]: { name: file.filename, state: 'reserved', slackFileId } });
      reserved.push({ file, slackFileId });
    }
    const comment = outputComment(
      reserved.map((r) => r.file),
      skipped,
    );
    if (reserved.length > 0) {
      await this.deps.writer.completeUploadsOnce(
        this.ref.channel,
        this.ref.threadTs,
        reserved.map((r) => ({ id: r.slackFileId, title: r.file.filename })),
        comment,
      );
    } else if (skipped.length > 0) {
      await this.deps.writer.postOnce(this.ref.channel, this.ref.threadTs, `outputs:${skipped[0]!.file.id}`, { text: comment });
    }
    await this.record(
      Object.fromEntries([
        ...reserved.map((r) => [r.file.id, { name: r.file.filename, state: 'shared', slackFileId: r.slackFileId }] as const),
        ...skipped.map((s) => [s.file.id, { name: s.file.filename, state: 'skipped' }] as const),
      ]),
    );
    log.info({ shared: reserved.length, skipped: skipped.length }, 'agent output files delivered to the thread');
  }

  /** Entries left `reserved` by an earlier run that stopped half-way: shared or not? */
  private async settleReserved(): Promise<Record<string, OutputRecord>> {
    const outputs = (await this.deps.records.get(this.ref))?.outputs ?? {};
    const open = Object.entries(outputs).filter(([, o]) => o.state === 'reserved');
    if (open.length === 0) return outputs;
    const inThread = await this.deps.writer.filesInThread(this.ref.channel, this.ref.threadTs);
    const written = await this.deps.records.update(this.ref, (r) => {
      r.outputs ??= {};
      const all = r.outputs;
      for (const [id, o] of open) {
        if (o.slackFileId && inThread.has(o.slackFileId)) all[id] = { ...o, state: 'shared' };
        else delete all[id];
      }
    });
    this.deps.log.info({ settled: open.length }, 'settled output files left half-shared by an earlier run');
    return written.outputs ?? {};
  }

  private async record(entries: Record<string, OutputRecord>): Promise<void> {
    if (Object.keys(entries).length === 0) return;
    await this.deps.records.update(this.ref, (r) => {
      r.outputs = { ...r.outputs, ...entries };
    });
  }
}
