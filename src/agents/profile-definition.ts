import { createHash } from 'node:crypto';
import type { BUILT_IN_TOOL_NAMES, Profile } from '../config/agents-file.js';
import type { AgentsClient } from './client.js';
import { toolDefinition } from './tools/custom-tool.js';
import type { ToolRegistry } from './tools/registry.js';

type AgentsApi = AgentsClient['beta']['agents'];
type EnvironmentsApi = AgentsClient['beta']['environments'];
export type AgentBody = Omit<Parameters<AgentsApi['create']>[0], 'metadata' | 'betas'>;
export type EnvironmentBody = Omit<Parameters<EnvironmentsApi['create']>[0], 'metadata' | 'betas'>;

/** Metadata marking what this bot created, so provisioning finds its own objects again. */
export const CREATED_BY = 'slack-managed-agents';
export const META = { createdBy: 'created_by', profile: 'slack_profile', hash: 'slack_config_hash' } as const;

/**
 * What a profile asks the API for, and a hash of it. The hash is stored in the object's
 * metadata: comparing it is how provisioning knows "unchanged" without second-guessing
 * how the server resolves defaults (a changed custom tool schema counts as a change too).
 */
export function agentDefinition(profile: Profile, tools: ToolRegistry): { body: AgentBody; hash: string } {
  const a = profile.agent;
  const custom = tools.tools.filter((t) => a.custom_tools.includes(t.name)).map(toolDefinition);
  const builtIn = a.builtin_tools;
  const body: AgentBody = {
    name: a.name,
    // Sent as null on update so removing it from the file clears it.
    description: a.description ?? null,
    model: a.model,
    system: a.system ?? null,
    tools: [
      {
        type: 'agent_toolset_20260401',
        default_config: { enabled: builtIn.enabled, permission_policy: { type: builtIn.permission_policy } },
        configs: Object.entries(builtIn.tools).flatMap(([name, setting]) =>
          setting
            ? [
                {
                  name: name as (typeof BUILT_IN_TOOL_NAMES)[number],
                  ...(setting.enabled !== undefined ? { enabled: setting.enabled } : {}),
                  ...(setting.permission_policy ? { permission_policy: { type: setting.permission_policy } } : {}),
                },
              ]
            : [],
        ),
      },
      ...custom,
    ],
  };
  return { body, hash: hashOf(body) };
}

export function environmentDefinition(env: Profile['environment']): { body: EnvironmentBody; hash: string } {
  const body: EnvironmentBody = {
    name: env.name,
    description: env.description ?? null,
    config: {
      type: 'cloud',
      networking: env.networking,
      // Every manager listed, empty ones too: an update preserves what it omits.
      packages: { type: 'packages', ...env.packages },
    },
  };
  return { body, hash: hashOf(body) };
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted, so the hash does not depend on key order. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
