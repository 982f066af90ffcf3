import type { SlackWriter } from '../delivery/slack-writer.js';
import type { Logger } from '../ops/logger.js';
import { renderHome, threadLink } from '../render/home-view.js';
import type { SessionBoard } from './session-board.js';

/**
 * Least time between two publishing passes. A pass publishes every Home tab that changed
 * since the last one, once: a burst of state changes (a stop-all, many turns ending
 * together) is one views.publish per viewer, and each goes through the write scheduler.
 */
export const HOME_REFRESH_GAP_MS = 2000;

type Viewer = { user: string; team: string };

/**
 * App Home as mission control: published when a person opens the tab, and refreshed,
 * coalesced, when one of the sessions it shows changes state. Only people who opened the
 * tab since this process started get refreshes (nobody else would see them).
 */
export class HomePublisher {
  private readonly viewers = new Map<string, Viewer>();
  private readonly dirty = new Set<string>();
  private readonly notices = new Map<string, string>();
  private current: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastPass = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly deps: {
      writer: SlackWriter;
      board: SessionBoard;
      isAdmin: (user: string) => boolean;
      log: Logger;
      /** The workspace's address (auth.test `url`), for links to threads. */
      workspaceUrl?: string | undefined;
      now?: () => number;
      gapMs?: number;
    },
  ) {}

  /** The person opened the Home tab: published at once (not waiting for the gap). */
  opened(user: string, team: string): Promise<void> {
    const key = `${team}:${user}`;
    this.viewers.set(key, { user, team });
    this.dirty.add(key);
    return this.run(true);
  }

  /** A session of `owner` changed state: their tab and every admin's tab in the workspace are due. */
  sessionChanged(owner: string, team: string): void {
    for (const [key, v] of this.viewers) if (v.team === team && (v.user === owner || this.deps.isAdmin(v.user))) this.dirty.add(key);
    this.schedule();
  }

  /** One line at the top of the viewer's tab (what became of their click), shown at the next publish. */
  tell(user: string, team: string, text: string): Promise<void> {
    const key = `${team}:${user}`;
    this.viewers.set(key, { user, team });
    this.notices.set(key, text);
    this.dirty.add(key);
    return this.run(true);
  }

  /** The pass in flight, if any, is done (a refresh waiting for its gap is not waited for). */
  async settled(): Promise<void> {
    while (this.current) await this.current;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.closed || this.dirty.size === 0 || this.current || this.timer) return;
    const now = (this.deps.now ?? Date.now)();
    // Through a timer even when the gap has passed: the changes of one burst (a stop-all,
    // a batch of events) arrive in the same tick and go out in one pass.
    const wait = Math.max(0, this.lastPass + (this.deps.gapMs ?? HOME_REFRESH_GAP_MS) - now);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run(false);
    }, wait);
  }

  private run(now: boolean): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.current) return this.current.then(() => (now ? this.run(true) : undefined));
    if (!now && this.timer) return Promise.resolve();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.current = this.pass().finally(() => {
      this.current = undefined;
      this.schedule();
    });
    return this.current;
  }

  private async pass(): Promise<void> {
    this.lastPass = (this.deps.now ?? Date.now)();
    const due = [...this.dirty];
    this.dirty.clear();
    for (const key of due) {
      const viewer = this.viewers.get(key);
      if (!viewer || this.closed) continue;
      const notice = this.notices.get(key);
      this.notices.delete(key);
      await this.publish(viewer, notice);
    }
  }

  private async publish({ user, team }: Viewer, notice: string | undefined): Promise<void> {
    const { board, workspaceUrl } = this.deps;
    const withLink = <T extends { channel: string; threadTs: string }>(s: T) => ({ ...s, link: threadLink(workspaceUrl, s.channel, s.threadTs) });
    const view = renderHome({
      viewer: user,
      now: (this.deps.now ?? Date.now)(),
      mine: board.mine(team, user).map(withLink),
      ...(this.deps.isAdmin(user) ? { admin: { running: board.running(team).map(withLink), today: board.today(team) } } : {}),
      ...(notice ? { notice } : {}),
    });
    try {
      await this.deps.writer.call('views.publish', { user_id: user, view }, 'status');
    } catch (error) {
      if (!this.closed) this.deps.log.warn({ err: error, user }, 'could not publish the Home tab');
    }
  }
}
