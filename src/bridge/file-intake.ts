import type { AgentsClient } from '../agents/client.js';
import {
  admitFiles,
  INPUT_LIMITS,
  mountPathFor,
  placementOf,
  refusalWords,
  textForAgent,
  type InputLimits,
  type PlacedFile,
} from '../agents/attachments.js';
import { mountFile, uploadFile } from '../agents/files-api.js';
import type { SlackWriter } from '../delivery/slack-writer.js';
import type { Logger } from '../ops/logger.js';
import { downloadSharedFile } from '../slack/file-download.js';
import type { SharedFile } from '../slack/shared-files.js';
import type { PreparedInput } from '../store/thread-records.js';
import { filesNotReachedWords, intakeProblemWords, type IntakeProblem } from '../words/files.js';

/** An image or document block of an uploaded file (the only kind intake makes; kept in thread records). */
export type FileBlock = PreparedInput['blocks'][number];

/** What the agent receives for one human message: words (with where files are) and file blocks. */
export type AgentInput = { text: string; blocks: FileBlock[] };

export type FileIntakeDeps = {
  client: AgentsClient;
  /** The one Slack write intake makes: the private note about files that did not go. */
  writer: Pick<SlackWriter, 'call'>;
  log: Logger;
  slackToken: string;
  /** Origins besides Slack's that may receive the bot token (the configured SLACK_API_URL). */
  slackOrigins: readonly string[];
  limits?: InputLimits;
  /** Longest one download from Slack may take (default 2 min). */
  downloadTimeoutMs?: number;
};

/**
 * Files shared with a message → Files API → image/document blocks or read-only mounts.
 * Every file that cannot go is told to its sender privately; the message goes anyway.
 */
export class FileIntake {
  private readonly limits: InputLimits;

  constructor(private readonly deps: FileIntakeDeps) {
    this.limits = deps.limits ?? INPUT_LIMITS;
  }

  async prepare(m: {
    sessionId: string;
    channel: string;
    threadTs: string;
    user: string;
    text: string;
    files?: readonly SharedFile[];
  }): Promise<AgentInput> {
    if (!m.files?.length) return { text: m.text, blocks: [] };
    const log = this.deps.log.child({ sessionId: m.sessionId, channel: m.channel, thread: m.threadTs, user: m.user });
    const { admitted, refused } = admitFiles(m.files, this.limits);
    const problems = refused.map((r) => refusalWords(r, this.limits));
    const placed: PlacedFile[] = [];
    const blocks: FileBlock[] = [];
    for (const f of admitted) {
      const outcome = await this.bring(m.sessionId, f, log);
      if (outcome.kind !== 'placed') {
        problems.push(intakeProblemWords(f.name, outcome));
        continue;
      }
      placed.push(outcome.placed);
      if (outcome.block) blocks.push(outcome.block);
    }
    if (problems.length > 0) {
      log.warn({ problems, files: m.files.length }, 'some shared files did not reach the agent');
      await this.tell(m, problems);
    }
    log.info({ files: placed.map((p) => ({ name: p.name, placement: p.placement, size: p.size })) }, 'shared files handed to the agent');
    return { text: textForAgent(m.text, placed), blocks };
  }

  private async bring(
    sessionId: string,
    f: SharedFile,
    log: Logger,
  ): Promise<{ kind: 'placed'; placed: PlacedFile; block?: FileBlock } | IntakeProblem> {
    const download = await downloadSharedFile(f.downloadUrl!, {
      token: this.deps.slackToken,
      maxBytes: this.limits.maxFileBytes,
      extraOrigins: this.deps.slackOrigins,
      expectedMime: f.mimetype,
      // A thread's messages go to the agent one at a time: a stalled download must not hold the rest.
      signal: AbortSignal.timeout(this.deps.downloadTimeoutMs ?? 120_000),
    });
    if (download.kind === 'failed') {
      log.warn({ fileId: f.id, problem: download.problem }, 'could not download a shared file from Slack');
      return { kind: 'not_downloaded', problem: download.problem };
    }
    // Slack's size is a claim; the bytes decide the placement.
    const size = download.bytes.length;
    const placement = placementOf({ mimetype: f.mimetype, size }, this.limits);
    const uploaded = await uploadFile(this.deps.client, { name: f.name, mimetype: f.mimetype, bytes: download.bytes });
    if (uploaded.kind === 'failed') {
      log.warn(
        { fileId: f.id, status: uploaded.problem.status, requestId: uploaded.problem.requestId },
        'could not upload a shared file to the Files API',
      );
      return { kind: 'not_uploaded', problem: uploaded.problem };
    }
    const fileId = uploaded.value;
    if (placement === 'image') {
      return { kind: 'placed', placed: { name: f.name, size, placement }, block: { type: 'image', source: { type: 'file', file_id: fileId } } };
    }
    if (placement === 'document') {
      return {
        kind: 'placed',
        placed: { name: f.name, size, placement },
        block: { type: 'document', source: { type: 'file', file_id: fileId }, title: f.name },
      };
    }
    const mounted = await mountFile(this.deps.client, sessionId, fileId, mountPathFor(f));
    if (mounted.kind === 'failed') {
      log.warn(
        { fileId: f.id, status: mounted.problem.status, requestId: mounted.problem.requestId },
        'could not mount a shared file in the session',
      );
      return { kind: 'not_mounted', problem: mounted.problem };
    }
    return { kind: 'placed', placed: { name: f.name, size, placement, mountPath: mounted.value } };
  }

  private async tell(m: { channel: string; threadTs: string; user: string }, problems: string[]): Promise<void> {
    const text = filesNotReachedWords(problems);
    await this.deps.writer
      .call('chat.postEphemeral', { channel: m.channel, user: m.user, thread_ts: m.threadTs, text })
      .catch((error: unknown) =>
        this.deps.log.warn({ err: error, channel: m.channel, user: m.user }, 'could not tell the sender about refused files'),
      );
  }
}
