/**
 * Starts let through and not finished yet, by person: they count towards the running limit
 * until their thread record counts instead. Checked and taken under the person's lock.
 */
export type StartReservations = {
  /** Takes a place; the returned function gives it back (once). */
  reserve(user: string): Promise<() => Promise<void>>;
  count(user: string): Promise<number>;
};

/** One process: a count per person in memory. */
export class LocalStartReservations implements StartReservations {
  private readonly inFlight = new Map<string, number>();

  async reserve(user: string): Promise<() => Promise<void>> {
    this.inFlight.set(user, (this.inFlight.get(user) ?? 0) + 1);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(user) ?? 1) - 1;
      if (left > 0) this.inFlight.set(user, left);
      else this.inFlight.delete(user);
    };
  }

  async count(user: string): Promise<number> {
    return this.inFlight.get(user) ?? 0;
  }
}
