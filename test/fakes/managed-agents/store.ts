/** Agents and environments: validation, server-side defaults ("resolved" shapes), versioning, listing. */
import { forwardOnly, paginate, readPageQuery } from './pagination.js';
import type { AgentObj, EnvObj, SessionAgentSnapshot } from './types.js';
import {
  badRequest,
  conflict,
  isObject,
  jsonEqual,
  newId,
  notFound,
  now,
  optionalArray,
  parseTime,
  patchMetadata,
  requireString,
  validateMetadata,
  type Json,
} from './util.js';

const AGENT_TOOLSET_TOOLS = ['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch', 'web_search'];
const PERMISSION_POLICIES = ['always_allow', 'always_ask', 'auto'];
const EFFORTS = ['low', 'medium', 'high', 'xhigh', 'max'];

// ---------------------------------------------------------------------------------------------
// Agents

export class AgentStore {
  readonly latest = new Map<string, AgentObj>();
  private readonly history = new Map<string, AgentObj[]>();
  private readonly seqs = new Map<string, number>();
  private nextSeq = 1;

  create(body: Json): AgentObj {
    const ts = now();
    const agent: AgentObj = {
      id: newId('agent'),
      type: 'agent',
      name: requireString(body, 'name'),
      description: null,
      model: resolveModel(body.model),
      system: null,
      tools: [],
      mcp_servers: [],
      skills: [],
      metadata: {},
      multiagent: null,
      execution_identity: { type: 'service_account' },
      version: 1,
      created_at: ts,
      updated_at: ts,
      archived_at: null,
    };
    applyAgentFields(agent, body);
    this.latest.set(agent.id, agent);
    this.history.set(agent.id, [structuredClone(agent)]);
    this.seqs.set(agent.id, this.nextSeq++);
    return agent;
  }

  get(id: string, version?: number): AgentObj {
    const agent = this.latest.get(id);
    if (!agent) throw notFound('Agent', id);
    if (version === undefined) return agent;
    const v = this.history.get(id)?.find((a) => a.version === version);
    if (!v) throw notFound('Agent version', `${id}@${version}`);
    return v;
  }

  /** A new version is minted only when the update actually changes something. */
  update(id: string, body: Json): AgentObj {
    const current = this.get(id);
    if (current.archived_at) throw conflict(`Agent ${id} is archived and read-only`);
    if (body.version !== undefined && body.version !== current.version) {
      throw conflict(`Agent ${id} is at version ${current.version}, update was based on version ${String(body.version)}`);
    }
    const candidate = structuredClone(current);
    applyAgentFields(candidate, body, current);
    if (jsonEqual(candidate, current)) return current;
    candidate.version = current.version + 1;
    candidate.updated_at = now();
    // Keep the Map's object identity stable for tests holding a reference to it.
    Object.assign(current, candidate);
    this.history.get(id)?.push(structuredClone(current));
    return current;
  }

  archive(id: string): AgentObj {
    const agent = this.get(id);
    if (!agent.archived_at) {
      agent.archived_at = now();
      agent.updated_at = agent.archived_at;
    }
    return agent;
  }

  // [Inf] newest first, like the sessions list default.
  list(query: URLSearchParams): { data: AgentObj[]; next_page: string | null } {
    const pq = readPageQuery(query, { limit: 20, order: 'desc' });
    const includeArchived = query.get('include_archived') === 'true';
    const gte = query.get('created_at[gte]');
    const lte = query.get('created_at[lte]');
    const items = [...this.latest.values()]
      .filter((a) => includeArchived || !a.archived_at)
      .filter((a) => gte === null || parseTime(a.created_at) >= parseTime(gte))
      .filter((a) => lte === null || parseTime(a.created_at) <= parseTime(lte));
    return forwardOnly(
      paginate(
        sortBySeq(items, (a) => this.seq(a), pq.order),
        (a) => this.seq(a),
        pq,
      ),
    );
  }

  // [Inf] newest version first.
  listVersions(id: string, query: URLSearchParams): { data: AgentObj[]; next_page: string | null } {
    this.get(id);
    const pq = readPageQuery(query, { limit: 20, order: 'desc' });
    const items = sortBySeq(this.history.get(id) ?? [], (a) => a.version, pq.order);
    return forwardOnly(paginate(items, (a) => a.version, pq));
  }

  private seq(a: AgentObj): number {
    return this.seqs.get(a.id) ?? 0;
  }
}

