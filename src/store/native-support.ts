import { z } from 'zod';
import type Keyv from 'keyv';
import { DAY_MS } from './retention.js';

/**
 * How long a workspace's refusal of Slack's agent surfaces is believed. A workspace may get
 * them later (a plan upgraded, the app reinstalled with the scope): after this the first
 * native call there asks again.
 */
export const REFUSAL_KEEP_MS = DAY_MS;

const RefusalSchema = z.object({ error: z.string(), until: z.number() });
export type Refusal = z.infer<typeof RefusalSchema>;

const key = (team: string) => `native-refused:${team}`;

/**
 * Which workspaces refused Slack's agent surfaces, in the store: every replica and the bot
 * after a restart know it, so none of them tries again there and each session keeps the
 * card and its buttons only. Kept with a TTL (the prune pass sweeps it; Redis expires it).
 */
export class NativeSupportStore {
  constructor(
    private readonly kv: Keyv,
    private readonly now: () => number = Date.now,
  ) {}

  async refusal(team: string): Promise<Refusal | undefined> {
    const parsed = RefusalSchema.safeParse(await this.kv.get(key(team)));
    return parsed.success && parsed.data.until > this.now() ? parsed.data : undefined;
  }

  async refuse(team: string, error: string): Promise<Refusal> {
    const refusal = { error, until: this.now() + REFUSAL_KEEP_MS };
    await this.kv.set(key(team), refusal, REFUSAL_KEEP_MS);
    return refusal;
  }
}
