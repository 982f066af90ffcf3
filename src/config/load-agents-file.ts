import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { AgentsFileSchema, type AgentsConfig, type AgentsFile, type Profile } from './agents-file.js';

export type AgentsConfigResult = { kind: 'loaded'; config: AgentsConfig } | { kind: 'invalid'; lines: string[] };

/** A broken profiles file: one line per problem, `file:line:col: path: what is expected`. */
export class AgentsConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'AgentsConfigError';
  }
}

type Problem = { path: ReadonlyArray<PropertyKey>; message: string };

/** Reads and checks the file; `toolNames` are the custom tools the bot implements. */
export async function loadAgentsConfig(file: string, toolNames: readonly string[]): Promise<AgentsConfigResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : error instanceof Error ? error.message : String(error);
    return { kind: 'invalid', lines: [`${file}: cannot read the agent profiles file (AGENTS_CONFIG): ${why}`] };
  }
  return parseAgentsConfig(text, file, toolNames);
}

/** Pure: text in, a checked config or every problem found out. */
export function parseAgentsConfig(text: string, file: string, toolNames: readonly string[]): AgentsConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      kind: 'invalid',
      lines: doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return `${file}:${line}:${col}: YAML syntax error: ${e.message.split('\n')[0]}`;
      }),
    };
  }
  // Problems in file order, so the lines read top to bottom like the file.
  const report = (problems: Problem[]): string[] =>
    problems
      .map((p) => ({ p, at: position(doc, lineCounter, p.path) }))
      .sort((a, b) => (a.at?.line ?? 0) - (b.at?.line ?? 0) || (a.at?.col ?? 0) - (b.at?.col ?? 0))
      .map(({ p, at }) => `${file}${at ? `:${at.line}:${at.col}` : ''}: ${p.path.length > 0 ? `${formatPath(p.path)}: ` : ''}${p.message}`);

  const raw: unknown = doc.toJS() ?? undefined;
  if (raw === undefined) return { kind: 'invalid', lines: [`${file}: the file is empty; expected at least \`profiles:\` (see agents.example.yml)`] };
  const parsed = AgentsFileSchema.safeParse(raw);
  if (!parsed.success) return { kind: 'invalid', lines: report(parsed.error.issues.flatMap((issue) => describeIssue(issue, raw))) };

  // References are checked once the shape is right, so their messages can trust it.
  const problems = crossCheck(parsed.data, toolNames);
  if (problems.length > 0) return { kind: 'invalid', lines: report(problems) };
  return { kind: 'loaded', config: resolve(parsed.data, file, toolNames) };
}

/** References between parts of the file, and to the bot's tools. */
function crossCheck(f: AgentsFile, toolNames: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  const names = Object.keys(f.profiles);
  const known = `profiles: ${names.join(', ')}`;
  if (f.default_profile === undefined && names.length > 1) {
    problems.push({ path: ['default_profile'], message: `required when there is more than one profile (${known})` });
  } else if (f.default_profile !== undefined && !names.includes(f.default_profile)) {
    problems.push({ path: ['default_profile'], message: `no profile named "${f.default_profile}" (${known})` });
  }
  for (const [channel, profile] of Object.entries(f.channels)) {
    if (!names.includes(profile)) problems.push({ path: ['channels', channel], message: `no profile named "${profile}" (${known})` });
  }
  const environments = new Map<string, { profile: string; spec: string }>();
  for (const [name, p] of Object.entries(f.profiles)) {
    const seen = new Set<string>();
    (p.agent.custom_tools ?? []).forEach((tool, i) => {
      const path = ['profiles', name, 'agent', 'custom_tools', i];
      if (!toolNames.includes(tool)) {
        problems.push({ path, message: `no custom tool named "${tool}" (the bot implements: ${toolNames.join(', ') || 'none'})` });
      } else if (seen.has(tool)) problems.push({ path, message: `"${tool}" is listed twice` });
      seen.add(tool);
    });
    const net = p.environment.networking;
    const anyPackage = Object.values(p.environment.packages).some((list) => list.length > 0);
    if (net.type === 'limited' && anyPackage && !net.allow_package_managers) {
      problems.push({
        path: ['profiles', name, 'environment', 'networking', 'allow_package_managers'],
        message: 'must be true to install packages under limited networking',
      });
    }
    // Profiles may share an environment, but only if they agree on what it is.
    const envName = p.environment.name ?? defaultEnvironmentName(name);
    const { name: _n, ...rest } = p.environment;
    const spec = JSON.stringify(rest);
    const other = environments.get(envName);
    if (other && other.spec !== spec) {
      problems.push({
        path: ['profiles', name, 'environment'],
        message: `environment "${envName}" is also defined by profile "${other.profile}", differently; give one of them another name`,
      });
    } else if (!other) environments.set(envName, { profile: name, spec });
  }
  return problems;
}

