import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeManagedAgents, type FakeManagedAgents } from '../fakes/managed-agents/index.js';
import { blockAction, humanReply, SlackSender, startFakeSlack, type FakeSlack } from '../fakes/slack/index.js';

/**
 * The product as a user runs it: `npm start` in a child process, configured only
 * through the environment, against the two fakes. Walks a session from /agent through
 * the agent's work, a steer, a custom tool and Stop, with a restart (SIGTERM, start
 * again) in the middle of a turn.
 */
const SECRET = 'e2e-signing-secret';
let slack: FakeSlack;
let agents: FakeManagedAgents;
let dir: string;
let port: number;
let child: ChildProcess | undefined;
/** pid of node itself, read from its "bot is ready" log line (npm is only its parent). */
let botPid: number | undefined;
let output: string[] = [];
/** What the bot wrote to stdout over both of its runs, line by line: its log, and nothing else. */
const stdoutLines: string[] = [];

/** One pino line as the bot writes it: a JSON object with a string level and an ISO time. */
function isLogLine(line: string): boolean {
  try {
    const parsed = JSON.parse(line) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return false;
    const { level, time } = parsed as { level?: unknown; time?: unknown };
    return typeof level === 'string' && typeof time === 'string' && !Number.isNaN(Date.parse(time));
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: p } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return p;
}

async function startBotProcess(): Promise<void> {
  output = [];
  const proc = spawn('npm', ['start', '--silent'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      ANTHROPIC_API_KEY: 'test-key',
      ANTHROPIC_BASE_URL: agents.url,
      STORE_URL: `sqlite://${join(dir, 'bot.sqlite')}`,
      PORT: String(port),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  const ready = new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      output.push(line);
      stdoutLines.push(line);
      if (line.includes('"bot is ready"')) {
        botPid = (JSON.parse(line) as { pid: number }).pid;
        resolve();
      }
    });
    proc.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    proc.once('exit', (code) => reject(new Error(`bot exited with ${code} before it was ready:\n${output.join('\n')}`)));
  });
  await ready;
}

/**
 * Sends SIGTERM to node itself (npm would not forward it) and waits for a clean exit and
 * for its output to be read to the end ('close', not 'exit': the last lines come after).
 */
async function stopBotProcess(): Promise<number | null> {
  const proc = child;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  if (botPid) process.kill(botPid, 'SIGTERM');
  else proc.kill('SIGTERM');
  return exited;
}

beforeAll(async () => {
  slack = await startFakeSlack();
  agents = await startFakeManagedAgents();
  dir = mkdtempSync(join(tmpdir(), 'slack-agents-e2e-'));
  port = await freePort();
}, 60_000);

afterAll(async () => {
  await stopBotProcess();
  await agents?.close();
  await slack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm start, end to end', () => {
  it('runs a session through start, tools, replies, stop, custom tools and a restart', async () => {
    await startBotProcess();
    const sender = () => new SlackSender({ url: `http://127.0.0.1:${port}/slack/events`, signingSecret: SECRET, fake: slack });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);

    agents.onTurn = async (turn) => {
      if (turn.text.includes('build')) {
        await turn.message('Building.');
        await turn.toolUse('bash', { command: 'make' }, { text: 'ok' });
        const read = await turn.customTool('read_thread', {});
        await turn.message(`Thread says: ${JSON.stringify(read.content).includes('use clang') ? 'use clang' : 'nothing'}`);
        await turn.gate('restart');
        await turn.message('Finished after restart.');
      } else if (turn.text.includes('forever')) {
        await turn.message('Working forever.');
        await turn.gate('never');
      } else {
        await turn.message(`You said: ${turn.text}`);
      }
    };

    // /agent: ack, root card, session, prompt.
    const ack = await sender().command({ text: 'fix the build', user: 'U1', channel: 'C1' });
    expect(ack.status).toBe(200);
    const root = await slack.waitFor(() => slack.messages('C1').find((m) => !m.thread_ts && m.bot_id));
    expect(JSON.stringify(root.blocks)).toContain('stop_session');
    const session = await agents.waitFor(() => [...agents.sessions.values()][0]);

    // A steer, before the custom tool reads the thread (and sees it).
    await agents.waitFor(() => agents.events(session.id).some((e) => e.type === 'session.status_running'));
    const steer = humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U2', text: 'use clang' });
    await sender().event(steer);
    await slack.waitFor(() =>
      slack
        .messages('C1')
        .find((m) => m.ts === steer.ts)
        ?.reactions.some((r) => r.name === 'eyes'),
    );

    // The agent's work in the thread.
    await slack.waitFor(() => slack.thread('C1', root.ts).some((m) => m.markdown_text?.includes('Thread says: use clang')));
    const replies = () => slack.thread('C1', root.ts).filter((m) => m.ts !== root.ts && m.bot_id);
    expect(replies()[0]!.markdown_text).toBe('Building.');
    expect(JSON.stringify(replies()[1]!.blocks)).toContain('*bash*');

    // Restart mid-turn: SIGTERM, the agent finishes meanwhile, start again.
    expect(await stopBotProcess()).toBe(0);
    agents.release('restart');
    await agents.waitFor(() => agents.events(session.id).filter((e) => e.type === 'session.status_idle').length >= 2 || undefined);
    await startBotProcess();
    await slack.waitFor(() => replies().some((m) => m.markdown_text?.includes('Finished after restart.')));
    await slack.waitFor(() => JSON.stringify(slack.messages('C1').find((m) => m.ts === root.ts)?.blocks).includes('Done'));
    const said = replies()
      .map((m) => m.markdown_text ?? '')
      .join('\n\n');
    expect(said.split('Building.').length - 1).toBe(1);
    expect(said.split('Finished after restart.').length - 1).toBe(1);

    // Stop: a new running turn, the button, the root says who.
    await sender().event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'work forever' }));
    await slack.waitFor(() => replies().some((m) => m.markdown_text?.includes('Working forever.')));
    await slack.waitFor(() => JSON.stringify(slack.messages('C1').find((m) => m.ts === root.ts)?.blocks).includes('stop_session'));
    await sender().action(blockAction({ user: 'U1', channel: 'C1', messageTs: root.ts, actionId: 'stop_session', value: '' }));
    await slack.waitFor(() => JSON.stringify(slack.messages('C1').find((m) => m.ts === root.ts)?.blocks).includes('Stopped by <@U1>'));
    expect(agents.received(session.id).filter((e) => e.type === 'user.interrupt')).toHaveLength(1);
    expect(agents.sessions.size).toBe(1);

    expect(await stopBotProcess()).toBe(0);
    // Every line on stdout, blank ones and the last before exit included, is one JSON log
    // object with a level and a time (the process ran, so there are many).
    expect(stdoutLines.length).toBeGreaterThan(10);
    for (const line of stdoutLines) expect(isLogLine(line), `not a log line on stdout: ${JSON.stringify(line)}`).toBe(true);
  }, 120_000);

  it('refuses to start on bad configuration with one line naming the variable', async () => {
    const proc = spawn('npm', ['start', '--silent'], {
      env: { PATH: process.env.PATH, SLACK_BOT_TOKEN: 'not-a-token', ANTHROPIC_API_KEY: 'k', SLACK_SIGNING_SECRET: 's' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual(['Configuration error: SLACK_BOT_TOKEN is invalid: expected a bot token starting with xoxb-']);
    // npm start builds first (prestart): on a busy 2-core machine that alone has taken 38 s.
  }, 120_000);
});
