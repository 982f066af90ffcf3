// The playground in Debian's Chromium (playwright-core drives the system browser; no
// browser is downloaded): a person types in the page as in Slack, and the real bot
// behind it answers through the fake Slack, with the demo agent as the session.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground, type Playground } from '../../playground/start.js';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/render/approval-card.js';
import { STOP_ACTION_ID } from '../../src/render/root-card.js';
import { memoryLogger } from '../support/log-sink.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Gitignored: what the run saw, kept for a person to look at. */
const ARTIFACTS = join(process.cwd(), '.test-artifacts');
const PAGE_TIMEOUT_MS = 20_000;

let playground: Playground;
let browser: BrowserContext;
let page: Page;
let profile: string;
const logs = memoryLogger('warn');

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
  playground = await startPlayground({ log: logs.log, port: 0, demoPaceMs: 100 });
  profile = mkdtempSync(join(tmpdir(), 'playground-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    // Without the background-networking flags, Chromium keeps dialling Google's services,
    // which a machine without network answers with a stream of refused connections.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(PAGE_TIMEOUT_MS);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await playground?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const thread = () => page.getByTestId('thread');
const messageWith = (where: Locator, text: string | RegExp) => where.locator('.message').filter({ hasText: text });
/** The message element itself, found by its ts: its text changes as the bot edits it. */
const pinned = async (where: Locator, message: Locator) => where.locator(`.message[data-ts="${await message.getAttribute('data-ts')}"]`);
const eventually = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: PAGE_TIMEOUT_MS });

/** Runs in the page: keeps every text a streaming message showed, as the page drew it, in `window.streamed`. */
const RECORD_STREAMING = `(() => {
  const seen = [];
  window.streamed = seen;
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('#thread-messages .message.streaming .body')) {
      const text = el.textContent ?? '';
      if (seen.at(-1) !== text) seen.push(text);
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
})()`;

/** The page as it is now, thread scrolled to its end and no hover toolbar, into the artifacts folder. */
async function screenshot(name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator('#thread-messages').evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await page.mouse.move(1, 1);
  await page.screenshot({ path: join(ARTIFACTS, name) });
}

