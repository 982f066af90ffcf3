/**
 * How many Slack streams may be open at once in the workspace. appendStream shares
 * one budget (~100/min) across every stream, so only a few can flush every second or
 * so; the rest of the threads post finished messages instead.
 *
 * A slot is handed out as a token: whoever holds it owns the slot, and giving it back
 * twice gives back one slot (a second `release` does nothing), so no path can free a
 * slot that another stream still holds.
 */
export class StreamSlots {
  private used = 0;

  constructor(readonly limit = 2) {}

  get free(): number {
    return this.limit - this.used;
  }

  /** A slot if one is free, else undefined. */
  take(): SlotToken | undefined {
    if (this.used >= this.limit) return undefined;
    this.used += 1;
    let held = true;
    return {
      get held() {
        return held;
      },
      release: () => {
        if (!held) return;
        held = false;
        this.used -= 1;
      },
    };
  }
}

/** One taken stream slot. `release` gives it back once; later calls do nothing. */
export type SlotToken = {
  readonly held: boolean;
  release(): void;
};