function applyAgentFields(agent: AgentObj, body: Json, current?: AgentObj): void {
  if ('name' in body) agent.name = requireString(body, 'name');
  if ('model' in body) agent.model = resolveModel(body.model);
  if ('description' in body) agent.description = nullableString(body, 'description');
  if ('system' in body) {
    agent.system = nullableString(body, 'system');
    if (agent.system && agent.system.length > 100_000) throw badRequest('system: at most 100000 characters');
  }
  // Arrays are full replacements; null clears.
  if ('tools' in body) agent.tools = (optionalArray(body, 'tools') ?? []).map(resolveTool);
  if ('mcp_servers' in body) agent.mcp_servers = (optionalArray(body, 'mcp_servers') ?? []).map(resolveMcpServer);
  if ('skills' in body) agent.skills = (optionalArray(body, 'skills') ?? []).map(resolveSkill);
  if ('multiagent' in body) agent.multiagent = body.multiagent ?? null;
  if ('execution_identity' in body) agent.execution_identity = body.execution_identity ?? { type: 'service_account' };
  if ('metadata' in body) {
    validateMetadata(body.metadata, current !== undefined);
    agent.metadata = patchMetadata(current?.metadata ?? {}, body.metadata);
  }
  if (agent.tools.length > 256) throw badRequest('tools: at most 256 entries');
  if (agent.mcp_servers.length > 20) throw badRequest('mcp_servers: at most 20 entries');
  const referenced = new Set(agent.tools.filter((t) => isObject(t) && t.type === 'mcp_toolset').map((t) => (t as Json).mcp_server_name));
  for (const s of agent.mcp_servers as Json[]) {
    if (!referenced.has(s.name)) throw badRequest(`mcp_servers: server '${String(s.name)}' is not referenced by any mcp_toolset`);
  }
}

function nullableString(body: Json, key: string): string | null {
  const v = body[key];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw badRequest(`${key}: expected a string or null`);
  return v;
}

function resolveModel(model: unknown): AgentObj['model'] {
  const params = typeof model === 'string' ? { id: model } : model;
  if (!isObject(params) || typeof params.id !== 'string' || !params.id) {
    throw badRequest('model: expected a model id string or {id, effort?, speed?}');
  }
  const rawEffort = isObject(params.effort) ? params.effort.type : params.effort;
  if (rawEffort != null && !EFFORTS.includes(String(rawEffort))) throw badRequest(`model.effort: invalid ${String(rawEffort)}`);
  const speed = params.speed ?? 'standard';
  if (speed !== 'standard' && speed !== 'fast') throw badRequest(`model.speed: invalid ${String(speed)}`);
  // [Inf] the real API resolves a per-model default effort; 'high' stands in for it.
  const out: AgentObj['model'] = { id: params.id, effort: { type: String(rawEffort ?? 'high') }, speed };
  if (typeof params.inference_geo === 'string') out.inference_geo = params.inference_geo;
  return out;
}

function resolvePolicy(p: unknown, fallback: unknown, where: string): unknown {
  if (p === undefined || p === null) return fallback;
  if (!isObject(p) || !PERMISSION_POLICIES.includes(String(p.type))) throw badRequest(`${where}.permission_policy: invalid`);
  return { type: p.type };
}

function resolveDefaultConfig(dc: unknown, where: string): { enabled: boolean; permission_policy: unknown } {
  const d = isObject(dc) ? dc : {};
  return {
    enabled: typeof d.enabled === 'boolean' ? d.enabled : true,
    permission_policy: resolvePolicy(d.permission_policy, { type: 'always_allow' }, `${where}.default_config`),
  };
}

