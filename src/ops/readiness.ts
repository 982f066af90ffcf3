/**
 * One dependency the process needs to do its work, and how to tell it answers. `slowIsUp`:
 * an answer that does not come in time counts as reachable (a dependency every replica
 * shares, whose slowness would take them all out of the load balancer at once).
 */
export type ReadinessCheck = { name: string; check: (signal: AbortSignal) => Promise<boolean>; slowIsUp?: boolean };

export type Readiness = { kind: 'ready' } | { kind: 'not_ready'; failing: string[] };

/**
 * Asks every dependency at once; one that does not answer within `timeoutMs` counts as
 * unreachable (a cut network hangs rather than refuses). The timer is cleared either way.
 */
export async function checkReadiness(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async ({ name, check, slowIsUp = false }) => {
      const abort = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => {
          abort.abort();
          resolve(slowIsUp);
        }, timeoutMs);
      });
      try {
        const ok = await Promise.race([check(abort.signal).catch(() => false), timedOut]);
        return { name, ok };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const failing = results.filter((r) => !r.ok).map((r) => r.name);
  return failing.length === 0 ? { kind: 'ready' } : { kind: 'not_ready', failing };
}

/** Pings every Redis connection the replica works through; any one down (or the relay subscriber disconnected) is `false`. */
export async function allAnswer(pings: ReadonlyArray<() => Promise<boolean> | boolean>): Promise<boolean> {
  const answers = await Promise.all(pings.map(async (ping) => ping()));
  return answers.every(Boolean);
}
