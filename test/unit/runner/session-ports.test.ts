import { describe, expect, it } from 'vitest';
import { budgetParam } from '../../../src/access/spend-cap.js';
import type { AgentEvent } from '../../../src/agents/events.js';
import type { ToolContext } from '../../../src/agents/tools/custom-tool.js';
import type { RunnerDeps } from '../../../src/bridge/runner/runner-deps.js';
import { sessionPorts } from '../../../src/bridge/runner/session-ports.js';
import type { ThreadRecord } from '../../../src/store/thread-records.js';
import { memoryLogger } from '../../support/log-sink.js';
import { sessionRecord } from './records.js';

/** The composition root's clients as far as the ports use them, each call written down. */
function setup() {
  const calls: unknown[][] = [];
  const toolCalls: Array<{ name: string; input: unknown; ctx: ToolContext; bindings: Record<string, unknown> }> = [];
  const counted: string[] = [];
  const writer = { name: 'the writer' };
  const deps = {
    client: {
      beta: {
        sessions: {
          update: async (...args: unknown[]) => void calls.push(['update', ...args]),
          archive: async (...args: unknown[]) => void calls.push(['archive', ...args]),
        },
      },
    },
    writer,
    react: async () => undefined,
    records: {
      update: async (ref: unknown, change: (r: ThreadRecord) => void) => {
        const r = sessionRecord();
        change(r);
        calls.push(['records.update', ref, r.status]);
        return r;
      },
    },
    tools: {
      run: async (name: string, input: unknown, ctx: ToolContext, log: { bindings: () => Record<string, unknown> }) => {
        toolCalls.push({ name, input, ctx, bindings: log.bindings() });
        return { content: [{ type: 'text', text: 'ok' }], is_error: false };
      },
    },
    botUserId: 'UBOT',
    metrics: {
      agentEvents: { inc: (labels: { type: string }) => void counted.push(labels.type) },
      streamReconnects: { inc: () => undefined },
      deliveryLag: { observe: () => undefined },
    },
  } as unknown as RunnerDeps;
  const lifetime = new AbortController();
  const ports = sessionPorts(sessionRecord({ channel: 'C9', threadTs: '200.1' }), deps, memoryLogger('silent').log, lifetime.signal);
  return { ports, calls, toolCalls, counted, writer, lifetime };
}

describe('session ports', () => {
  it('the spend cap and the archive go to this session', async () => {
    const s = setup();
    await s.ports.setCap(250);
    await s.ports.archive();
    expect(s.calls).toEqual([
      ['update', 'sesn_1', { budget: budgetParam(250) }],
      ['archive', 'sesn_1'],
    ]);
  });

  it('record writes go to this thread', async () => {
    const s = setup();
    const written = await s.ports.write((r) => {
      r.status = 'idle';
    });
    expect(written.status).toBe('idle');
    expect(s.calls).toEqual([['records.update', { team: 'T1', channel: 'C9', threadTs: '200.1' }, 'idle']]);
  });

  it('a custom tool runs with this thread, the bot, the runner’s lifetime and its own log fields', async () => {
    const s = setup();
    const awaitAnswer = async () => ({ user: 'U1', text: 'yes' });
    await s.ports.runTool({ eventId: 'sevt_t', name: 'read_thread', input: { limit: 3 } }, awaitAnswer);
    const [run] = s.toolCalls;
    expect(run).toMatchObject({ name: 'read_thread', input: { limit: 3 }, bindings: { tool: 'read_thread', toolUseId: 'sevt_t' } });
    expect(run!.ctx).toEqual({
      ref: { team: 'T1', channel: 'C9', threadTs: '200.1' },
      threadTs: '200.1',
      slack: s.writer,
      botUserId: 'UBOT',
      signal: s.lifetime.signal,
      awaitAnswer,
    });
  });

  it('a batch is counted by event type', () => {
    const s = setup();
    s.ports.counted([{ type: 'agent.message' }, { type: 'session.status_idle' }] as AgentEvent[]);
    expect(s.counted).toEqual(['agent.message', 'session.status_idle']);
  });
});