const defaultEnvironmentName = (profile: string): string => `slack-${profile}`;

function resolve(f: AgentsFile, file: string, toolNames: readonly string[]): AgentsConfig {
  const profiles: Record<string, Profile> = {};
  for (const [name, p] of Object.entries(f.profiles)) {
    profiles[name] = {
      name,
      agent: { ...p.agent, name: p.agent.name ?? name, custom_tools: p.agent.custom_tools ?? [...toolNames] },
      environment: { ...p.environment, name: p.environment.name ?? defaultEnvironmentName(name) },
      approvers: p.approvers,
      ...(p.allowed_users ? { allowed_users: p.allowed_users } : {}),
      ...(p.allowed_channels ? { allowed_channels: p.allowed_channels } : {}),
      steering: p.steering,
      ...(p.budget_usd !== undefined ? { budget_usd: p.budget_usd } : {}),
      ...(p.suggested_prompts ? { suggested_prompts: p.suggested_prompts } : {}),
    };
  }
  const defaultProfile = f.default_profile ?? Object.keys(f.profiles)[0]!;
  return { file, defaultProfile, channels: f.channels, profiles };
}

/** zod's issues in the words of someone editing YAML; one line per unknown key. */
function describeIssue(issue: z.core.$ZodIssue, raw: unknown): Problem[] {
  const path = issue.path;
  switch (issue.code) {
    case 'invalid_type': {
      const given = valueAt(raw, path);
      const expected = `expected ${EXPECTED[issue.expected] ?? issue.expected}`;
      return [{ path, message: given === undefined ? `${expected}, but it is missing` : `${expected}, got ${describeValue(given)}` }];
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown key (check the spelling; see agents.example.yml)' }));
    case 'invalid_value':
      return [{ path, message: `expected one of ${issue.values.map((v) => String(v)).join(', ')}, got ${describeValue(valueAt(raw, path))}` }];
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      return [
        { path, message: options ? `expected one of ${options.map(String).join(', ')}, got ${describeValue(valueAt(raw, path))}` : issue.message },
      ];
    }
    case 'invalid_key':
      return [{ path, message: `this key: ${issue.issues.map((i) => i.message).join('; ')}` }];
    default:
      return [{ path, message: issue.message }];
  }
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value lines)',
  record: 'a mapping (key: value lines)',
};

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 39)}…` : v}"`;
  return `${typeof v === 'number' ? 'the number' : typeof v} ${String(v)}`;
}

function valueAt(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = raw;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc === '' ? String(seg) : `${acc}.${String(seg)}`), '');
}

/**
 * `:line:col` of the deepest part of `path` present in the file: the key's own line when
 * it is there, else its nearest parent (a missing key is reported where it belongs).
 */
function position(doc: Document, lines: LineCounter, path: ReadonlyArray<PropertyKey>): { line: number; col: number } | undefined {
  let node: Node | null | undefined = doc.contents;
  let mark: Node | null | undefined = doc.contents;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      mark = (pair.key as Node) ?? mark;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      node = node.items[seg] as Node;
      mark = node;
    } else break;
  }
  const offset = mark?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset);
}