function resolveTool(tool: unknown, i: number): unknown {
  const where = `tools[${i}]`;
  if (!isObject(tool)) throw badRequest(`${where}: expected an object`);
  const configs = (optionalArray(tool, 'configs', where) ?? []) as unknown[];
  switch (tool.type) {
    case 'agent_toolset_20260401': {
      const dc = resolveDefaultConfig(tool.default_config, where);
      const byName = new Map<string, Json>();
      for (const c of configs) {
        if (!isObject(c) || !AGENT_TOOLSET_TOOLS.includes(String(c.name))) {
          throw badRequest(`${where}.configs: unknown tool ${JSON.stringify(isObject(c) ? c.name : c)}`);
        }
        byName.set(String(c.name), c);
      }
      // Resolved toolsets list every tool with its effective settings.
      return {
        type: tool.type,
        default_config: dc,
        configs: AGENT_TOOLSET_TOOLS.map((name) => {
          const c = byName.get(name);
          return {
            name,
            type: name,
            enabled: typeof c?.enabled === 'boolean' ? c.enabled : dc.enabled,
            permission_policy: resolvePolicy(c?.permission_policy, dc.permission_policy, `${where}.configs.${name}`),
          };
        }),
      };
    }
    case 'mcp_toolset': {
      const dc = resolveDefaultConfig(tool.default_config, where);
      return {
        type: tool.type,
        mcp_server_name: requireString(tool, 'mcp_server_name', where),
        default_config: dc,
        configs: configs.map((c, j) => {
          if (!isObject(c)) throw badRequest(`${where}.configs[${j}]: expected an object`);
          return {
            name: requireString(c, 'name', `${where}.configs[${j}]`),
            enabled: typeof c.enabled === 'boolean' ? c.enabled : dc.enabled,
            permission_policy: resolvePolicy(c.permission_policy, dc.permission_policy, `${where}.configs[${j}]`),
          };
        }),
      };
    }
    case 'custom': {
      const name = requireString(tool, 'name', where);
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(name)) throw badRequest(`${where}.name: must match [A-Za-z0-9_-]{1,128}`);
      if (!isObject(tool.input_schema) || tool.input_schema.type !== 'object') {
        throw badRequest(`${where}.input_schema: expected {type:'object', ...}`);
      }
      return { type: 'custom', name, description: requireString(tool, 'description', where), input_schema: tool.input_schema };
    }
    default:
      throw badRequest(`${where}.type: unknown tool type ${JSON.stringify(tool.type)}`);
  }
}

function resolveMcpServer(s: unknown, i: number): unknown {
  const where = `mcp_servers[${i}]`;
  if (!isObject(s) || s.type !== 'url') throw badRequest(`${where}: expected {type:'url', name, url}`);
  return { type: 'url', name: requireString(s, 'name', where), url: requireString(s, 'url', where) };
}

function resolveSkill(s: unknown, i: number): unknown {
  const where = `skills[${i}]`;
  if (!isObject(s) || (s.type !== 'anthropic' && s.type !== 'custom')) throw badRequest(`${where}: invalid skill`);
  return { type: s.type, skill_id: requireString(s, 'skill_id', where), version: typeof s.version === 'string' ? s.version : 'latest' };
}

/** The agent snapshot a session pins at creation, with `agent_with_overrides` fields applied. */
export function sessionAgentSnapshot(agents: AgentStore, ref: unknown): SessionAgentSnapshot {
  let id: string;
  let version: number | undefined;
  let overrides: Json = {};
  if (typeof ref === 'string') {
    id = ref;
  } else if (isObject(ref) && (ref.type === 'agent' || ref.type === 'agent_with_overrides')) {
    id = requireString(ref, 'id', 'agent');
    if (ref.version !== undefined && ref.version !== null) {
      if (typeof ref.version !== 'number') throw badRequest('agent.version: expected an integer');
      version = ref.version;
    }
    if (ref.type === 'agent_with_overrides') overrides = ref;
  } else {
    throw badRequest("agent: expected an agent id or {type:'agent'|'agent_with_overrides', id, version?}");
  }
  const source = agents.get(id, version);
  if (agents.get(id).archived_at) throw badRequest(`Agent ${id} is archived; new sessions cannot reference it`);
  const a = structuredClone(source);
  // Reuse the agent field resolution so overrides get the same defaults and validation.
  const picked: Json = {};
  for (const k of ['model', 'system', 'tools', 'mcp_servers', 'skills']) if (k in overrides) picked[k] = overrides[k];
  applyAgentFields(a, picked, a);
  return {
    id: a.id,
    type: 'agent',
    name: a.name,
    description: a.description,
    model: a.model,
    system: a.system,
    tools: a.tools,
    mcp_servers: a.mcp_servers,
    skills: a.skills,
    multiagent: a.multiagent,
    execution_identity: a.execution_identity,
    version: a.version,
  };
}

// ---------------------------------------------------------------------------------------------
// Environments

export class EnvironmentStore {
  readonly all = new Map<string, EnvObj>();
  private readonly seqs = new Map<string, number>();
  private nextSeq = 1;

  create(body: Json): EnvObj {
    const name = requireString(body, 'name');
    this.assertNameFree(name);
    validateMetadata(body.metadata, false);
    const ts = now();
    const env: EnvObj = {
      id: newId('env'),
      type: 'environment',
      name,
      description: nullableString(body, 'description'),
      config: resolveEnvConfig(body.config),
      metadata: patchMetadata({}, body.metadata ?? {}),
      created_at: ts,
      updated_at: ts,
      archived_at: null,
    };
    if (body.scope === 'organization' || body.scope === 'account') env.scope = body.scope;
    this.all.set(env.id, env);
    this.seqs.set(env.id, this.nextSeq++);
    return env;
  }

