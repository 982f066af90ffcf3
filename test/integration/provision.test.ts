import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgentsClient, type AgentsClient } from '../../src/agents/client.js';
import { describeChange, provisionProfiles, ProvisionError } from '../../src/agents/provision.js';
import { ToolRegistry } from '../../src/agents/tools/registry.js';
import { loadAgentsConfig } from '../../src/config/load-agents-file.js';
import { startFakeManagedAgents, type FakeManagedAgents } from '../fakes/managed-agents/index.js';
import { memoryLogger } from '../support/log-sink.js';

const FILE = (model: string) => `
default_profile: general
channels:
  CRESEARCH: research
profiles:
  general:
    agent:
      model: claude-sonnet-5-5
      system: You help the team.
      builtin_tools:
        tools:
          bash: { permission_policy: always_ask }
      custom_tools: [read_thread]
    approvers: [UAPPROVER]
  research:
    agent:
      model: ${model}
      builtin_tools:
        permission_policy: auto
        tools:
          bash: { enabled: false }
      custom_tools: []
    environment:
      name: research-env
      packages: { pip: [pandas] }
      networking: { type: limited, allowed_hosts: [example.com], allow_package_managers: true }
`;

let fake: FakeManagedAgents;
let client: AgentsClient;
let dir: string;
const tools = new ToolRegistry();
const log = memoryLogger('debug').log;

beforeEach(async () => {
  fake = await startFakeManagedAgents();
  client = createAgentsClient({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
  dir = mkdtempSync(join(tmpdir(), 'provision-test-'));
});
afterEach(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

async function provision(text: string) {
  const path = join(dir, 'agents.yml');
  writeFileSync(path, text);
  const config = await loadAgentsConfig(
    path,
    tools.tools.map((t) => t.name),
  );
  if (config.kind === 'invalid') throw new Error(config.lines.join('\n'));
  return provisionProfiles({ client, tools, log }, config.config);
}

/** Requests that create or change an agent or environment (reads and sessions excluded). */
const writes = (from = 0) =>
  fake.requests
    .slice(from)
    .filter((r) => r.method !== 'GET' && /^\/v1\/(agents|environments)(\/|$)/.test(r.path))
    .map((r) => `${r.method} ${r.path}`);

describe('provisioning the profiles file', () => {
  it('creates one agent per profile and one environment per name, as the file describes them', async () => {
    const result = await provision(FILE('claude-opus-5-5'));
    expect(result.changes.map(describeChange)).toEqual([
      expect.stringMatching(/^environment slack-general \(env_\w+\): created$/),
      expect.stringMatching(/^environment research-env \(env_\w+\): created$/),
      expect.stringMatching(/^agent for profile general \(agent_\w+\): created, version 1$/),
      expect.stringMatching(/^agent for profile research \(agent_\w+\): created, version 1$/),
    ]);
    const research = result.profiles.get('research')!;
    const agent = fake.agents.get(research.agentId)!;
    expect(agent).toMatchObject({ name: 'research', model: { id: 'claude-opus-5-5' }, version: 1 });
    expect(agent.metadata).toMatchObject({ created_by: 'slack-managed-agents', slack_profile: 'research' });
    const toolset = agent.tools[0] as { default_config: unknown; configs: Array<{ name: string; enabled: boolean; permission_policy: unknown }> };
    expect(toolset.default_config).toEqual({ enabled: true, permission_policy: { type: 'auto' } });
    expect(toolset.configs.find((c) => c.name === 'bash')).toMatchObject({ enabled: false });
    expect(agent.tools).toHaveLength(1); // custom_tools: [] means none

    const general = fake.agents.get(result.profiles.get('general')!.agentId)!;
    expect(general.tools.map((t) => (t as { type: string; name?: string }).name ?? (t as { type: string }).type)).toEqual([
      'agent_toolset_20260401',
      'read_thread',
    ]);

    const env = fake.environments.get(research.environmentId)!;
    expect(env).toMatchObject({
      name: 'research-env',
      config: { networking: { type: 'limited', allowed_hosts: ['example.com'], allow_package_managers: true }, packages: { pip: ['pandas'] } },
    });
  });

  it('changes nothing on a second run, and says so', async () => {
    const first = await provision(FILE('claude-opus-5-5'));
    const mark = fake.requests.length;
    const second = await provision(FILE('claude-opus-5-5'));
    expect(writes(mark)).toEqual([]);
    expect(second.changes.map((c) => c.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(second.changes.map(describeChange)[2]).toMatch(/^agent for profile general \(agent_\w+\): unchanged \(version 1\)$/);
    expect(second.profiles).toEqual(first.profiles);
  });

  it('makes exactly one new agent version when a model changes, and touches nothing else', async () => {
    const first = await provision(FILE('claude-opus-5-5'));
    const mark = fake.requests.length;
    const second = await provision(FILE('claude-opus-5-6'));
    const research = first.profiles.get('research')!;
    expect(writes(mark)).toEqual([`POST /v1/agents/${research.agentId}`]);
    expect(second.profiles.get('research')).toEqual({ ...research, agentVersion: 2 });
    expect(second.changes.find((c) => c.name === 'research')).toMatchObject({ action: 'updated', version: 2 });
    expect(fake.agents.get(research.agentId)!.model.id).toBe('claude-opus-5-6');
    const versions = [];
    for await (const v of client.beta.agents.versions.list(research.agentId)) versions.push(v.version);
    expect(versions.sort()).toEqual([1, 2]);

    const mark2 = fake.requests.length;
    await provision(FILE('claude-opus-5-6'));
    expect(writes(mark2)).toEqual([]);
  });

  it('updates an environment whose config changed, in place', async () => {
    const first = await provision(FILE('m'));
    const mark = fake.requests.length;
    await provision(FILE('m').replace('pip: [pandas]', 'pip: [pandas, numpy]'));
    const envId = first.profiles.get('research')!.environmentId;
    expect(writes(mark)).toEqual([`POST /v1/environments/${envId}`]);
    expect(fake.environments.get(envId)!.config).toMatchObject({ packages: { pip: ['pandas', 'numpy'] } });
  });

  it('refuses to adopt an environment of the same name that it did not create', async () => {
    await client.beta.environments.create({ name: 'research-env', config: { type: 'cloud' } });
    await expect(provision(FILE('m'))).rejects.toThrow(ProvisionError);
    await expect(provision(FILE('m'))).rejects.toThrow(/environment "research-env" \(env_\w+\) exists but was not created by this bot/);
  });

  it('says so when an environment it made was archived, instead of failing on the taken name', async () => {
    const first = await provision(FILE('m'));
    await client.beta.environments.archive(first.profiles.get('research')!.environmentId);
    await expect(provision(FILE('m'))).rejects.toThrow(/environment "research-env" \(env_\w+\) is archived and its name cannot be reused/);
  });
});
