/**
 * How many Slack streams may be open at once in the workspace. appendStream shares
 * one budget (~100/min) across every stream, so only a few can flush every second or
 * so; the rest of the threads post finished messages instead. These are one process's
 * slots; replicas on one Redis share theirs (`RedisStreamSlots`).
 *
 * A slot is handed out as a token: whoever holds it owns the slot, and giving it back
 * twice gives back one slot (a second `release` does nothing), so no path can free a
 * slot that another stream still holds.
 */
export class StreamSlots implements SlotSource {
  private used = 0;

  constructor(readonly limit = 2) {}

  get free(): number {
    return this.limit - this.used;
  }

  /** A slot if one is free, else undefined. */
  take(): SlotToken | undefined {
    if (this.used >= this.limit) return undefined;
    this.used += 1;
    return slotToken(() => {
      this.used -= 1;
    });
  }
}

/**
 * Where slots come from: `StreamSlots` (at once), `RedisStreamSlots` (after asking Redis),
 * or a stand-in in tests. `free` is what the source knows without asking: exact in
 * memory, the last answer in Redis; `take` is what decides.
 */
export type SlotSource = {
  readonly free: number;
  take(): SlotToken | undefined | Promise<SlotToken | undefined>;
};

/** A held token whose first `release` calls `giveBack`, and whose later ones do nothing. */
export function slotToken(giveBack: () => void): SlotToken {
  return new Token(giveBack);
}

/** Type-only mark of a token's state: no runtime property carries it. */
declare const state: unique symbol;

/**
 * One taken stream slot. `release` gives it back once; later calls do nothing. After
 * `release()` the compiler narrows the token to `never`, so in that code path it can be
 * neither released again nor read: `const t: SlotToken = …; t.release(); t.release()`
 * does not compile. (An assertion needs the token's name declared with its type.)
 */
export interface SlotToken {
  readonly [state]: 'held';
  /** False once released: a token that is handed on is checked with it. */
  readonly held: boolean;
  release(): asserts this is ReleasedSlot;
}

/** A token after `release()`: nothing left to do with it. */
export interface ReleasedSlot {
  readonly [state]: 'released';
}

class Token implements SlotToken {
  declare readonly [state]: 'held';
  #held = true;

  constructor(private readonly giveBack: () => void) {}

  get held(): boolean {
    return this.#held;
  }

  release(): asserts this is ReleasedSlot {
    if (!this.#held) return;
    this.#held = false;
    this.giveBack();
  }
}
