import { unreachable } from '../ops/unreachable.js';
import { escapeMrkdwn } from '../render/sanitize.js';

/** A running session as `/agent sessions` lists it. */
export type RunningSession = { owner: string; channel: string; profile?: string | undefined; prompt: string };

/** What people are told about sessions as a whole: who may steer one, which ones run. */
export type SessionsReply =
  /** `@agent let @dana steer` in a thread that has no session. */
  | { kind: 'let_in_not_a_session' }
  | { kind: 'let_in_done'; people: readonly string[] }
  /** `/agent sessions` for an admin. */
  | { kind: 'running'; sessions: readonly RunningSession[] };

/** At most this many sessions are listed; the rest are counted. */
const LISTED = 50;

export function sessionsWords(r: SessionsReply): string {
  switch (r.kind) {
    case 'let_in_not_a_session':
      return 'This thread is not an agent session.';
    case 'let_in_done': {
      const names = r.people.map((u) => `<@${u}>`).join(', ');
      return `Done: ${names} can now steer this session; their replies in the thread reach the agent.`;
    }
    case 'running': {
      if (r.sessions.length === 0) return 'No sessions are running.';
      const lines = r.sessions.map(runningLine);
      const shown = lines.slice(0, LISTED);
      const more = lines.length > shown.length ? `\n…and ${lines.length - shown.length} more.` : '';
      return `${lines.length} running session${lines.length === 1 ? '' : 's'}:\n${shown.join('\n')}${more}`;
    }
    default:
      return unreachable(r);
  }
}

function runningLine(s: RunningSession): string {
  const prompt = s.prompt.length > 80 ? `${s.prompt.slice(0, 79)}…` : s.prompt;
  return `• <@${s.owner}> in <#${s.channel}>${s.profile ? ` (\`${s.profile}\`)` : ''}: ${escapeMrkdwn(prompt.replace(/\s+/g, ' '))}`;
}
