import { describe, expect, it } from 'vitest';
import { refusalWords } from '../../src/access/words.js';
import {
  answerReply,
  capReply,
  decisionReply,
  denyDialogReply,
  homeStopReply,
  letInReply,
  listReply,
  startReply,
  steerReply,
  stopAllReply,
  stopReply,
} from '../../src/slack/outcome-replies.js';
import { profileProblemWords } from '../../src/words/profiles.js';
import { replyWords } from '../../src/words/replies.js';
import { sessionsWords } from '../../src/words/sessions.js';
import { spendCapWords } from '../../src/words/spend-cap.js';

const refusal = { kind: 'not_admin' } as const;
const problem = { words: 'Anthropic is down', transient: true };

describe('the replies to intents’ outcomes', () => {
  it('say nothing where the thread itself shows what happened', () => {
    expect(startReply({ kind: 'started', ref: { team: 'T', channel: 'C', threadTs: '1.1' } })).toBeUndefined();
    for (const kind of ['sent', 'answered', 'failed', 'not_a_session', 'refused_again'] as const) expect(steerReply({ kind })).toBeUndefined();
    expect(stopReply({ kind: 'sent' })).toBeUndefined();
    expect(stopReply({ kind: 'not_a_session' })).toBeUndefined();
    expect(decisionReply({ kind: 'sent' })).toBeUndefined();
    expect(answerReply({ kind: 'answered' })).toBeUndefined();
    expect(denyDialogReply({ kind: 'allowed' })).toBeUndefined();
    for (const o of [{ kind: 'raised', toCents: 1000 }, { kind: 'ended' }, { kind: 'no_record' }] as const) expect(capReply(o)).toBeUndefined();
  });

  it('a refusal reads the same whatever the intent', () => {
    const words = refusalWords(refusal);
    const refused = { kind: 'not_allowed', refusal } as const;
    const replies: Array<(o: typeof refused) => string | undefined> = [
      startReply,
      steerReply,
      stopReply,
      decisionReply,
      answerReply,
      denyDialogReply,
      capReply,
      letInReply,
      listReply,
      homeStopReply,
    ];
    for (const reply of replies) expect(reply(refused)).toBe(words);
    expect(stopAllReply(refused, 'asked')).toBe(words);
    expect(stopAllReply(refused, 'confirmed')).toBe(words);
  });

  it('a start that did not happen says why', () => {
    expect(startReply({ kind: 'not_started', problem: { kind: 'bot_restarting' } })).toBe(replyWords({ kind: 'bot_restarting' }));
    expect(startReply({ kind: 'not_started', problem: { kind: 'root_card_refused', code: 'is_archived' } })).toBe(
      replyWords({ kind: 'root_card_refused', code: 'is_archived' }),
    );
    const problem = { kind: 'unknown_profile', requested: 'x', names: ['general'], here: 'general' } as const;
    expect(startReply({ kind: 'not_started', problem: { kind: 'no_profile', problem } })).toBe(profileProblemWords(problem));
  });

  it('an intent the bot could not carry out because it is shutting down asks to try again in a moment', () => {
    const words = replyWords({ kind: 'bot_restarting' });
    const down = { kind: 'shutting_down' } as const;
    const replies: Array<(o: typeof down) => string | undefined> = [steerReply, stopReply, homeStopReply, decisionReply, answerReply, capReply];
    for (const reply of replies) expect(reply(down)).toBe(words);
  });

  it('an intent relayed to a replica that did not answer in time says it is kept and goes through once the thread’s process is back', () => {
    const words = replyWords({ kind: 'replica_queued' });
    const queued = { kind: 'queued' } as const;
    const replies: Array<(o: typeof queued) => string | undefined> = [steerReply, stopReply, homeStopReply, decisionReply, answerReply, capReply];
    for (const reply of replies) expect(reply(queued)).toBe(words);
    expect(words).toContain('reaches the agent once');
  });

  it('failures carry the API’s words', () => {
    expect(stopReply({ kind: 'failed', problem })).toBe(replyWords({ kind: 'stop_failed', problem: problem.words }));
    expect(decisionReply({ kind: 'failed', problem })).toBe(replyWords({ kind: 'decision_not_sent', problem: problem.words }));
    expect(capReply({ kind: 'failed', words: 'could not raise' })).toBe('could not raise');
  });

  it('a spend-cap press says what stopped it', () => {
    expect(capReply({ kind: 'at_max', maxCents: 2000 })).toBe(refusalWords({ kind: 'budget_at_max', maxCents: 2000 }));
    expect(capReply({ kind: 'not_paused' })).toBe(spendCapWords({ kind: 'not_paused' }));
    expect(capReply({ kind: 'no_cap' })).toBe(spendCapWords({ kind: 'no_cap' }));
    expect(capReply({ kind: 'not_a_session' })).toBe(spendCapWords({ kind: 'no_cap' }));
  });

  it('stop-all typed by someone who may not is answered without a count; confirmed, it counts', () => {
    const done = { kind: 'done', stopped: 2, failed: 1 } as const;
    expect(stopAllReply(done, 'asked')).toBe(replyWords({ kind: 'nothing_to_do' }));
    expect(stopAllReply(done, 'confirmed')).toBe(replyWords({ kind: 'stop_all_done', stopped: 2, failed: 1 }));
  });

  it('the session list shows at most fifty and counts the rest', () => {
    const sessions = Array.from({ length: 52 }, (_, i) => ({ owner: `U${i}`, channel: 'C1', prompt: `task ${i}` }));
    const text = listReply({ kind: 'listed', sessions });
    expect(text.split('\n')).toHaveLength(1 + 50 + 1);
    expect(text).toMatch(/^52 running sessions:\n/);
    expect(text).toMatch(/\n…and 2 more\.$/);
    expect(listReply({ kind: 'listed', sessions: [] })).toBe(sessionsWords({ kind: 'running', sessions: [] }));
    expect(letInReply({ kind: 'let_in', people: ['U2', 'U3'] })).toContain('<@U2>, <@U3> can now steer');
  });
});
