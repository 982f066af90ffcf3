import type { Button } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { initialState, type ThreadState } from '../../src/bridge/thread-state.js';
import { checkMessage, checkView } from '../../src/render/block-kit-check.js';
import { FEEDBACK_ACTION_ID, feedbackBlock, feedbackDialog, readFeedbackDialog, readFeedbackValue } from '../../src/render/feedback.js';
import {
  HOME_STOP_ACTION_ID,
  HOME_STOP_ALL_ACTION_ID,
  readHomeStopValue,
  renderHome,
  threadLink,
  type HomeSession,
} from '../../src/render/home-view.js';
import { MAX_LOADING_MESSAGES, nativeWanted, sessionTitle } from '../../src/render/native-status.js';
import { SLACK_LIMITS } from '../../src/render/slack-limits.js';

const state = (s: Partial<ThreadState>): ThreadState => ({ ...initialState(), ...s });
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);

function session(over: Partial<HomeSession> = {}): HomeSession {
  return {
    team: 'T1',
    channel: 'C1',
    threadTs: '1764676800.000100',
    owner: 'U_OWNER',
    prompt: 'fix the flaky test in ci',
    state: 'running',
    startedAt: NOW - 5 * 60_000,
    inputTokens: 1200,
    outputTokens: 300,
    cost: { amount: '12', currency: 'USD' },
    link: threadLink('https://fake.slack.com/', 'C1', '1764676800.000100'),
    ...over,
  };
}

type Fields = Record<string, unknown>;
const fieldsOf = (v: unknown): Fields => (typeof v === 'object' && v !== null ? (v as Fields) : {});
const texts = (blocks: readonly unknown[]) => JSON.stringify(blocks);
const isButton = (e: unknown): e is Button => fieldsOf(e).type === 'button';
const buttons = (blocks: readonly unknown[]): Button[] =>
  blocks
    .map(fieldsOf)
    .flatMap((b) => [b.accessory, ...(Array.isArray(b.elements) ? b.elements : [])])
    .filter(isButton);

describe('Home tab (mission control)', () => {
  it('owner: their sessions with state, channel, prompt, age, tokens, cost, a thread link, and Stop only on running ones', () => {
    const view = renderHome({
      viewer: 'U_OWNER',
      now: NOW,
      mine: [session(), session({ threadTs: '1764676000.000200', state: 'idle', prompt: 'write the release notes', startedAt: NOW - 3 * 3_600_000 })],
    });
    expect(checkView(view)).toBeUndefined();
    const blocks = view.blocks;
    const all = texts(blocks);
    expect(all).toContain('Your agent sessions');
    expect(all).toContain('<https://fake.slack.com/archives/C1/p1764676800000100|fix the flaky test in ci>');
    expect(all).toContain(':hourglass_flowing_sand: Running · <#C1> · 5 min ago · 1.5k tokens · $0.12');
    expect(all).toContain(':white_check_mark: Done · <#C1> · 3 h ago');
    const stops = buttons(blocks);
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ action_id: HOME_STOP_ACTION_ID });
    expect(readHomeStopValue(stops[0]!.value!)).toEqual({ channel: 'C1', threadTs: '1764676800.000100' });
    // Not an admin: no workspace list, no Stop all.
    expect(all).not.toContain('Every running session');
    expect(all).not.toContain(HOME_STOP_ALL_ACTION_ID);
  });

  it('bystander: no sessions of their own shows how to start one, and nothing of anyone else', () => {
    const view = renderHome({ viewer: 'U_BYSTANDER', now: NOW, mine: [] });
    expect(checkView(view)).toBeUndefined();
    const all = texts(view.blocks);
    expect(all).toContain('No sessions yet. Start one with `/agent');
    expect(all).not.toContain('U_OWNER');
    expect(buttons(view.blocks)).toEqual([]);
  });

  it('admin: every running session with its owner and Stop, the day’s totals, and Stop all behind a confirm dialog', () => {
    const running = [session(), session({ owner: 'U_OTHER', channel: 'C2', threadTs: '1764676900.000300', state: 'waiting' })];
    const view = renderHome({
      viewer: 'U_ADMIN',
      now: NOW,
      mine: [],
      admin: { running, today: { sessions: 7, inputTokens: 52_000, outputTokens: 9_000, cost: { amount: '345', currency: 'USD' } } },
    });
    expect(checkView(view)).toBeUndefined();
    const blocks = view.blocks;
    const all = texts(blocks);
    expect(all).toContain('Every running session (2)');
    expect(all).toContain('<@U_OTHER>');
    expect(all).toContain('*Sessions*\\n7');
    expect(all).toContain('52.0k in · 9.0k out');
    expect(all).toContain('$3.45');
    const stopAll = buttons(blocks).find((b) => b.action_id === HOME_STOP_ALL_ACTION_ID);
    expect(stopAll?.confirm).toMatchObject({ title: { text: 'Stop every session?' }, confirm: { text: 'Stop all' }, deny: { text: 'Cancel' } });
    expect(stopAll?.confirm?.text.text).toContain('all 2 running sessions');
    expect(buttons(blocks).filter((b) => b.action_id === HOME_STOP_ACTION_ID)).toHaveLength(2);
  });

  it('stays inside Slack’s view limits however many and however long the sessions are, and says how many it left out', () => {
    const many = Array.from({ length: 300 }, (_, i) =>
      session({ threadTs: `17646${String(i).padStart(5, '0')}.000100`, prompt: `${'very long prompt & <stuff> '.repeat(40)}${i}` }),
    );
    const view = renderHome({
      viewer: 'U_ADMIN',
      now: NOW,
      mine: many,
      admin: { running: many, today: { sessions: 300, inputTokens: 1, outputTokens: 1 } },
      notice: 'x'.repeat(5000),
    });
    expect(checkView(view)).toBeUndefined();
    expect(view.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocksPerView);
    const all = texts(view.blocks);
    expect(all).toMatch(/…and \d+ more\./);
    // Both lists got rows: the admin's part is not squeezed out by the viewer's own.
    expect(all).toContain('Every running session (300)');
    expect(buttons(view.blocks).filter((b) => b.action_id === HOME_STOP_ACTION_ID).length).toBeGreaterThan(2);
  });

  it('reads back only a Stop value it could have written', () => {
    expect(readHomeStopValue('{"channel":"C1","threadTs":"1.2"}')).toEqual({ channel: 'C1', threadTs: '1.2' });
    expect(readHomeStopValue('{"channel":"C1"}')).toBeUndefined();
    expect(readHomeStopValue('not json')).toBeUndefined();
    expect(threadLink(undefined, 'C1', '1.2')).toBeUndefined();
    expect(threadLink('https://x.slack.com', 'C1', '1764676800.000100')).toBe('https://x.slack.com/archives/C1/p1764676800000100');
  });
});

