import { APIConnectionError, APIError, BadRequestError, InternalServerError, RateLimitError } from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { sendOnce } from '../../src/agents/send-once.js';
import { missingCustomTools, toolParamsOf } from '../../src/agents/session-agent.js';
import { ThreadQueues } from '../../src/bridge/thread-queues.js';

const server500 = () => new InternalServerError(500, { type: 'error', error: { type: 'api_error', message: 'boom' } }, 'boom', new Headers());
const rateLimited = () =>
  new RateLimitError(429, { type: 'error', error: { type: 'rate_limit_error', message: 'slow' } }, 'slow', new Headers({ 'retry-after-ms': '1' }));
const badRequest = () => new BadRequestError(400, { type: 'error', error: { type: 'invalid_request_error', message: 'no' } }, 'no', new Headers());

describe('sendOnce', () => {
  it('an unknown outcome is looked up before anything is sent again; a landed write is found, not repeated', async () => {
    const calls: string[] = [];
    const outcome = await sendOnce({
      attempt: async () => {
        calls.push('send');
        throw server500();
      },
      lookup: async () => {
        calls.push('lookup');
        return 'evt_1';
      },
      backoffMs: 1,
    });
    expect(outcome).toEqual({ kind: 'found', value: 'evt_1' });
    expect(calls).toEqual(['send', 'lookup']);
  });

  it('a write that did not land is tried again; a dropped connection counts as unknown', async () => {
    const calls: string[] = [];
    let n = 0;
    const outcome = await sendOnce({
      attempt: async () => {
        calls.push('send');
        if (++n === 1) throw new APIConnectionError({ message: 'reset' });
        return 'evt_2';
      },
      lookup: async () => {
        calls.push('lookup');
        return undefined;
      },
      backoffMs: 1,
    });
    expect(outcome).toEqual({ kind: 'sent', value: 'evt_2' });
    expect(calls).toEqual(['send', 'lookup', 'send']);
  });

  it('a 429 waits and retries without a look-up; a 400 fails at once; a look-up that keeps failing stops the writes', async () => {
    const calls: string[] = [];
    let n = 0;
    const limited = await sendOnce({
      attempt: async () => {
        calls.push('send');
        if (++n === 1) throw rateLimited();
        return 'ok';
      },
      lookup: async () => {
        calls.push('lookup');
        return undefined;
      },
    });
    expect(limited).toEqual({ kind: 'sent', value: 'ok' });
    expect(calls).toEqual(['send', 'send']);

    const refused = await sendOnce({ attempt: async () => Promise.reject(badRequest()), lookup: async () => 'never' });
    expect(refused.kind).toBe('failed');

    let sends = 0;
    const blind = await sendOnce({
      attempt: async () => {
        sends += 1;
        throw server500();
      },
      lookup: async () => Promise.reject(server500()),
      backoffMs: 1,
    });
    expect(blind.kind).toBe('failed');
    expect((blind as { error: unknown }).error).toBeInstanceOf(APIError);
    expect(sends).toBe(1);
  });
});

describe('session tool overrides', () => {
  const agent = {
    tools: [
      {
        type: 'agent_toolset_20260401' as const,
        default_config: { enabled: true, permission_policy: { type: 'always_allow' as const } },
        configs: [{ name: 'bash' as const, type: 'bash' as const, enabled: true, permission_policy: { type: 'always_ask' as const } }],
      },
      { type: 'custom' as const, name: 'read_thread', description: 'Read', input_schema: { type: 'object' as const } },
    ],
  };

  it('names only the wanted custom tools the agent lacks', () => {
    expect(missingCustomTools(agent, ['read_thread', 'ask_user'])).toEqual(['ask_user']);
    expect(missingCustomTools({ tools: [] }, [])).toEqual([]);
  });

  it('repeats the agent’s own tools as parameters, with every per-tool setting', () => {
    expect(toolParamsOf(agent)).toEqual([
      {
        type: 'agent_toolset_20260401',
        default_config: { enabled: true, permission_policy: { type: 'always_allow' } },
        configs: [{ name: 'bash', enabled: true, permission_policy: { type: 'always_ask' } }],
      },
      { type: 'custom', name: 'read_thread', description: 'Read', input_schema: { type: 'object' } },
    ]);
  });
});

describe('ThreadQueues', () => {
  it('runs a thread’s work one piece at a time in queue order; other threads and failures do not block it', async () => {
    const q = new ThreadQueues();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const first = q.run(
      'a',
      () =>
        new Promise<void>((r) => {
          releaseFirst = () => {
            log.push('a1');
            r();
          };
        }),
    );
    const failing = q.run('a', async () => {
      log.push('a2');
      throw new Error('x');
    });
    const third = q.run('a', async () => void log.push('a3'));
    await q.run('b', async () => void log.push('b1'));
    expect(log).toEqual(['b1']);
    expect(q.busy('a')).toBe(true);
    releaseFirst();
    await first;
    await expect(failing).rejects.toThrow('x');
    await third;
    expect(log).toEqual(['b1', 'a1', 'a2', 'a3']);
    await Promise.resolve();
    expect(q.busy('a')).toBe(false);
  });
});
