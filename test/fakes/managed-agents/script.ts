/** The scriptable agent: the Turn object handed to `fake.onTurn`, plus gates and the default script. */
import type { FileStore } from './files.js';
import type { SessionRuntime, TurnState } from './session.js';
import type { Event, Turn, TurnScript } from './types.js';
import { abortError, isObject, newId } from './util.js';

export const defaultScript: TurnScript = async (turn) => {
  await turn.message(`You said: ${turn.text}`);
};

/** Counted passes: `release` before `gate` is not lost, and a name can be reused across turns. */
export class Gates {
  private readonly permits = new Map<string, number>();
  private readonly waiters = new Map<string, Array<() => void>>();

  release(name: string): void {
    const queue = this.waiters.get(name);
    const next = queue?.shift();
    if (next) next();
    else this.permits.set(name, (this.permits.get(name) ?? 0) + 1);
  }

  pass(name: string, signal: AbortSignal): Promise<void> {
    const permits = this.permits.get(name) ?? 0;
    if (permits > 0) {
      this.permits.set(name, permits - 1);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const queue = this.waiters.get(name) ?? [];
      this.waiters.set(name, queue);
      const onAbort = (): void => {
        queue.splice(queue.indexOf(wake), 1);
        reject(abortError());
      };
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      queue.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

export function makeTurn(session: SessionRuntime, ctx: TurnState, message: Event, gates: Gates, files: FileStore): Turn {
  const live = (): void => {
    if (ctx.ended) throw abortError();
  };
  const textOf = (content: unknown): string =>
    Array.isArray(content)
      ? content
          .filter((b): b is { type: 'text'; text: string } => isObject(b) && b.type === 'text' && typeof b.text === 'string')
          .map((b) => b.text)
          .join('\n')
      : '';
  const toolResult = (toolUseId: string, result: { text?: string; isError?: boolean } = {}): void => {
    session.emit({
      type: 'agent.tool_result',
      tool_use_id: toolUseId,
      content: [{ type: 'text', text: result.text ?? 'ok' }],
      is_error: result.isError ?? false,
    });
  };

  return {
    sessionId: session.obj.id,
    text: textOf(message.content),
    content: Array.isArray(message.content) ? structuredClone(message.content) : [],
    resources: structuredClone(session.obj.resources),
    customTools: (session.obj.agent.tools as unknown[]).flatMap((t) =>
      isObject(t) && t.type === 'custom' && typeof t.name === 'string' ? [t.name] : [],
    ),
    signal: ctx.signal,

    async writeOutput(filename, content, opts) {
      live();
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
      return files.writeOutput(session.obj.id, filename, bytes, opts?.mimeType ?? 'application/octet-stream', opts?.hiddenForLists ?? 0);
    },

    async message(text, opts) {
      live();
      const id = newId('sevt');
      if (session.wantsPreview('agent.message')) session.preview('agent.message', id, opts?.deltas ?? splitInThree(text));
      session.emit({ type: 'agent.message', id, content: [{ type: 'text', text }] });
    },

    async thinking() {
      live();
      const id = newId('sevt');
      if (session.wantsPreview('agent.thinking')) session.preview('agent.thinking', id, []);
      session.emit({ type: 'agent.thinking', id });
    },

    async toolUse(name, input, result) {
      live();
      const use = session.emit({
        type: 'agent.tool_use',
        name,
        input,
        evaluated_permission: 'allow',
        evaluation: { type: 'always_allow' },
      });
      // A tool that takes a while: its result comes once the test releases the gate.
      if (result?.until) {
        await gates.pass(result.until, ctx.signal);
        live();
      }
      toolResult(use.id, result);
      return use.id;
    },

    async confirmToolUse(name, input, result) {
      live();
      const use = session.emit({
        type: 'agent.tool_use',
        name,
        input,
        evaluated_permission: 'ask',
        evaluation: { type: 'always_ask' },
      });
      const answer = await session.block(ctx, use.id, 'confirm');
      live();
      const denyMessage = (answer.deny_message as string | null | undefined) ?? null;
      if (answer.result === 'allow') toolResult(use.id, result);
      // [Inf] a denied call surfaces as an error tool_result carrying the deny_message.
      else toolResult(use.id, { text: denyMessage ?? 'The user denied this tool call.', isError: true });
      return { result: answer.result === 'allow' ? 'allow' : 'deny', deny_message: denyMessage };
    },

    async customTool(name, input) {
      live();
      const use = session.emit({ type: 'agent.custom_tool_use', name, input });
      const answer = await session.block(ctx, use.id, 'custom');
      live();
      const out: { content: unknown; is_error?: boolean } = { content: answer.content };
      if (typeof answer.is_error === 'boolean') out.is_error = answer.is_error;
      return out;
    },

    async error(type, message, retryStatus) {
      live();
      session.emit({ type: 'session.error', error: { type, message, retry_status: { type: retryStatus } } });
      if (retryStatus === 'retrying') {
        session.setStatus('rescheduling');
        session.setStatus('running');
        return;
      }
      session.failTurn(ctx, retryStatus);
      // The turn is over; stop the script here rather than let it emit into nothing.
      throw abortError();
    },

    async usage(u) {
      live();
      session.addUsage(ctx, u);
      await session.holdAtBudget(ctx);
      live();
    },

    wait(ms) {
      return new Promise<void>((resolve, reject) => {
        if (ctx.ended) return reject(abortError());
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(abortError());
        };
        const timer = setTimeout(() => {
          ctx.signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
    },

    async gate(name) {
      live();
      await gates.pass(name, ctx.signal);
      live();
    },
  };
}

function splitInThree(text: string): string[] {
  const size = Math.max(1, Math.ceil(text.length / 3));
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces.length > 0 ? pieces : [''];
}
