import { z } from 'zod';
import { SlackCallError, type SlackWriter } from '../delivery/slack-writer.js';
import type { Logger } from '../ops/logger.js';
import type { Account } from './policy.js';

/** The fields of users.info this bot reads (`users:read`). */
const UsersInfoSchema = z
  .object({
    user: z
      .object({
        id: z.string(),
        is_restricted: z.boolean().optional(),
        is_ultra_restricted: z.boolean().optional(),
      })
      .loose(),
  })
  .loose();

/**
 * Whether a person is a guest, from users.info, remembered for `ttlMs`. Guests are
 * multi-channel (`is_restricted`) and single-channel (`is_ultra_restricted`) accounts.
 * A workspace admin can turn a member into a guest at any time, so the answer is kept
 * for minutes, not forever; within that, one person starting and steering all day costs
 * one call per ten minutes, far under users.info's Tier 4 budget in the write scheduler.
 * A failed look-up is not remembered: the next message asks again.
 */
export class SlackAccounts {
  private readonly known = new Map<string, { account: Account; until: number }>();
  private readonly inFlight = new Map<string, Promise<Account>>();

  constructor(
    private readonly writer: SlackWriter,
    private readonly log: Logger,
    private readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async lookup(user: string): Promise<Account> {
    const cached = this.known.get(user);
    if (cached && cached.until > this.now()) return cached.account;
    const running = this.inFlight.get(user);
    if (running) return running;
    const asking = this.ask(user).finally(() => this.inFlight.delete(user));
    this.inFlight.set(user, asking);
    return asking;
  }

  private async ask(user: string): Promise<Account> {
    try {
      const parsed = UsersInfoSchema.safeParse(await this.writer.call('users.info', { user }));
      if (!parsed.success) {
        this.log.warn({ user }, 'users.info answered in a shape I could not read');
        return { kind: 'unknown' };
      }
      const u = parsed.data.user;
      const account: Account = u.is_restricted || u.is_ultra_restricted ? { kind: 'guest' } : { kind: 'member' };
      this.known.set(user, { account, until: this.now() + this.ttlMs });
      // The map only grows with people who wrote to the bot; drop expired entries now and then.
      if (this.known.size > 10_000) for (const [id, e] of this.known) if (e.until <= this.now()) this.known.delete(id);
      return account;
    } catch (error) {
      // An app installed before the bot asked for users:read answers every look-up so.
      if (error instanceof SlackCallError && error.slackError === 'missing_scope') {
        this.log.error(
          { user },
          'users.info needs the users:read scope (manifest.yml): add it and reinstall the app, or set ALLOWED_USERS; until then only listed users and admins get in',
        );
      } else this.log.warn({ err: error, user }, 'could not look up a Slack account');
      return { kind: 'unknown' };
    }
  }
}
