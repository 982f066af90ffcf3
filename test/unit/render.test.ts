import { describe, expect, it } from 'vitest';
import { initialState, type ThreadState } from '../../src/bridge/thread-state.js';
import { renderRootCard, statusLine, STOP_ACTION_ID } from '../../src/render/root-card.js';
import { sanitizeForSlack } from '../../src/render/sanitize.js';
import { renderThread } from '../../src/render/thread-view.js';
import { inputPreview } from '../../src/render/tool-line.js';

const state = (s: Partial<ThreadState>): ThreadState => ({ ...initialState(), ...s });

describe('root card', () => {
  it('shows who asked, the prompt, the status and a Stop button while live', () => {
    const card = renderRootCard({
      owner: 'U1',
      prompt: 'fix <it>',
      state: state({ phase: 'running', toolCalls: 2, usage: { inputTokens: 1500, outputTokens: 200 } }),
    });
    if (!('blocks' in card)) throw new Error('expected blocks');
    const json = JSON.stringify(card.blocks);
    expect(json).toContain('<@U1> asked the agent');
    expect(json).toContain('fix &lt;it&gt;');
    expect(json).toContain(STOP_ACTION_ID);
    expect(
      statusLine({ owner: 'U1', prompt: '', state: state({ phase: 'running', toolCalls: 2, usage: { inputTokens: 1500, outputTokens: 200 } }) }),
    ).toBe(':hourglass_flowing_sand: Running · 2 tool calls · 1.7k tokens');
  });

  it('drops the Stop button and says who stopped it once stopped', () => {
    const card = renderRootCard({
      owner: 'U1',
      prompt: 'p',
      state: state({ phase: 'idle', outcome: 'stopped', stoppedBy: 'i1' }),
      stoppedByUser: 'U2',
    });
    const json = JSON.stringify(card);
    expect(json).not.toContain(STOP_ACTION_ID);
    expect(json).toContain('Stopped by <@U2>');
  });

  it('tells the person what to do next, and this turn’s share of the tokens', () => {
    const line = (st: Partial<ThreadState>) => statusLine({ owner: 'U1', prompt: '', state: state(st) });
    expect(
      line({
        phase: 'idle',
        outcome: 'failed',
        detail: { kind: 'agent_error', error: { type: 'model_overloaded_error', message: 'busy' }, retrying: false },
      }),
    ).toContain('reply in the thread to try again');
    expect(line({ phase: 'idle', outcome: 'budget' })).toContain('raise the cap or end the session');
    expect(line({ phase: 'idle', outcome: 'refused' })).toContain('rephrase');
    expect(line({ phase: 'terminated', outcome: 'done' })).toContain('start a new one with /agent');
    expect(
      line({
        phase: 'idle',
        outcome: 'done',
        usage: { inputTokens: 9000, outputTokens: 1000 },
        usageAtTurnStart: { inputTokens: 6000, outputTokens: 500 },
      }),
    ).toContain('10.0k tokens (3.5k this turn)');
  });

  it('shows a bridge failure in plain words', () => {
    const card = renderRootCard({ owner: 'U1', prompt: 'p', state: initialState(), failure: 'Anthropic rejected the key' });
    expect(JSON.stringify(card)).toContain(':x: Failed: Anthropic rejected the key');
  });
});

describe('thread view', () => {
  it('joins a turn’s words into text blocks, keeps one activity surface per turn, and places notices', () => {
    const s = state({
      turn: 1,
      turnOpen: true,
      items: [
        { kind: 'text', id: 'm1', text: 'Looking.', turn: 1 },
        { kind: 'tools', id: 't1', tools: [{ eventId: 't1', name: 'bash', input: { command: 'npm test' }, status: 'done' }], turn: 1 },
        { kind: 'text', id: 'm2', text: 'All green.', turn: 1 },
        { kind: 'text', id: 'm3', text: 'Shipping.', turn: 1 },
      ],
      preview: { id: 'm4', text: 'And now <!channel>' },
    });
    const blocks = renderThread(s, [{ key: 'n0', text: 'hm', afterItems: 1 }]);
    expect(blocks.map((b) => b.key)).toEqual(['text:m1', 'notice:n0', 'tools:t1', 'text:m2']);
    const last = blocks[3]!;
    if (last.kind !== 'text') throw new Error('expected text');
    expect(last.text.startsWith('All green.\n\nShipping.\n\nAnd now ')).toBe(true);
    expect(last.text).not.toContain('<!channel>');
    expect(last.committed).toBe('All green.\n\nShipping.'.length);
    expect(last.open).toBe(true);
    expect(blocks[0]!.kind === 'text' && blocks[0]!.open).toBe(false);
    expect(JSON.stringify(blocks[2])).toContain(':white_check_mark: *bash* `npm test`');
  });
});

describe('sanitising', () => {
  it('neutralises broadcasts and masks tokens', () => {
    const out = sanitizeForSlack('ping <!channel> and @here, key xoxb-123456789-abcdef');
    expect(out).not.toContain('<!channel>');
    expect(out).not.toMatch(/@here/);
    expect(out).not.toContain('xoxb-123456789-abcdef');
  });
  it('masks well-known credential formats and private keys, leaving ordinary text alone', () => {
    const text = [
      'slack xoxb-1234567890-abcdefghij',
      'anthropic sk-ant-api03-abcdefghijklmnop',
      'github ghp_abcdefghijklmnopqrstuvwxyz0123',
      'aws AKIAIOSFODNN7EXAMPLE',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----',
      'the word skeleton and task-ant- stay',
    ].join('\n');
    const out = sanitizeForSlack(text);
    for (const secret of ['xoxb-1234567890', 'sk-ant-api03', 'ghp_abcdef', 'AKIAIOSFODNN7EXAMPLE', 'MIIEpAIBAAKCAQEA'])
      expect(out).not.toContain(secret);
    expect(out).toContain('[redacted private key]');
    expect(out).toContain('the word skeleton and task-ant- stay');
  });

  it('previews the telling field of a tool input', () => {
    expect(inputPreview({ command: 'ls   -la\n/tmp' })).toBe('ls -la /tmp');
    expect(inputPreview({ file_path: '/a/b.ts', content: 'x' })).toBe('/a/b.ts');
  });
});

describe('root card profile label', () => {
  it('names the profile only when the session has one', () => {
    const base = { owner: 'U1', prompt: 'hi', state: initialState() };
    expect(JSON.stringify(renderRootCard({ ...base, profile: 'research' }))).toContain('<@U1> asked the agent (profile `research`):');
    expect(JSON.stringify(renderRootCard(base))).toContain('<@U1> asked the agent:');
  });
});
