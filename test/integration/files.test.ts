import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { ThreadRecords } from '../../src/store/thread-records.js';
import type { FileObj, Turn } from '../fakes/managed-agents/index.js';
import { appMention, humanReply } from '../fakes/slack/index.js';
import { botReplies, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h?.close();
});

// A 1×1 PNG: real image bytes, so nothing about the path depends on text.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

type Seen = { text: string; content: unknown[]; resources: unknown[] };
const seenBy = (turns: Seen[]) => async (turn: Turn) => {
  turns.push({ text: turn.text, content: turn.content, resources: turn.resources });
  await turn.message(`Got: ${turn.text.split('\n')[0]}`);
};
const uploads = (): FileObj[] => [...h.agents.files.values()].filter((f) => !f.scope);
const mentionRoot = (ts: string) => h.slack.thread('C1', ts);

describe('files shared with a message reach the agent', () => {
  it('a mention with an image, a PDF and a CSV: image and document blocks, and a read-only mount named in the text', async () => {
    const turns: Seen[] = [];
    h.agents.onTurn = seenBy(turns);
    const png = h.slack.addFile({ name: 'chart.png', mimetype: 'image/png', content: PNG });
    const pdf = h.slack.addFile({ name: 'spec.pdf', mimetype: 'application/pdf', content: PDF });
    const csv = h.slack.addFile({ name: 'sales data.csv', mimetype: 'text/csv', content: 'month,total\njan,3\n' });
    const mention = appMention({ channel: 'C1', user: 'U1', text: 'summarise these', files: [png, pdf, csv] });
    await h.sender.event(mention);

    await h.agents.waitFor(() => turns.length === 1);
    await h.bot.settled();
    // Fetched from Slack with the bot token, once each.
    expect(h.slack.downloads).toEqual([png.id, pdf.id, csv.id].map((fileId) => ({ fileId, authorized: true })));
    // Uploaded to the Files API with their names, types and bytes.
    const byName = new Map(uploads().map((f) => [f.filename, f]));
    expect(byName.get('chart.png')).toMatchObject({ mime_type: 'image/png', size_bytes: PNG.length });
    expect(h.agents.fileBytes(byName.get('spec.pdf')!.id)).toEqual(PDF);
    expect(h.agents.fileBytes(byName.get('sales data.csv')!.id)!.toString()).toBe('month,total\njan,3\n');

    const [seen] = turns;
    expect(seen!.content).toEqual([
      { type: 'text', text: expect.stringContaining('summarise these') },
      { type: 'image', source: { type: 'file', file_id: byName.get('chart.png')!.id } },
      { type: 'document', source: { type: 'file', file_id: byName.get('spec.pdf')!.id }, title: 'spec.pdf' },
    ]);
    const mountPath = `/mnt/session/uploads/${csv.id as string}/sales_data.csv`;
    expect(seen!.resources).toEqual([expect.objectContaining({ type: 'file', mount_path: mountPath })]);
    // The session mounts its own copy of the upload: same bytes, another id.
    const mounted = (seen!.resources[0] as { file_id: string }).file_id;
    expect(h.agents.fileBytes(mounted)!.toString()).toBe('month,total\njan,3\n');
    expect(seen!.text).toContain(`sales data.csv (18 B): mounted read-only at ${mountPath}`);
    expect(seen!.text).toContain('chart.png (70 B): attached to this message as an image');
    expect(h.slack.callsTo('chat.postEphemeral')).toHaveLength(0);
    await h.slack.waitFor(() => mentionRoot(mention.ts as string).some((m) => m.markdown_text === 'Got: summarise these'));
  });

  it('a file_share reply in a session thread, with no words, steers the agent with the file mounted', async () => {
    const turns: Seen[] = [];
    h.agents.onTurn = seenBy(turns);
    await h.sender.command({ text: 'start', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id));
    await h.agents.waitFor(() => turns.length === 1);
    await h.bot.settled();

    const log = h.slack.addFile({ name: 'build.log', mimetype: 'text/x-log', content: 'error: clang 18\n' });
    const reply = humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U2', text: '', files: [log] });
    expect(reply.subtype).toBe('file_share');
    await h.sender.event(reply);
    await h.agents.waitFor(() => turns.length === 2);
    expect(turns[1]!.text).toContain(`build.log (16 B): mounted read-only at /mnt/session/uploads/${log.id as string}/build.log`);
    expect(turns[1]!.resources).toHaveLength(1);
    await h.slack.waitFor(() =>
      h.slack.thread('C1', root.ts).some((m) => m.ts === reply.ts && m.reactions.some((r) => r.name === 'white_check_mark')),
    );
  });

  it('a file over the limit is not fetched nor uploaded; its sender is told privately and the words still go', async () => {
    const turns: Seen[] = [];
    h.agents.onTurn = seenBy(turns);
    const big = h.slack.addFile({ name: 'dump.bin', mimetype: 'application/octet-stream', content: 'x', size: 30 * 1024 * 1024 });
    const small = h.slack.addFile({ name: 'notes.txt', mimetype: 'text/plain', content: 'remember' });
    await h.sender.event(appMention({ channel: 'C1', user: 'U1', text: 'look at the dump', files: [big, small] }));

    await h.agents.waitFor(() => turns.length === 1);
    await h.bot.settled();
    expect(h.slack.downloads.map((d) => d.fileId)).toEqual([small.id]);
    expect(uploads().map((f) => f.filename)).toEqual(['notes.txt']);
    expect(turns[0]!.text).toContain('look at the dump');
    expect(turns[0]!.content).toHaveLength(2); // the words and notes.txt as a document
    const [told] = h.slack.callsTo('chat.postEphemeral');
    expect(told?.args).toMatchObject({ channel: 'C1', user: 'U1' });
    expect(String(told?.args.text)).toContain('dump.bin (30 MB) is larger than the 25 MB limit per file');
  });

  it('an HTML sign-in page instead of the file (no files:read) is reported, not uploaded', async () => {
    const turns: Seen[] = [];
    h.agents.onTurn = seenBy(turns);
    h.slack.filesRead = false;
    const pdf = h.slack.addFile({ name: 'spec.pdf', mimetype: 'application/pdf', content: PDF });
    await h.sender.event(appMention({ channel: 'C1', user: 'U1', text: 'read the spec', files: [pdf] }));

    await h.agents.waitFor(() => turns.length === 1);
    await h.bot.settled();
    expect(h.slack.downloads).toEqual([{ fileId: pdf.id, authorized: false }]);
    expect(uploads()).toEqual([]);
    expect(turns[0]!.content).toEqual([{ type: 'text', text: 'read the spec' }]);
    expect(String(h.slack.callsTo('chat.postEphemeral')[0]?.args.text)).toContain('sign-in page instead of the file');
  });
});

