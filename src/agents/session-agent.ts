import type { AgentsClient } from './client.js';
import type { SessionTarget } from './profiles.js';
import { toolDefinition } from './tools/custom-tool.js';
import type { ToolRegistry } from './tools/registry.js';
import type { Logger } from '../ops/logger.js';

type Agent = Awaited<ReturnType<AgentsClient['beta']['agents']['retrieve']>>;
type CreateParams = Parameters<AgentsClient['beta']['sessions']['create']>[0];
type AgentParam = CreateParams['agent'];
type ToolParam = NonNullable<Exclude<AgentParam, string | { type: 'agent' }>['tools']>[number];

/** The bot's custom tools an agent does not declare (by name), in the order asked for. */
export function missingCustomTools(agent: Pick<Agent, 'tools'>, wanted: readonly string[]): string[] {
  const declared = new Set(agent.tools.flatMap((t) => (t.type === 'custom' ? [t.name] : [])));
  return wanted.filter((name) => !declared.has(name));
}

/**
 * An agent's resolved tools as create parameters: session overrides replace the whole
 * tool list, so the agent's own tools are repeated exactly (toolsets with every
 * per-tool setting) and only the missing custom tools are added.
 */
export function toolParamsOf(agent: Pick<Agent, 'tools'>): ToolParam[] {
  return agent.tools.flatMap((t): ToolParam[] => {
    switch (t.type) {
      case 'agent_toolset_20260401':
        return [
          {
            type: t.type,
            default_config: { enabled: t.default_config.enabled, permission_policy: t.default_config.permission_policy },
            configs: t.configs.map((c) => ({ name: c.name, enabled: c.enabled, permission_policy: c.permission_policy })),
          } as ToolParam,
        ];
      case 'mcp_toolset':
        return [
          {
            type: t.type,
            mcp_server_name: t.mcp_server_name,
            default_config: { enabled: t.default_config.enabled, permission_policy: t.default_config.permission_policy },
            configs: t.configs.map((c) => ({ name: c.name, enabled: c.enabled, permission_policy: c.permission_policy })),
          },
        ];
      case 'custom':
        return [{ type: 'custom', name: t.name, description: t.description, input_schema: t.input_schema }];
      default:
        // A tool type this SDK does not know cannot be repeated faithfully: left out, not sent malformed.
        return [];
    }
  });
}

const keyOf = (t: Pick<SessionTarget, 'agentId' | 'agentVersion'>) => `${t.agentId}@${t.agentVersion ?? 'latest'}`;

/**
 * Which `agent` a session is created with. An operator's own agent (AGENT_ID, or a
 * profile's agent edited in the Console) may lack the bot's custom tools; then ask_user
 * and read_thread would never be offered. Such an agent is named once at start, and its
 * sessions get the missing tools through the API's session-level overrides
 * (`agent_with_overrides`), pinned to the version whose tools were repeated.
 */
export class SessionAgents {
  /** Targets whose agent lacked tools at start → the custom tools they should have. */
  private readonly lacking = new Map<string, readonly string[]>();

  constructor(
    private readonly client: AgentsClient,
    private readonly tools: ToolRegistry,
    private readonly log: Logger,
  ) {}

  /** At start: one warning per agent that lacks tools it should have. A failed look-up is logged, not fatal. */
  async check(targets: ReadonlyArray<{ target: SessionTarget; wanted: readonly string[] }>): Promise<void> {
    const checked = new Set<string>();
    for (const { target, wanted } of targets) {
      const key = keyOf(target);
      if (checked.has(key) || wanted.length === 0) continue;
      checked.add(key);
      try {
        const agent = await this.retrieve(target);
        const missing = missingCustomTools(agent, wanted);
        if (missing.length === 0) continue;
        this.lacking.set(key, wanted);
        this.log.warn(
          { agentId: target.agentId, agentVersion: agent.version, ...(target.profile ? { profile: target.profile } : {}), missingTools: missing },
          `agent ${target.agentId} does not declare the bot's custom tools ${missing.join(', ')}; sessions get them as session-level tool overrides`,
        );
      } catch (error) {
        this.log.warn({ err: error, agentId: target.agentId }, 'could not read the agent to check its custom tools');
      }
    }
  }

  async paramFor(target: SessionTarget): Promise<AgentParam> {
    const plain: AgentParam =
      target.agentVersion !== undefined ? { type: 'agent', id: target.agentId, version: target.agentVersion } : target.agentId;
    const wanted = this.lacking.get(keyOf(target));
    if (!wanted) return plain;
    // Read again: the operator may have changed the agent since the start.
    const agent = await this.retrieve(target);
    const missing = missingCustomTools(agent, wanted);
    if (missing.length === 0) return plain;
    const added = this.tools.tools.filter((t) => missing.includes(t.name)).map(toolDefinition);
    return { type: 'agent_with_overrides', id: agent.id, version: agent.version, tools: [...toolParamsOf(agent), ...added] };
  }

  private retrieve(target: SessionTarget): Promise<Agent> {
    return this.client.beta.agents.retrieve(target.agentId, target.agentVersion !== undefined ? { version: target.agentVersion } : {});
  }
}
