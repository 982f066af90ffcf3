import type { AgentsConfig } from '../config/agents-file.js';
import type { Logger } from '../ops/logger.js';
import type { AgentsClient } from './client.js';
import { agentDefinition, CREATED_BY, environmentDefinition, META } from './profile-definition.js';
import type { ToolRegistry } from './tools/registry.js';

/** What a session of a profile is created with: the agent version is pinned. */
export type ProvisionedProfile = { agentId: string; agentVersion: number; environmentId: string };

export type ProvisionChange = {
  kind: 'agent' | 'environment';
  /** Profile name for agents, environment name for environments. */
  name: string;
  id: string;
  action: 'created' | 'updated' | 'unchanged';
  /** Agents only: the version sessions will use. */
  version?: number;
};

export type ProvisionResult = { profiles: Map<string, ProvisionedProfile>; changes: ProvisionChange[] };

/** Something provisioning must not decide alone (e.g. a name taken by an environment it did not create). */
export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

type Agent = Awaited<ReturnType<AgentsClient['beta']['agents']['create']>>;
type Environment = Awaited<ReturnType<AgentsClient['beta']['environments']['create']>>;

/**
 * Makes the organisation's agents and environments match the file, idempotently: an
 * object is created when missing, updated only when its definition hash differs, and
 * left alone otherwise (so a second run makes no create or update call). Agents are
 * found by their metadata (the API cannot filter on it, so the list is read whole);
 * environments by name, which is unique per organisation.
 */
export async function provisionProfiles(
  deps: { client: AgentsClient; tools: ToolRegistry; log: Logger },
  config: AgentsConfig,
): Promise<ProvisionResult> {
  const { client, log } = deps;
  const changes: ProvisionChange[] = [];

  const environmentsByName = new Map<string, Environment>();
  // Archived ones too: their names stay taken, and creating one would only fail with a 409.
  for await (const env of client.beta.environments.list({ include_archived: true })) environmentsByName.set(env.name, env);
  const ourAgents = new Map<string, Agent[]>();
  for await (const agent of client.beta.agents.list()) {
    const profile = agent.metadata[META.profile];
    if (agent.metadata[META.createdBy] !== CREATED_BY || !profile) continue;
    ourAgents.set(profile, [...(ourAgents.get(profile) ?? []), agent]);
  }

  // Profiles may share an environment: each name is provisioned once.
  const environmentIds = new Map<string, string>();
  for (const profile of Object.values(config.profiles)) {
    const name = profile.environment.name;
    if (environmentIds.has(name)) continue;
    const { body, hash } = environmentDefinition(profile.environment);
    const existing = environmentsByName.get(name);
    let change: ProvisionChange;
    if (!existing) {
      const created = await client.beta.environments.create({ ...body, metadata: { [META.createdBy]: CREATED_BY, [META.hash]: hash } });
      change = { kind: 'environment', name, id: created.id, action: 'created' };
    } else if (existing.metadata[META.createdBy] !== CREATED_BY) {
      throw new ProvisionError(
        `environment "${name}" (${existing.id}) exists but was not created by this bot; give profile "${profile.name}" another environment name`,
      );
    } else if (existing.archived_at) {
      throw new ProvisionError(
        `environment "${name}" (${existing.id}) is archived and its name cannot be reused; give profile "${profile.name}" another environment name`,
      );
    } else if (existing.metadata[META.hash] === hash) {
      change = { kind: 'environment', name, id: existing.id, action: 'unchanged' };
    } else {
      await client.beta.environments.update(existing.id, { ...body, metadata: { [META.hash]: hash } });
      change = { kind: 'environment', name, id: existing.id, action: 'updated' };
    }
    log.info({ environment: name, environmentId: change.id, action: change.action }, 'environment provisioned');
    environmentIds.set(name, change.id);
    changes.push(change);
  }

  const profiles = new Map<string, ProvisionedProfile>();
  for (const profile of Object.values(config.profiles)) {
    const { body, hash } = agentDefinition(profile, deps.tools);
    const candidates = ourAgents.get(profile.name) ?? [];
    if (candidates.length > 1) {
      log.warn({ profile: profile.name, agentIds: candidates.map((a) => a.id) }, 'several agents claim this profile; using the most recent');
    }
    const existing = candidates[0];
    let agent: Agent;
    let action: ProvisionChange['action'];
    if (!existing) {
      agent = await client.beta.agents.create({
        ...body,
        metadata: { [META.createdBy]: CREATED_BY, [META.profile]: profile.name, [META.hash]: hash },
      });
      action = 'created';
    } else if (existing.metadata[META.hash] === hash) {
      agent = existing;
      action = 'unchanged';
    } else {
      // `version` makes a concurrent edit fail (409) instead of being overwritten.
      agent = await client.beta.agents.update(existing.id, { ...body, version: existing.version, metadata: { [META.hash]: hash } });
      action = 'updated';
    }
    log.info({ profile: profile.name, agentId: agent.id, agentVersion: agent.version, action }, 'agent provisioned');
    changes.push({ kind: 'agent', name: profile.name, id: agent.id, action, version: agent.version });
    profiles.set(profile.name, { agentId: agent.id, agentVersion: agent.version, environmentId: environmentIds.get(profile.environment.name)! });
  }
  return { profiles, changes };
}

/** One line per object, as `npm run provision` prints it. */
export function describeChange(c: ProvisionChange): string {
  const what = c.kind === 'agent' ? `agent for profile ${c.name} (${c.id})` : `environment ${c.name} (${c.id})`;
  switch (c.action) {
    case 'created':
      return `${what}: created${c.version !== undefined ? `, version ${c.version}` : ''}`;
    case 'updated':
      return `${what}: updated${c.version !== undefined ? ` to version ${c.version}` : ''}`;
    case 'unchanged':
      return `${what}: unchanged${c.version !== undefined ? ` (version ${c.version})` : ''}`;
  }
}