describe('feedback buttons', () => {
  it('a context_actions block Slack takes, whose halves name the turn', () => {
    const block = feedbackBlock(3);
    expect(checkMessage({ text: 'usage', blocks: [block] })).toBeUndefined();
    expect(block.elements[0]).toMatchObject({ type: 'feedback_buttons', action_id: FEEDBACK_ACTION_ID });
    expect(readFeedbackValue('good:3')).toEqual({ good: true, turn: 3 });
    expect(readFeedbackValue('bad:12')).toEqual({ good: false, turn: 12 });
    expect(readFeedbackValue('meh:1')).toBeUndefined();
    expect(readFeedbackValue('good:')).toBeUndefined();
  });

  it('the 👎 dialog is a valid modal that carries its thread and turn, and reads back the note', () => {
    const target = { team: 'T1', channel: 'C1', threadTs: '1.2', turn: 2 };
    const dialog = feedbackDialog(target);
    expect(checkView(dialog)).toBeUndefined();
    expect(readFeedbackDialog(dialog.private_metadata, { note: { note_input: { value: '  it deleted my branch  ' } } })).toEqual({
      kind: 'read',
      target,
      note: 'it deleted my branch',
    });
    expect(readFeedbackDialog('{"team":"T1"}', {})).toEqual({ kind: 'unreadable' });
    expect(readFeedbackDialog('nope', {})).toEqual({ kind: 'unreadable' });
  });
});

describe('native status', () => {
  const tools = (statuses: Array<'running' | 'done'>, turn = 1): ThreadState['items'] => [
    {
      kind: 'tools',
      id: 't',
      turn,
      tools: statuses.map((status, i) => ({ eventId: `e${i}`, name: 'bash', input: { command: `npm test -- ${i}` }, status })),
    },
  ];

  it('processing while a turn runs, active when it waits or is done, closed when it ended; active after a bridge failure', () => {
    expect(nativeWanted(state({ phase: 'starting' }), { failed: false }).status).toBe('processing');
    expect(nativeWanted(state({ phase: 'running', turn: 1 }), { failed: false }).status).toBe('processing');
    expect(nativeWanted(state({ phase: 'waiting' }), { failed: false })).toEqual({ status: 'active', loading: [] });
    expect(nativeWanted(state({ phase: 'idle' }), { failed: false })).toEqual({ status: 'active', loading: [] });
    expect(nativeWanted(state({ phase: 'terminated' }), { failed: false })).toEqual({ status: 'closed', loading: [] });
    expect(nativeWanted(state({ phase: 'running' }), { failed: true }).status).toBe('active');
  });

  it('loading messages name the tools running now, newest first, at most Slack’s 10; "thinking…" when none runs', () => {
    expect(nativeWanted(state({ phase: 'running', turn: 1, items: tools(['done', 'running']) }), { failed: false }).loading).toEqual([
      'running `npm test -- 1`…',
    ]);
    expect(nativeWanted(state({ phase: 'running', turn: 1, items: tools(['done']) }), { failed: false }).loading).toEqual(['thinking…']);
    // A tool still marked running in an earlier turn is not this turn's work.
    expect(nativeWanted(state({ phase: 'running', turn: 2, items: tools(['running'], 1) }), { failed: false }).loading).toEqual(['thinking…']);
    const many = nativeWanted(state({ phase: 'running', turn: 1, items: tools(Array(15).fill('running')) }), { failed: false }).loading;
    expect(many).toHaveLength(MAX_LOADING_MESSAGES);
    expect(many[0]).toBe('running `npm test -- 14`…');
  });

  it('titles a session with the prompt’s first words, within 200 characters', () => {
    expect(sessionTitle('  fix\nthe   build ')).toBe('fix the build');
    expect(sessionTitle('x'.repeat(500))).toHaveLength(200);
    expect(sessionTitle('   ')).toBe('Agent session');
  });
});
