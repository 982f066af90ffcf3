import type { ToolResult } from '../../agents/tools/custom-tool.js';
import { describeApiError } from '../../agents/api-errors.js';
import type { Logger } from '../../ops/logger.js';
import { TaskSet } from '../../ops/task-set.js';
import type { PendingCustomTool } from '../thread-state.js';
import type { SendAnswer } from './answer-once.js';

/** Runs one custom tool call (the registry with its context); never throws. */
export type RunTool = (call: PendingCustomTool) => Promise<ToolResult>;

export type ToolDeskDeps = {
  run: RunTool;
  send: SendAnswer;
  /** A line in the thread when an answer could not be sent. */
  note: (words: string) => Promise<void>;
  log: Logger;
  /** Aborted when the runner closes: a tool cut short is not answered (the next start runs it again). */
  signal: AbortSignal;
  /** Called whenever a run ends, so the owner can see whether it holds nothing open. */
  onRunEnded?: () => void;
};

/**
 * Answers the agent's custom tool calls, each once: a call is run when the fold first
 * shows it pending and never again in this process, even when its echo comes twice or
 * before the answer's echo arrives; a send whose outcome is unknown is looked for in
 * the history.
 */
export class ToolDesk {
  private readonly answered = new Set<string>();
  private readonly inFlight = new Set<string>();
  /** Apart from other background work, because one may wait hours for a person (ask_user). */
  private readonly runs: TaskSet;

  constructor(private readonly deps: ToolDeskDeps) {
    this.runs = new TaskSet(deps.log, () => deps.onRunEnded?.());
  }

  /** Starts every pending call not answered or running yet. */
  answer(pending: readonly PendingCustomTool[]): void {
    for (const call of pending) {
      if (this.inFlight.has(call.eventId) || this.answered.has(call.eventId)) continue;
      this.inFlight.add(call.eventId);
      this.runs.add(this.answerOne(call).finally(() => this.inFlight.delete(call.eventId)));
    }
  }

  /** Whether a call is running or its answer is being sent. */
  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  /** The runs going on now (for racing them against a grace period on close). */
  current(): Promise<void>[] {
    return this.runs.current();
  }

  private async answerOne(call: PendingCustomTool): Promise<void> {
    const { eventId, name } = call;
    const result = await this.deps.run(call);
    // Shutting down is not the tool's failure: the next start runs it again.
    if (this.deps.signal.aborted) return;
    const sent = await this.deps.send('user.custom_tool_result', eventId, {
      type: 'user.custom_tool_result',
      custom_tool_use_id: eventId,
      content: result.content,
      is_error: result.is_error,
    });
    if (sent.kind === 'failed') {
      const problem = describeApiError(sent.error, `answering the ${name} tool`);
      this.deps.log.error({ err: sent.error, requestId: problem.requestId }, 'could not send custom tool result');
      return void (await this.deps.note(problem.words));
    }
    this.answered.add(eventId);
    if (sent.kind === 'found') this.deps.log.warn({ toolUseId: eventId }, 'custom tool was already answered');
    else this.deps.log.info({ tool: name, toolUseId: eventId, isError: result.is_error }, 'custom tool answered');
  }
}