describe('npm run playground in Chromium', () => {
  it('a command starts a thread whose text streams in; a reply steers, Approve decides, Stop interrupts', async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    expect(new URL(playground.url).hostname).toBe('127.0.0.1');
    await page.goto(playground.url);
    await eventually(() => page.getByTestId('agent-badge').textContent()).toContain('demo agent');

    // Every text a streaming message showed, as the page drew it (before the command is typed).
    await page.evaluate(RECORD_STREAMING);

    const composer = page.locator('#channel-composer textarea');
    await composer.fill('/agent write a haiku about the sea');
    await composer.press('Enter');

    // The root card in the channel, and its thread opened beside it.
    const root = messageWith(page.getByTestId('channel'), 'asked the agent');
    await root.waitFor();
    await eventually(() => root.textContent()).toContain('write a haiku about the sea');
    const intro = messageWith(thread(), 'I will show every part of a thread');
    await intro.waitFor();
    await eventually(() => intro.locator('.body').textContent()).toContain(
      'streamed text like this, tool calls, an approval, a question, a file and usage.',
    );
    const streamed = (await page.evaluate('window.streamed')) as string[];
    // The page showed the message part-written (chat.startStream) before it showed it whole (chat.stopStream).
    expect(streamed.some((t) => t.includes('demo agent') && !t.includes('a file and usage.'))).toBe(true);
    expect(await intro.locator('.body b').first().textContent()).toBe('demo agent');
    expect(await thread().locator('pre.code').first().textContent()).toContain('export function greet');

    // The activity message and the approval card, from the bot's Block Kit.
    await messageWith(thread(), 'ls -la /workspace').waitFor();
    const asking = messageWith(thread(), 'The agent wants to use bash');
    await asking.locator(`button[data-action-id="${APPROVE_ACTION_ID}"]`).waitFor();
    const approval = await pinned(thread(), asking);

    // A reply while the agent waits steers it: the 👀 receipt says it reached the session.
    const reply = page.locator('#thread-composer textarea');
    await reply.fill('make it rhyme');
    await reply.press('Enter');
    const steer = messageWith(thread(), 'make it rhyme');
    await steer.locator('.reaction[data-reaction="eyes"]').waitFor();

    await approval.locator(`button[data-action-id="${APPROVE_ACTION_ID}"]`).click();
    await eventually(() => approval.textContent()).toMatch(/bash approved by @You/);
    await messageWith(thread(), 'You approved the bash call').waitFor();

    // The question card: answered by its button.
    const question = messageWith(thread(), /The agent asks:.*Which format should the summary have\?/);
    await question.getByRole('button', { name: 'Markdown' }).click();
    await messageWith(thread(), 'Thanks, noted: “Markdown”.').waitFor();

    // The file the agent wrote, the usage line, and the steering turn that followed.
    await thread().locator('.file', { hasText: 'summary.md' }).waitFor();
    await messageWith(thread(), 'Steering received: “make it rhyme”').waitFor();
    await messageWith(thread(), /📊 Turn 1/).waitFor();
    await screenshot('playground.png');

    // A turn that runs until stopped, and the Stop button on the root card.
    await reply.fill('count');
    await reply.press('Enter');
    await messageWith(thread(), 'echo 3').waitFor();
    const card = thread().locator('.message').first();
    await card.locator(`button[data-action-id="${STOP_ACTION_ID}"]`).click();
    await eventually(() => card.textContent()).toContain('Stopped by @You');
    const sessionId = [...playground.agents!.sessions.keys()][0]!;
    expect(playground.agents!.received(sessionId).some((e) => e.type === 'user.interrupt')).toBe(true);

    await screenshot('playground-stopped.png');
    // The README's picture is refreshed from a run on purpose, not by every run.
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(join(ARTIFACTS, 'playground.png'), join(process.cwd(), 'docs', 'playground.png'));
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('an @mention starts a thread; Deny asks for a reason in a dialog; a reply answers the question; a file goes with a reply; 🛑 stops; an error reads as one', async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(playground.url);
    const sessionsBefore = new Set(playground.agents!.sessions.keys());

    const composer = page.locator('#channel-composer textarea');
    await composer.fill('@agent tidy up the release notes');
    await composer.press('Enter');
    // The thread hangs under the person's own message, which shows the mention as Slack does.
    const mine = messageWith(thread(), 'tidy up the release notes').first();
    await mine.waitFor();
    expect(await mine.locator('.mention').first().textContent()).toBe('@agent');
    const session = await playground.agents!.waitFor(
      () => [...playground.agents!.sessions.values()].find((x) => !sessionsBefore.has(x.id)),
      PAGE_TIMEOUT_MS,
    );

    // Deny… opens the bot's dialog (views.open); its reason reaches the agent and the card.
    const asking = messageWith(thread(), 'The agent wants to use bash');
    await asking.locator(`button[data-action-id="${DENY_ACTION_ID}"]`).waitFor();
    const approval = await pinned(thread(), asking);
    await approval.locator(`button[data-action-id="${DENY_ACTION_ID}"]`).click();
    const dialog = page.locator('#modal:not([hidden])');
    await dialog.waitFor();
    expect(await dialog.locator('#modal-title').textContent()).toBe('Deny tool call');
    await dialog.locator('textarea').fill('Use the staging box instead.');
    await dialog.locator('#modal-submit').click();
    await page.locator('#modal').waitFor({ state: 'hidden' });
    await eventually(() => approval.textContent()).toMatch(/bash denied by @You/);
    expect(await approval.textContent()).toContain('Use the staging box instead.');
    await messageWith(thread(), 'You denied the bash call (“Use the staging box instead.”)').waitFor();

    // The question, answered in the person's own words by a reply.
    await messageWith(thread(), /The agent asks:.*Which format should the summary have\?/).waitFor();
    const reply = page.locator('#thread-composer textarea');
    await reply.fill('A short bullet list, please');
    await reply.press('Enter');
    await messageWith(thread(), 'Thanks, noted: “A short bullet list, please”.').waitFor();
    await thread().locator('.file', { hasText: 'summary.md' }).waitFor();

    // A file attached to a reply: Slack hosts it, the bot fetches it and hands it to the session.
    await page
      .locator('#thread-composer input[type=file]')
      .setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('v1.2: faster start\n') });
    await eventually(() => page.getByTestId('attached').textContent()).toBe('notes.txt');
    await reply.fill('here are my notes');
    await reply.press('Enter');
    await messageWith(thread(), 'here are my notes').locator('.file', { hasText: 'notes.txt' }).waitFor();
    await messageWith(thread(), 'Steering received: “here are my notes').waitFor();
    expect(playground.slack.downloads.some((d) => d.authorized)).toBe(true);
    expect(JSON.stringify(playground.agents!.received(session.id))).toContain('notes.txt');

    // :octagonal_sign: on the thread's first message stops a running turn.
    await reply.fill('count');
    await reply.press('Enter');
    await messageWith(thread(), 'echo 2').waitFor();
    const first = await pinned(thread(), mine);
    await first.hover();
    await first.locator('[data-react="octagonal_sign"]').click();
    await first.locator('.reaction.mine[data-reaction="octagonal_sign"]').waitFor();
    await playground.agents!.waitFor(() => playground.agents!.received(session.id).some((e) => e.type === 'user.interrupt'), PAGE_TIMEOUT_MS);
    await eventually(() => thread().textContent()).toContain('Stopped by @You');

    // A turn that fails shows the failure in words.
    await reply.fill('error');
    await reply.press('Enter');
    await messageWith(thread(), 'The agent hit an error: Overloaded (the demo agent failed on purpose)').last().waitFor();
    await eventually(() => thread().locator('.message.bot').first().textContent()).toContain('Failed');
    await screenshot('playground-failed.png');
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('Slack’s own Stop on the status line (agent_session_stopped) interrupts a running turn', async () => {
    await page.goto(playground.url);
    const sessionsBefore = new Set(playground.agents!.sessions.keys());
    const composer = page.locator('#channel-composer textarea');
    await composer.fill('/agent count');
    await composer.press('Enter');
    await messageWith(thread(), 'echo 2').waitFor();
    const session = await playground.agents!.waitFor(
      () => [...playground.agents!.sessions.values()].find((x) => !sessionsBefore.has(x.id)),
      PAGE_TIMEOUT_MS,
    );
    await eventually(() => page.getByTestId('session-state').textContent()).toBe('session processing');
    const status = page.getByTestId('status');
    await status.locator('[data-native-stop]').click();
    await playground.agents!.waitFor(() => playground.agents!.received(session.id).some((e) => e.type === 'user.interrupt'), PAGE_TIMEOUT_MS);
    await eventually(() => thread().locator('.message').first().textContent()).toContain('Stopped');
    await eventually(() => status.locator('[data-native-stop]').count()).toBe(0);
  }, 120_000);
});