describe('files the agent writes are shared in the thread', () => {
  const uploadsInThread = (rootTs: string) => botReplies(h.slack, 'C1', rootTs).filter((m) => m.files?.length);

  it('once each, with a short list, after the answer; a restart and later turns do not share them again', async () => {
    h.agents.onTurn = async (turn) => {
      if (turn.text.includes('report')) {
        await turn.toolUse('bash', { command: 'make report' }, { text: 'ok' });
        // Listed only from the second look: outputs show up a moment after the idle event.
        await turn.writeOutput('report.csv', 'a,b\n1,2\n', { mimeType: 'text/csv', hiddenForLists: 1 });
        await turn.writeOutput('chart.png', PNG, { mimeType: 'image/png', hiddenForLists: 1 });
      }
      await turn.message(`Done: ${turn.text}`);
    };
    await h.sender.command({ text: 'make the report', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id));
    await h.slack.waitFor(() => uploadsInThread(root.ts).length === 1);
    await h.bot.settled();

    const [shared] = uploadsInThread(root.ts);
    expect(shared!.text).toContain('The agent produced 2 files');
    expect(shared!.text).toContain('`chart.png` (70 B)');
    expect(shared!.text).toContain('`report.csv` (8 B)');
    const bytes = new Map([...h.slack.uploads.values()].map((u) => [u.filename, u.content]));
    expect(bytes.get('report.csv')?.toString()).toBe('a,b\n1,2\n');
    expect(bytes.get('chart.png')).toEqual(PNG);
    // After the agent's answer, not before it.
    const replies = botReplies(h.slack, 'C1', root.ts);
    expect(replies.findIndex((m) => m.markdown_text === 'Done: make the report')).toBeLessThan(replies.indexOf(shared!));
    const scopedLists = () => h.agents.requests.filter((r) => r.path === '/v1/files' && r.query.get('scope_id'));
    expect(scopedLists().length).toBeGreaterThanOrEqual(2);

    await h.restart();
    await h.sender.event(humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'thanks' }));
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', root.ts).some((m) => m.markdown_text === 'Done: thanks'));
    const listsBefore = scopedLists().length;
    await h.agents.waitFor(() => scopedLists().length > listsBefore);
    await h.bot.settled();
    expect(uploadsInThread(root.ts)).toHaveLength(1);
    expect(h.slack.callsTo('files.completeUploadExternal')).toHaveLength(1);
  });

  it('a turn that ended while the bot was down still shares its files once the bot is back', async () => {
    h.agents.onTurn = async (turn) => {
      await turn.message('Working.');
      await turn.gate('bot-is-down');
      await turn.writeOutput('late.txt', 'late', { mimeType: 'text/plain' });
      await turn.message('Finished.');
    };
    await h.sender.command({ text: 'go', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id));
    await h.slack.waitFor(() => botReplies(h.slack, 'C1', root.ts).some((m) => m.markdown_text === 'Working.'));
    await h.bot.settled();
    const session = [...h.agents.sessions.values()][0]!;
    await h.restart(async () => {
      h.agents.release('bot-is-down');
      await h.agents.waitFor(() => h.agents.events(session.id).some((e) => e.type === 'session.status_idle'));
    });
    await h.slack.waitFor(() => uploadsInThread(root.ts).length === 1);
    await h.bot.settled();
    expect(uploadsInThread(root.ts)[0]!.text).toContain('`late.txt` (4 B)');
    expect(h.slack.callsTo('files.completeUploadExternal')).toHaveLength(1);
  });

  it('a crash after sharing but before recording it: the restart finds the files in the thread and does not share again', async () => {
    h.agents.onTurn = async (turn) => {
      if (turn.text.includes('write')) await turn.writeOutput('out.txt', 'hello', { mimeType: 'text/plain' });
      await turn.message(`Done: ${turn.text}`);
    };
    await h.sender.command({ text: 'write it', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id));
    await h.slack.waitFor(() => uploadsInThread(root.ts).length === 1);
    await h.bot.settled();

    // While the bot is down, put the record back to what a crash right after
    // files.completeUploadExternal would have left: reserved, not known to be shared.
    await h.restart(async () => {
      const kv = await openStore(h.env.STORE_URL);
      const records = new ThreadRecords(kv);
      const ref = { team: 'T1', channel: 'C1', threadTs: root.ts };
      await records.update(ref, (r) => {
        for (const o of Object.values(r.outputs ?? {})) o.state = 'reserved';
      });
      await kv.disconnect();
    });
    const again = humanReply({ channel: 'C1', thread_ts: root.ts, user: 'U1', text: 'again' });
    await h.sender.event(again);
    // The ✅ is added by the same turn end that starts sharing outputs.
    await h.slack.waitFor(() =>
      h.slack.thread('C1', root.ts).some((m) => m.ts === again.ts && m.reactions.some((r) => r.name === 'white_check_mark')),
    );
    await h.bot.settled();
    expect(h.logs.lines().some((l) => l.msg === 'settled output files left half-shared by an earlier run')).toBe(true);
    expect(uploadsInThread(root.ts)).toHaveLength(1);
    expect(h.slack.callsTo('files.completeUploadExternal')).toHaveLength(1);
  });

  it('a completion that landed but answered 500 is found in the thread, not sent twice', async () => {
    h.agents.onTurn = async (turn) => {
      await turn.writeOutput('out.txt', 'hello', { mimeType: 'text/plain' });
      await turn.message('Wrote it.');
    };
    h.slack.failNext('files.completeUploadExternal', { status: 500, afterApply: true });
    await h.sender.command({ text: 'write it', user: 'U1', channel: 'C1' });
    const root = await h.slack.waitFor(() => h.slack.messages('C1').find((m) => !m.thread_ts && m.bot_id));
    await h.slack.waitFor(() => uploadsInThread(root.ts).length === 1);
    await h.bot.settled();
    expect(h.logs.lines().some((l) => l.msg === 'agent output files delivered to the thread')).toBe(true);
    expect(h.slack.callsTo('files.completeUploadExternal')).toHaveLength(1);
    expect(uploadsInThread(root.ts)).toHaveLength(1);
  });
});
