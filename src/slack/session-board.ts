import type { ThreadState } from '../bridge/thread-state.js';
import type { HomeSession, HomeState, HomeTotals } from '../render/home-view.js';
import { threadKey, type ThreadRecord } from '../store/thread-records.js';

/** How many finished sessions per person the board keeps for the Home tab. */
const RECENT_PER_OWNER = 20;
const DAY_MS = 86_400_000;

/** A session's state as mission control shows it, from the folded state and the record. */
export function homeStateOf(state: ThreadState, record: Pick<ThreadRecord, 'failure'>): HomeState {
  if (record.failure !== undefined) return 'failed';
  switch (state.phase) {
    case 'starting':
      return 'starting';
    case 'running':
      return state.interruptId !== undefined ? 'stopping' : 'running';
    case 'waiting':
      return 'waiting';
    case 'idle':
      return 'idle';
    case 'terminated':
      return state.outcome === 'failed' ? 'failed' : 'ended';
  }
}

/**
 * What this process knows of its sessions, for the Home tab: each thread's state, tokens
 * and cost as its runner last folded them. Kept in memory (the thread records hold no
 * usage); sessions from before a restart show up again as their runners resume.
 * `onStateChange` is called with the owner when a session's state changes, so the Home
 * tabs that show it can be refreshed (not at every event: tokens alone change nothing).
 */
export class SessionBoard {
  private readonly sessions = new Map<string, HomeSession & { updatedAt: number }>();

  constructor(
    private readonly onStateChange: (owner: string, team: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  observe(record: ThreadRecord, state: ThreadState): void {
    const key = threadKey(record);
    const before = this.sessions.get(key);
    const next = {
      team: record.team,
      channel: record.channel,
      threadTs: record.threadTs,
      owner: record.owner,
      prompt: record.prompt,
      state: homeStateOf(state, record),
      startedAt: record.createdAt,
      inputTokens: state.usage.inputTokens,
      outputTokens: state.usage.outputTokens,
      cost: state.usage.cost,
      updatedAt: this.now(),
    };
    this.sessions.set(key, next);
    if (before?.state !== next.state) {
      this.prune(record.owner);
      this.onStateChange(record.owner, record.team);
    }
  }

  /** A person's sessions in a workspace, newest first. */
  mine(team: string, owner: string): HomeSession[] {
    return [...this.sessions.values()].filter((s) => s.team === team && s.owner === owner).sort((a, b) => b.startedAt - a.startedAt);
  }

  /** Every running session in a workspace, newest first. */
  running(team: string): HomeSession[] {
    return [...this.sessions.values()]
      .filter((s) => s.team === team && (s.state === 'starting' || s.state === 'running' || s.state === 'waiting' || s.state === 'stopping'))
      .sort((a, b) => b.startedAt - a.startedAt);
  }

  /** Sessions started in the last day in a workspace, their tokens and (US dollar) cost. */
  today(team: string): HomeTotals {
    const since = this.now() - DAY_MS;
    let sessions = 0;
    let inputTokens = 0;
    let outputTokens = 0;
    let cents = 0;
    let priced = false;
    for (const s of this.sessions.values()) {
      if (s.team !== team || s.startedAt < since) continue;
      sessions += 1;
      inputTokens += s.inputTokens;
      outputTokens += s.outputTokens;
      if (s.cost?.currency === 'USD' && Number.isFinite(Number(s.cost.amount))) {
        cents += Number(s.cost.amount);
        priced = true;
      }
    }
    return { sessions, inputTokens, outputTokens, ...(priced ? { cost: { amount: String(cents), currency: 'USD' } } : {}) };
  }

  /** A person's finished sessions beyond the newest RECENT_PER_OWNER (and older than a day) are dropped. */
  private prune(owner: string): void {
    const since = this.now() - DAY_MS;
    const done = [...this.sessions.entries()]
      .filter(([, s]) => s.owner === owner && (s.state === 'idle' || s.state === 'ended' || s.state === 'failed'))
      .sort(([, a], [, b]) => b.startedAt - a.startedAt);
    for (const [i, [key, s]] of done.entries()) if (i >= RECENT_PER_OWNER && s.updatedAt < since) this.sessions.delete(key);
  }
}
