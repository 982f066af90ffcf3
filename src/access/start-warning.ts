/**
 * The one warning the bot logs at start when its setup lets too much through. Pure:
 * the caller describes each agent it can run; this says what is wrong in one line.
 */

/** One agent the bot may start sessions with, as the API describes it. */
export type RunnableAgent = {
  /** The profile's name, or `default` without a profiles file. */
  name: string;
  /** The agent's `tools` as the API returns or takes them. */
  tools: readonly unknown[];
  /** The environment's `config.networking.type` (`unrestricted` | `limited`), undefined if unknown. */
  networking: string | undefined;
  /** Whether its sessions are created with a spend cap. */
  capped: boolean;
};

type Toolset = { type?: unknown; default_config?: { enabled?: unknown }; configs?: Array<{ name?: unknown; enabled?: unknown }> };

/** Whether the built-in toolset gives the agent `bash` (the toolset enables every tool unless told otherwise). */
export function hasBash(tools: readonly unknown[]): boolean {
  return tools.some((t) => {
    const set = t as Toolset;
    if (typeof set?.type !== 'string' || !set.type.startsWith('agent_toolset_')) return false;
    const own = set.configs?.find((c) => c.name === 'bash')?.enabled;
    const fallback = set.default_config?.enabled;
    return own !== undefined ? own !== false : fallback !== false;
  });
}

export type StartWarning = { message: string; unrestricted: string[]; uncapped: string[] };

export function startWarning(o: { allowedUsers: readonly string[]; agents: readonly RunnableAgent[] }): StartWarning | undefined {
  const open = o.allowedUsers.length === 0;
  const unrestricted = open ? o.agents.filter((a) => hasBash(a.tools) && a.networking === 'unrestricted').map((a) => a.name) : [];
  const uncapped = o.agents.filter((a) => !a.capped).map((a) => a.name);
  const parts: string[] = [];
  if (unrestricted.length > 0) {
    parts.push(
      `anyone in the workspace but guests can start a session (ALLOWED_USERS is empty) of an agent that runs bash with unrestricted network access (${unrestricted.join(', ')}), so they can run any command on the internet with this bot's sandbox`,
    );
  }
  if (uncapped.length > 0) parts.push(`sessions have no spend cap (SESSION_BUDGET_USD unset or budget_usd: false: ${uncapped.join(', ')})`);
  if (parts.length === 0) return undefined;
  return { message: `Running unrestricted: ${parts.join('; ')}. See the README, Security.`, unrestricted, uncapped };
}
