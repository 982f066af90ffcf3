import { CoalescingLoop } from '../delivery/coalescing-loop.js';
import type { SlackWriter } from '../delivery/slack-writer.js';
import type { Logger } from '../ops/logger.js';
import { renderHome, threadLink } from '../render/home-view.js';
import type { HomeIndex } from '../store/home-index.js';

/**
 * Least time between two publishing passes. A pass publishes every Home tab that changed
 * since the last one, once: a burst of state changes (a stop-all, many turns ending
 * together) is one views.publish per viewer, and each goes through the write scheduler.
 */
const HOME_REFRESH_GAP_MS = 2000;

type Viewer = { user: string; team: string };

/**
 * App Home as mission control: published when a person opens the tab, and refreshed,
 * coalesced, when one of the sessions it shows changes state. Everything it shows is read
 * from the store (`HomeIndex`), and so is who opened the tab: the replica that sees a
 * session change state refreshes the tabs that show it, whichever replica published them
 * before, and a restarted bot shows what the one before it did.
 */
export class HomePublisher {
  /** Tabs due at the next pass (`team:user`), and what each shows on top. */
  private readonly dirty = new Map<string, Viewer>();
  private readonly notices = new Map<string, string>();
  /** Owners whose sessions changed state since the last pass, per workspace: their viewers are looked up then. */
  private readonly changed = new Map<string, Set<string>>();
  private readonly loop: CoalescingLoop;
  private lastPass = Number.NEGATIVE_INFINITY;
  private waking = false;
  private closed = false;

  constructor(
    private readonly deps: {
      writer: SlackWriter;
      index: HomeIndex;
      isAdmin: (user: string) => boolean;
      log: Logger;
      /** The workspace's address (auth.test `url`), for links to threads. */
      workspaceUrl?: string | undefined;
      now?: () => number;
      gapMs?: number;
    },
  ) {
    this.loop = new CoalescingLoop(
      () => this.pass(),
      deps.log,
      () => undefined,
    );
  }

  /** The person opened the Home tab: remembered in the store, and published at once (not waiting for the gap). */
  async opened(user: string, team: string): Promise<void> {
    try {
      await this.deps.index.viewed(team, user);
    } catch (error) {
      this.deps.log.warn({ err: error, user }, 'could not remember who opened the Home tab');
    }
    return this.now({ user, team });
  }

  /** A session of `owner` changed state: their tab and every admin's tab in the workspace are due. */
  sessionChanged(owner: string, team: string): void {
    if (this.closed) return;
    const owners = this.changed.get(team) ?? new Set<string>();
    this.changed.set(team, owners.add(owner));
    if (this.waking) return;
    // Through a timer even when the gap has passed: the changes of one burst (a stop-all,
    // a batch of events) arrive in the same tick and go out in one pass.
    this.waking = true;
    this.loop.wake(this.lastPass + (this.deps.gapMs ?? HOME_REFRESH_GAP_MS) - this.clock());
  }

  /** One line at the top of the viewer's tab (what became of their click), shown at the next publish. */
  tell(user: string, team: string, text: string): Promise<void> {
    this.notices.set(`${team}:${user}`, text);
    return this.now({ user, team });
  }

  /** The pass in flight, if any, is done (a refresh waiting for its gap is not waited for). */
  settled(): Promise<void> {
    return this.loop.settled();
  }

  close(): void {
    this.closed = true;
    this.loop.close();
  }

  private async now(viewer: Viewer): Promise<void> {
    this.dirty.set(`${viewer.team}:${viewer.user}`, viewer);
    this.loop.request();
    await this.loop.settled();
  }

  private clock(): number {
    return (this.deps.now ?? Date.now)();
  }

  private async pass(): Promise<void> {
    this.lastPass = this.clock();
    this.waking = false;
    const changed = [...this.changed];
    this.changed.clear();
    for (const [team, owners] of changed) {
      let viewers: string[] = [];
      try {
        viewers = await this.deps.index.viewers(team);
      } catch (error) {
        this.deps.log.warn({ err: error, team }, 'could not read who opened the Home tab');
      }
      for (const user of viewers) if (owners.has(user) || this.deps.isAdmin(user)) this.dirty.set(`${team}:${user}`, { user, team });
    }
    const due = [...this.dirty];
    this.dirty.clear();
    for (const [key, viewer] of due) {
      if (this.closed) return;
      const notice = this.notices.get(key);
      this.notices.delete(key);
      await this.publish(viewer, notice);
    }
  }

  private async publish({ user, team }: Viewer, notice: string | undefined): Promise<void> {
    const { index, workspaceUrl } = this.deps;
    const withLink = <T extends { channel: string; threadTs: string }>(s: T) => ({ ...s, link: threadLink(workspaceUrl, s.channel, s.threadTs) });
    try {
      const admin = this.deps.isAdmin(user);
      const [mine, running, today] = await Promise.all([
        index.mine(team, user),
        admin ? index.running(team) : Promise.resolve([]),
        admin ? index.today(team) : Promise.resolve(undefined),
      ]);
      const view = renderHome({
        viewer: user,
        now: this.clock(),
        mine: mine.map(withLink),
        ...(admin && today ? { admin: { running: running.map(withLink), today } } : {}),
        ...(notice ? { notice } : {}),
      });
      await this.deps.writer.call('views.publish', { user_id: user, view }, 'status');
    } catch (error) {
      if (!this.closed) this.deps.log.warn({ err: error, user }, 'could not publish the Home tab');
    }
  }
}
