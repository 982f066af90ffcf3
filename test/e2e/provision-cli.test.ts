import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeManagedAgents, type FakeManagedAgents } from '../fakes/managed-agents/index.js';
import { ensureBuilt, TEST_DIST } from './support/bot-process.js';

const run = promisify(execFile);

/**
 * The provision CLI as `npm run provision` runs it (`node <build>/src/provision.js`), and
 * the bot's entry refusing a broken file, from the e2e files' shared build (TEST_DIST), so
 * they never race `npm start`'s build of dist/ in the e2e test running beside them.
 */
const BUILD = TEST_DIST;
let fake: FakeManagedAgents;
let dir: string;

beforeAll(async () => {
  ensureBuilt();
  fake = await startFakeManagedAgents();
  dir = mkdtempSync(join(tmpdir(), 'provision-cli-'));
}, 60_000);
afterAll(async () => {
  await fake?.close();
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
    expect(second.stdout.trim().split('\n')).toEqual([expect.stringMatching(/: unchanged$/), expect.stringMatching(/: unchanged \(version 1\)$/)]);

    writeFileSync(file, 'profiles:\n  solo:\n    agent: { model: claude-sonnet-5-5, modle: x }\n');
    const broken = await provision(file);
    expect(broken).toMatchObject({ code: 1, stdout: '' });
    expect(broken.stderr).toBe(`${file}:3:40: profiles.solo.agent.modle: unknown key (check the spelling; see agents.example.yml)\n`);
  });

  it('the bot refuses to start on a broken file: the problems on stderr, exit code 1, nothing created', async () => {
    const file = join(dir, 'broken.yml');
    writeFileSync(file, 'default_profile: nope\nprofiles:\n  solo:\n    agent: { model: claude-sonnet-5-5 }\n');
    const before = fake.requests.length;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'secret',
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: fake.url,
      STORE_URL: `sqlite://${join(dir, 'bot.sqlite')}`,
      PORT: '0',
      LOG_LEVEL: 'silent',
      AGENTS_CONFIG: file,
    };
    const result = await run('node', [join(BUILD, 'src/main.js')], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result).toEqual({ code: 1, stderr: `${file}:1:1: default_profile: no profile named "nope" (profiles: solo)\n` });
    expect(fake.requests.length).toBe(before);
  });
});
