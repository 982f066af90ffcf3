import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The image's rules, read from the Dockerfile and .dockerignore, so that they cannot drift
 * back: a supported base named once and matching the Node.js release CI tests on, a numeric
 * non-root user, a /data that any uid in group 0 can write, no compiler leftovers, OCI labels,
 * and a build context without secrets or local state. CI has no Docker daemon to build the
 * image with; scripts/build-image-locally.sh builds and runs it where one is.
 */
const root = process.cwd();
const read = (file: string) => readFileSync(join(root, file), 'utf8');

type Instruction = { keyword: string; args: string; stage: number };

/** Logical instructions (continuation lines joined, comments dropped), each with its stage index. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let stage = -1;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    const continued = line.endsWith('\\');
    pending += (pending ? ' ' : '') + (continued ? line.slice(0, -1).trim() : line);
    if (continued) continue;
    const match = /^(\S+)\s*(.*)$/.exec(pending);
    pending = '';
    if (!match) continue;
    const keyword = match[1]!.toUpperCase();
    if (keyword === 'FROM') stage += 1;
    out.push({ keyword, args: match[2]!, stage });
  }
  return out;
}

const dockerfileText = read('Dockerfile');
const instructions = parseDockerfile(dockerfileText);
const lastStage = Math.max(...instructions.map((i) => i.stage));
const inStage = (stage: number, keyword: string) => instructions.filter((i) => i.stage === stage && i.keyword === keyword);
const froms = instructions.filter((i) => i.keyword === 'FROM');
const globalArgs = instructions.filter((i) => i.stage === -1 && i.keyword === 'ARG');
const baseArg = /^(\w+)=(\S+)$/.exec(globalArgs[0]?.args ?? '');
const baseReference = baseArg?.[2] ?? '';
const packageJson = JSON.parse(read('package.json')) as { version: string; license: string; engines: { node: string } };
const nodeVersion = read('.node-version').trim();

describe('Dockerfile', () => {
  it('has no syntax directive (BuildKit would fetch that frontend, unpinned, on every build)', () => {
    expect(dockerfileText).not.toMatch(/^\s*#\s*syntax\s*=/im);
  });

  it('names its base once: one ARG before the first FROM, and every stage is FROM that ARG', () => {
    expect(globalArgs).toHaveLength(1);
    expect(baseArg).not.toBeNull();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from.args).toMatch(new RegExp(`^\\$\\{${baseArg![1]}\\}( AS \\w+)?$`, 'i'));
  });

  it('bases the image on the exact Node.js release that CI tests on, an LTS line, the one engines allows', () => {
    const tag = /^node:(\d+)\.(\d+)\.(\d+)-(trixie|bookworm)-slim(@sha256:[0-9a-f]{64})?$/.exec(baseReference);
    expect(tag, baseReference).not.toBeNull();
    const [, major, minor, patch] = tag!;
    expect(`${major}.${minor}.${patch}`).toBe(nodeVersion);
    expect(Number(major) % 2).toBe(0); // even majors are the ones that become LTS
    expect(packageJson.engines.node).toBe(`>=${major} <${Number(major) + 1}`);
    expect(read('.ci/run')).toContain('.node-version');
  });

  // Known gap: the digest could not be looked up when this base was chosen (no registry
  // reachable). Pin it as the Dockerfile's comment says, then turn this into a plain `it`.
  it.fails('pins the base by digest, so a re-pushed tag cannot change what is built', () => {
    expect(baseReference).toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  it('runs as a numeric, non-root uid in group 0 (Kubernetes can check runAsNonRoot; OpenShift-style arbitrary uids share the group)', () => {
    const users = instructions.filter((i) => i.keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    for (const user of users) expect(user.args).toMatch(/^\d+:0$/);
    const finalUser = inStage(lastStage, 'USER').at(-1);
    expect(finalUser).toBeDefined();
    expect(finalUser!.args).not.toMatch(/^0:/);
  });

  it('gives /data to that uid and group 0, group-writable, and keeps the SQLite store there', () => {
    const uid = inStage(lastStage, 'USER').at(-1)!.args.split(':')[0]!;
    const runs = inStage(lastStage, 'RUN')
      .map((i) => i.args)
      .join(' && ');
    expect(runs).toMatch(new RegExp(`chown ${uid}:0 /data(\\s|$)`));
    const mode = /chmod (\S+) \/data(\s|$)/.exec(runs)?.[1] ?? '';
    const groupWritable = /^[0-7]?[0-7][2367][0-7]$/.test(mode) || /g[+=][a-z]*w/.test(mode);
    expect(groupWritable, `chmod ${mode} /data`).toBe(true);
    expect(
      inStage(lastStage, 'VOLUME')
        .map((i) => i.args)
        .join(' '),
    ).toContain('/data');
    expect(
      inStage(lastStage, 'ENV')
        .map((i) => i.args)
        .join(' '),
    ).toContain('STORE_URL=sqlite:///data/');
  });

  it("leaves sqlite3's compiler output and sources in the build stage: the final image gets only the addon and JavaScript", () => {
    const build = froms.findIndex((i) => /\bAS build$/i.test(i.args));
    expect(build).toBeGreaterThanOrEqual(0);
    const prune = inStage(build, 'RUN')
      .map((i) => i.args)
      .find((args) => args.includes('npm prune --omit=dev'));
    expect(prune).toBeDefined();
    const steps = prune!.split('&&').map((s) => s.trim());
    const at = (pattern: RegExp) => steps.findIndex((s) => pattern.test(s));
    const pruneBuildTree = at(
      /^find node_modules\/sqlite3\/build -type f ! -path node_modules\/sqlite3\/build\/Release\/node_sqlite3\.node -delete$/,
    );
    const dropSources = at(/^rm -rf node_modules\/sqlite3\/deps node_modules\/sqlite3\/src$/);
    const loads = at(/require\('sqlite3'\)/);
    expect(pruneBuildTree).toBeGreaterThan(at(/^npm prune --omit=dev/));
    expect(dropSources).toBeGreaterThan(0);
    expect(loads).toBeGreaterThan(Math.max(pruneBuildTree, dropSources));
    const copies = inStage(lastStage, 'COPY').map((i) => i.args);
    expect(copies.filter((args) => args.includes('node_modules'))).toEqual(['--from=build /app/node_modules ./node_modules']);
  });

  it('carries OCI labels: source, version (package.json’s), licence (package.json’s), revision, base', () => {
    const labels = inStage(lastStage, 'LABEL')
      .map((i) => i.args)
      .join(' ');
    const label = (key: string) => new RegExp(`org\\.opencontainers\\.image\\.${key}="([^"]*)"`).exec(labels)?.[1];
    expect(label('source')).toBeDefined();
    expect(label('revision')).toBeDefined();
    expect(label('base.name')).toBe(`\${${baseArg![1]}}`);
    expect(label('licenses')).toBe(packageJson.license);
    expect(label('version')).toBe(`\${VERSION}`);
    expect(inStage(lastStage, 'ARG').map((i) => i.args)).toContain(`VERSION=${packageJson.version}`);
  });

  it('keeps the HEALTHCHECK and runs node itself as PID 1 (exec form), so SIGTERM reaches the bot', () => {
    expect(inStage(lastStage, 'HEALTHCHECK').at(-1)?.args).toMatch(/ CMD .*\/healthz/);
    const cmd = JSON.parse(inStage(lastStage, 'CMD').at(-1)?.args ?? 'null') as unknown;
    expect(Array.isArray(cmd) && cmd[0] === 'node').toBe(true);
  });

  it('keeps apt lean (no recommends, lists removed) and fetches nothing with ADD', () => {
    const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    for (const run of runs.filter((r) => r.includes('apt-get install'))) {
      expect(run).toContain('--no-install-recommends');
      expect(run).toContain('rm -rf /var/lib/apt/lists/*');
    }
    expect(instructions.filter((i) => i.keyword === 'ADD')).toEqual([]);
  });
});

/**
 * .dockerignore as Docker reads it: patterns relative to the context root, Go's path.Match
 * syntax (`*` and `?` stay within one folder and match dotfiles too) plus `**` for any number
 * of folders; the last pattern that matches a path or any folder above it decides, and `!`
 * lets a path back in.
 */