  get(id: string): EnvObj {
    const env = this.all.get(id);
    if (!env) throw notFound('Environment', id);
    return env;
  }

  /** Omitted fields are preserved; the config type can never change. */
  update(id: string, body: Json): EnvObj {
    const env = this.get(id);
    if (env.archived_at) throw badRequest(`Environment ${id} is archived`, 'environment_archived');
    if (typeof body.name === 'string' && body.name !== env.name) this.assertNameFree(body.name);
    validateMetadata(body.metadata, true);
    const next = structuredClone(env);
    if (typeof body.name === 'string') next.name = requireString(body, 'name');
    if ('description' in body) next.description = nullableString(body, 'description');
    if ('metadata' in body) next.metadata = patchMetadata(env.metadata, body.metadata);
    if (body.scope === 'organization' || body.scope === 'account') next.scope = body.scope;
    if (isObject(body.config)) {
      if (body.config.type !== env.config.type) {
        throw badRequest(`config.type cannot change from ${env.config.type}`, 'invalid_config_type_change');
      }
      next.config = resolveEnvConfig({ ...env.config, ...stripNullish(body.config) });
    }
    if (!jsonEqual(next, env)) {
      next.updated_at = now();
      Object.assign(env, next);
    }
    return env;
  }

  archive(id: string): EnvObj {
    const env = this.get(id);
    if (!env.archived_at) {
      env.archived_at = now();
      env.updated_at = env.archived_at;
    }
    return env;
  }

  delete(id: string): { id: string; type: 'environment_deleted' } {
    this.get(id);
    this.all.delete(id);
    return { id, type: 'environment_deleted' };
  }

  // [Inf] newest first.
  list(query: URLSearchParams): { data: EnvObj[]; next_page: string | null } {
    const pq = readPageQuery(query, { limit: 20, order: 'desc' });
    const includeArchived = query.get('include_archived') === 'true';
    const seq = (e: EnvObj): number => this.seqs.get(e.id) ?? 0;
    const items = [...this.all.values()].filter((e) => includeArchived || !e.archived_at);
    return forwardOnly(paginate(sortBySeq(items, seq, pq.order), seq, pq));
  }

  // [Inf] uniqueness is checked across archived environments too.
  private assertNameFree(name: string): void {
    for (const e of this.all.values()) if (e.name === name) throw conflict(`An environment named '${name}' already exists`);
  }
}

function stripNullish(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

function resolveEnvConfig(config: unknown): EnvObj['config'] {
  const c = config === undefined || config === null ? { type: 'cloud' } : config;
  if (!isObject(c)) throw badRequest('config: expected an object');
  if (c.type === 'self_hosted') return { type: 'self_hosted' };
  if (c.type !== 'cloud') throw badRequest(`config.type: expected 'cloud' or 'self_hosted'`);
  const n = isObject(c.networking) ? c.networking : { type: 'unrestricted' };
  let networking: Json;
  if (n.type === 'unrestricted') networking = { type: 'unrestricted' };
  else if (n.type === 'limited') {
    networking = {
      type: 'limited',
      allowed_hosts: Array.isArray(n.allowed_hosts) ? n.allowed_hosts : [],
      allow_package_managers: n.allow_package_managers === true,
      allow_mcp_servers: n.allow_mcp_servers === true,
    };
  } else throw badRequest(`config.networking.type: expected 'unrestricted' or 'limited'`);
  const p = isObject(c.packages) ? c.packages : {};
  const packages: Json = { type: 'packages' };
  let anyPackage = false;
  for (const mgr of ['apt', 'cargo', 'gem', 'go', 'npm', 'pip']) {
    const list = p[mgr] ?? [];
    if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) {
      throw badRequest(`config.packages.${mgr}: expected an array of strings`);
    }
    packages[mgr] = list;
    anyPackage ||= list.length > 0;
  }
  if (networking.type === 'limited' && anyPackage && !networking.allow_package_managers) {
    throw badRequest('config.packages requires networking.allow_package_managers: true under limited networking');
  }
  return { type: 'cloud', networking, packages };
}

export function sortBySeq<T>(items: T[], seq: (t: T) => number, order: 'asc' | 'desc'): T[] {
  return [...items].sort((a, b) => (order === 'asc' ? seq(a) - seq(b) : seq(b) - seq(a)));
}
