import type { AgentsClient } from '../agents/client.js';
import type { AgentProfiles } from '../agents/profiles.js';
import type { Env } from '../config/env.js';
import type { Logger } from '../ops/logger.js';
import { capForSession } from './spend-cap.js';
import { startWarning, type RunnableAgent } from './start-warning.js';

/**
 * Describes every agent the bot can start (a profiles file says it; otherwise the fixed
 * agent and environment are read from the API once) and logs the start warning, if any.
 * A read that fails is logged and left out: it must not stop the bot from starting.
 */
export async function logStartWarning(o: { client: AgentsClient; profiles: AgentProfiles; env: Env; log: Logger }): Promise<void> {
  const { client, profiles, env, log } = o;
  const capped = (profile: string | undefined) =>
    capForSession({ profileUsd: profiles.budgetUsdFor(profile), defaultUsd: env.SESSION_BUDGET_USD, maxUsd: env.SESSION_BUDGET_MAX_USD }) !==
    undefined;
  const agents: RunnableAgent[] = [];
  for (const p of profiles.definitions) {
    const b = p.agent.builtin_tools;
    agents.push({
      name: p.name,
      tools: [
        {
          type: 'agent_toolset_20260401',
          default_config: { enabled: b.enabled },
          configs: Object.entries(b.tools).flatMap(([name, t]) => (t?.enabled !== undefined ? [{ name, enabled: t.enabled }] : [])),
        },
      ],
      networking: p.environment.networking.type,
      capped: capped(p.name),
    });
  }
  const fixed = profiles.fixed;
  if (fixed) {
    try {
      const [agent, environment] = await Promise.all([
        client.beta.agents.retrieve(fixed.agentId),
        client.beta.environments.retrieve(fixed.environmentId),
      ]);
      const networking = (environment.config as { networking?: { type?: string } }).networking?.type;
      agents.push({ name: 'default', tools: agent.tools, networking, capped: capped(undefined) });
    } catch (error) {
      log.warn({ err: error }, 'could not read the agent and environment to check how open the bot is');
    }
  }
  const warning = startWarning({ allowedUsers: env.ALLOWED_USERS, agents });
  if (warning) log.warn({ unrestricted: warning.unrestricted, uncapped: warning.uncapped }, warning.message);
}