function dockerPattern(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i]!;
    if (pattern.startsWith('**/', i)) {
      source += '(?:.*/)?';
      i += 2;
    } else if (pattern.startsWith('**', i)) {
      source += '.*';
      i += 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function ignoredByDocker(rules: string[], file: string): boolean {
  let ignored = false;
  const parents = file.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  for (const rule of rules) {
    const negated = rule.startsWith('!');
    const pattern = dockerPattern(posix.normalize(negated ? rule.slice(1) : rule).replace(/^\/+|\/+$/g, ''));
    if (parents.some((path) => pattern.test(path))) ignored = !negated;
  }
  return ignored;
}

describe('.dockerignore', () => {
  const rules = read('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const listFiles = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? listFiles(`${dir}/${entry.name}`) : [`${dir}/${entry.name}`],
    );

  it('lets in every file the Dockerfile copies from the context', () => {
    const sources = instructions.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    const files = sources.flatMap((source) => (source === 'src' ? listFiles('src') : [source]));
    expect(files.filter((file) => ignoredByDocker(rules, file))).toEqual([]);
  });

  it('keeps secrets, local stores, dependencies, build output and git history out of the context', () => {
    const mustStayOut = [
      '.env',
      '.env.local',
      'src/.env',
      'data/bot.sqlite',
      'bot.sqlite',
      'src/agents/dev.sqlite',
      'bot.sqlite-journal',
      'node_modules/zod/package.json',
      'src/node_modules/x.js',
      'dist/src/main.js',
      'coverage/index.html',
      '.bench/bench/run.js',
      '.git/HEAD',
      'test/unit/env.test.ts',
      'npm-debug.log',
      'agents.yml',
    ];
    expect(mustStayOut.filter((file) => !ignoredByDocker(rules, file))).toEqual([]);
  });

  it('reads patterns the way Docker does (checked on this matcher, so the two tests above mean what they say)', () => {
    expect(ignoredByDocker(['*', '!src/'], 'src/main.ts')).toBe(false);
    expect(ignoredByDocker(['*', '!src/', '**/.env'], 'src/.env')).toBe(true);
    expect(ignoredByDocker(['data'], 'data/bot.sqlite')).toBe(true);
    expect(ignoredByDocker(['*.sqlite'], 'data/bot.sqlite')).toBe(false); // `*` stays in one folder
    expect(ignoredByDocker(['*'], '.git/HEAD')).toBe(true); // and matches dotfiles
    expect(ignoredByDocker(['**/*.log'], 'npm-debug.log')).toBe(true); // `**/` is zero folders too
    expect(ignoredByDocker(['.env.*'], '.envrc')).toBe(false);
  });
});
