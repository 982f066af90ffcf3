import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAgentsConfig } from '../../src/config/load-agents-file.js';
import { parseEnv, parseProvisionEnv } from '../../src/config/env.js';

const TOOLS = ['read_thread', 'ask_user'];
const parse = (text: string, tools: readonly string[] = TOOLS) => parseAgentsConfig(text, 'agents.yml', tools);
const linesOf = (text: string, tools?: readonly string[]) => {
  const r = parse(text, tools);
  if (r.kind === 'loaded') throw new Error('expected the file to be rejected');
  return r.lines;
};

describe('the agent profiles file', () => {
  it('accepts the committed example, with defaults filled in', () => {
    const r = parseAgentsConfig(readFileSync('agents.example.yml', 'utf8'), 'agents.example.yml', TOOLS);
    if (r.kind === 'invalid') throw new Error(r.lines.join('\n'));
    expect(r.config.defaultProfile).toBe('general');
    expect(r.config.channels).toEqual({ C0123RESEARCH: 'research' });
    expect(r.config.profiles.general!.approvers).toEqual(['U0123ALICE']);
    const research = r.config.profiles.research!;
    expect(research.agent.name).toBe('research');
    expect(research.agent.builtin_tools).toEqual({
      enabled: true,
      permission_policy: 'auto',
      tools: { bash: { enabled: false }, write: { enabled: false }, edit: { enabled: false } },
    });
    expect(research.environment).toMatchObject({
      name: 'slack-research',
      networking: { type: 'limited', allowed_hosts: ['api.github.com', 'en.wikipedia.org'], allow_package_managers: true, allow_mcp_servers: false },
      packages: { pip: ['pandas', 'matplotlib'], apt: [], npm: [] },
    });
  });

  it('fills in the smallest file: one profile is the default, every custom tool, unrestricted networking', () => {
    const r = parse('profiles:\n  solo:\n    agent:\n      model: claude-sonnet-5-5\n');
    if (r.kind === 'invalid') throw new Error(r.lines.join('\n'));
    expect(r.config.defaultProfile).toBe('solo');
    expect(r.config.profiles.solo).toEqual({
      name: 'solo',
      agent: {
        name: 'solo',
        model: 'claude-sonnet-5-5',
        builtin_tools: { enabled: true, permission_policy: 'always_allow', tools: {} },
        custom_tools: ['read_thread', 'ask_user'],
      },
      environment: { name: 'slack-solo', networking: { type: 'unrestricted' }, packages: { apt: [], cargo: [], gem: [], go: [], npm: [], pip: [] } },
      approvers: [],
      steering: 'everyone_allowed',
    });
  });

  it('reports each shape problem on its own line, with position, path and what is expected, in file order', () => {
    const text = [
      'channels:', //                                  1
      '  general: general', //                         2
      'profiles:', //                                  3
      '  research:', //                                4
      '    agent:', //                                 5
      '      modle: claude-opus-5-5', //               6
      '      builtin_tools:', //                       7
      '        permission_policy: sometimes', //       8
      '        tools:', //                             9
      '          bsh: { enabled: false }', //          10
      '    environment:', //                           11
      '      networking: { type: closed }', //         12
      '    approvers: [bob]', //                       13
      '  coding:', //                                  14
      '    agent:', //                                 15
      '      model: 5', //                             16
      '      custom_tools: read_thread', //            17
    ].join('\n');
    expect(linesOf(text)).toEqual([
      'agents.yml:2:3: channels.general: this key: expected a Slack channel id such as C0123ABCD',
      'agents.yml:5:5: profiles.research.agent.model: expected a string, but it is missing',
      'agents.yml:6:7: profiles.research.agent.modle: unknown key (check the spelling; see agents.example.yml)',
      'agents.yml:8:9: profiles.research.agent.builtin_tools.permission_policy: expected one of always_allow, always_ask, auto, got "sometimes"',
      'agents.yml:10:11: profiles.research.agent.builtin_tools.tools.bsh: unknown key (check the spelling; see agents.example.yml)',
      'agents.yml:12:21: profiles.research.environment.networking.type: expected one of unrestricted, limited, got "closed"',
      'agents.yml:13:17: profiles.research.approvers[0]: expected a Slack user id such as U0123ABCD',
      'agents.yml:16:7: profiles.coding.agent.model: expected a string, got the number 5',
      'agents.yml:17:7: profiles.coding.agent.custom_tools: expected a list, got "read_thread"',
    ]);
  });

  it('reports references to unknown profiles and tools, and a missing default', () => {
    const text = [
      'channels:',
      '  C0123ABCD: nope',
      'profiles:',
      '  a:',
      '    agent: { model: m, custom_tools: [read_thread, not_a_tool] }',
      '  b:',
      '    agent: { model: m }',
    ].join('\n');
    expect(linesOf(text, ['read_thread'])).toEqual([
      'agents.yml:1:1: default_profile: required when there is more than one profile (profiles: a, b)',
      'agents.yml:2:3: channels.C0123ABCD: no profile named "nope" (profiles: a, b)',
      'agents.yml:5:52: profiles.a.agent.custom_tools[1]: no custom tool named "not_a_tool" (the bot implements: read_thread)',
    ]);
    expect(linesOf('default_profile: c\nprofiles:\n  a: { agent: { model: m } }\n')).toEqual([
      'agents.yml:1:1: default_profile: no profile named "c" (profiles: a)',
    ]);
  });

  it('accepts any tool the registry it is given has (another tool added later needs no schema change)', () => {
    expect(parse('profiles:\n  a: { agent: { model: m, custom_tools: [ask_user] } }\n').kind).toBe('loaded');
    expect(parse('profiles:\n  a: { agent: { model: m, custom_tools: [ask_user] } }\n', ['read_thread']).kind).toBe('invalid');
  });

  it('refuses packages under limited networking without package managers, and two different environments of one name', () => {
    const text = [
      'default_profile: a',
      'profiles:',
      '  a:',
      '    agent: { model: m }',
      '    environment:',
      '      name: shared',
      '      packages: { pip: [pandas] }',
      '      networking: { type: limited, allowed_hosts: [example.com] }',
      '  b:',
      '    agent: { model: m }',
      '    environment: { name: shared }',
    ].join('\n');
    expect(linesOf(text)).toEqual([
      'agents.yml:8:7: profiles.a.environment.networking.allow_package_managers: must be true to install packages under limited networking',
      'agents.yml:11:5: profiles.b.environment: environment "shared" is also defined by profile "a", differently; give one of them another name',
    ]);
  });

  it('lets profiles share an environment they define the same way', () => {
    const r = parse(
      'default_profile: a\nprofiles:\n  a: { agent: { model: m }, environment: { name: s } }\n  b: { agent: { model: n }, environment: { name: s } }\n',
    );
    expect(r.kind).toBe('loaded');
  });

  it('reports YAML syntax errors, duplicate keys and an empty file with their line', () => {
    expect(linesOf('profiles: [\n')).toEqual([expect.stringMatching(/^agents\.yml:2:1: YAML syntax error: /)]);
    expect(linesOf('profiles:\n  a:\n    agent: { model: x }\n    agent: { model: y }\n')).toEqual([
      'agents.yml:4:5: YAML syntax error: Map keys must be unique',
    ]);
    expect(linesOf('')).toEqual(['agents.yml: the file is empty; expected at least `profiles:` (see agents.example.yml)']);
    expect(linesOf('profiles: {}\n')).toEqual(['agents.yml:1:1: profiles: expected at least one profile']);
  });
});

