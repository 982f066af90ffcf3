import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeManagedAgents, type FakeManagedAgents } from '../fakes/managed-agents/index.js';

const run = promisify(execFile);

/**
 * The provision CLI as `npm run provision` runs it (`node <build>/src/provision.js`),
 * compiled into its own directory so it never races `npm start`'s build of dist/ in the
 * e2e test running beside it.
 */
const BUILD = `.provision-test-${process.pid}`;
let fake: FakeManagedAgents;
let dir: string;

beforeAll(async () => {
  await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', BUILD], { cwd: process.cwd() });
  fake = await startFakeManagedAgents();
  dir = mkdtempSync(join(tmpdir(), 'provision-cli-'));
}, 60_000);
afterAll(async () => {
  await fake?.close();
  rmSync(BUILD, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function provision(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url, AGENTS_CONFIG: file };
  delete env.LOG_LEVEL;
  try {
    const { stdout, stderr } = await run('node', [join(BUILD, 'src/provision.js')], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run provision', () => {
  it('prints what it created, then that nothing changed; a broken file exits 1 with its problems', async () => {
    const file = join(dir, 'agents.yml');
    writeFileSync(file, 'profiles:\n  solo:\n    agent: { model: claude-sonnet-5-5 }\n');

    const first = await provision(file);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^environment slack-solo \(env_\w+\): created$/),
      expect.stringMatching(/^agent for profile solo \(agent_\w+\): created, version 1$/),
    ]);

    const second = await provision(file);
    expect(second.code).toBe(0);
    expect(second.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/: unchanged$/),
      expect.stringMatching(/: unchanged \(version 1\)$/),
    ]);

    writeFileSync(file, 'profiles:\n  solo:\n    agent: { model: claude-sonnet-5-5, modle: x }\n');
    const broken = await provision(file);
    expect(broken).toMatchObject({ code: 1, stdout: '' });
    expect(broken.stderr).toBe(`${file}:3:40: profiles.solo.agent.modle: unknown key (check the spelling; see agents.example.yml)\n`);
  });
});