describe('access and spend settings per profile', () => {
  it('reads allowed_users, allowed_channels, steering and budget_usd (false: no cap)', () => {
    const r = parse(
      [
        'default_profile: ops',
        'profiles:',
        '  ops:',
        '    agent: { model: claude-sonnet-5-5 }',
        '    allowed_users: [U0123DANA]',
        '    allowed_channels: [C0123OPS]',
        '    steering: owner_only',
        '    budget_usd: 12.5',
        '  lab:',
        '    agent: { model: claude-lab-preview }',
        '    budget_usd: false',
      ].join('\n'),
    );
    if (r.kind === 'invalid') throw new Error(r.lines.join('\n'));
    expect(r.config.profiles.ops).toMatchObject({
      allowed_users: ['U0123DANA'],
      allowed_channels: ['C0123OPS'],
      steering: 'owner_only',
      budget_usd: 12.5,
    });
    expect(r.config.profiles.lab).toMatchObject({ steering: 'everyone_allowed', budget_usd: false });
    expect(r.config.profiles.lab!.allowed_users).toBeUndefined();
  });

  it('reports bad values with line and column', () => {
    const lines = linesOf(
      [
        'profiles:', //                                   1
        '  ops:', //                                      2
        '    agent: { model: claude-sonnet-5-5 }', //     3
        '    allowed_users: [dana]', //                   4
        '    steering: nobody', //                        5
        '    budget_usd: -3', //                          6
      ].join('\n'),
    );
    expect(lines).toEqual([
      'agents.yml:4:21: profiles.ops.allowed_users[0]: expected a Slack user id such as U0123ABCD',
      'agents.yml:5:5: profiles.ops.steering: expected one of everyone_allowed, owner_only, got "nobody"',
      'agents.yml:6:5: profiles.ops.budget_usd: expected an amount above 0',
    ]);
  });
});

describe('AGENTS_CONFIG in the environment', () => {
  const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', ANTHROPIC_API_KEY: 'k' };
  it('is optional and cannot be combined with AGENT_ID or ENVIRONMENT_ID', () => {
    expect(parseEnv({ ...base, AGENTS_CONFIG: 'agents.yml' }).kind).toBe('parsed');
    const r = parseEnv({ ...base, AGENTS_CONFIG: 'agents.yml', AGENT_ID: 'agent_1' });
    expect(r).toEqual({ kind: 'invalid', message: expect.stringContaining('AGENT_ID is invalid: cannot be combined with AGENTS_CONFIG') });
  });
});

describe('the README', () => {
  it('shows a profiles file the bot accepts', () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### Agent profiles'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toBeDefined();
    const r = parseAgentsConfig(yaml!, 'README', ['read_thread']);
    expect(r.kind === 'loaded' ? 'loaded' : r.lines).toBe('loaded');
  });
});

describe('the provision command environment', () => {
  it('needs only the API key and the profiles file', () => {
    expect(parseProvisionEnv({ ANTHROPIC_API_KEY: 'k', AGENTS_CONFIG: 'agents.yml' })).toEqual({
      kind: 'parsed',
      env: { ANTHROPIC_API_KEY: 'k', AGENTS_CONFIG: 'agents.yml', LOG_LEVEL: 'info' },
    });
    expect(parseProvisionEnv({ ANTHROPIC_API_KEY: 'k' })).toEqual({
      kind: 'invalid',
      message: 'Configuration error: AGENTS_CONFIG is missing: expected the path of the agent profiles file',
    });
  });
});
