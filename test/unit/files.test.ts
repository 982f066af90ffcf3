import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { admitFiles, INPUT_LIMITS, mountPathFor, placementOf, refusalWords, textForAgent } from '../../src/agents/attachments.js';
import type { OutputFile } from '../../src/agents/files-api.js';
import { planOutputs } from '../../src/delivery/output-plan.js';
import { outputComment } from '../../src/render/output-comment.js';
import { downloadSharedFile, looksLikeHtml, tokenMayGoTo } from '../../src/slack/file-download.js';
import { MessageEventSchema } from '../../src/slack/inbound.js';
import { FILES_ONLY, routeMessage } from '../../src/slack/route-message.js';
import { readSharedFiles } from '../../src/slack/shared-files.js';
import { skipWords } from '../../src/words/files.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/index.js';

const MB = 1024 * 1024;
const file = (over: Partial<{ id: string; name: string; mimetype: string; size: number; downloadUrl: string }> = {}) => ({
  id: 'F1',
  name: 'a.txt',
  mimetype: 'text/plain',
  size: 10,
  downloadUrl: 'https://files.slack.com/files-pri/T1-F1/download/a.txt',
  ...over,
});

describe('placementOf: a file type decides how the agent gets it', () => {
  it('png, jpeg, gif and webp are image blocks; pdf and plain text are document blocks', () => {
    for (const mimetype of ['image/png', 'image/jpeg', 'image/gif', 'image/webp']) expect(placementOf({ mimetype, size: 100 })).toBe('image');
    expect(placementOf({ mimetype: 'application/pdf', size: 100 })).toBe('document');
    expect(placementOf({ mimetype: 'text/plain; charset=utf-8', size: 100 })).toBe('document');
  });
  it('everything else, and images over 5 MB, are mounted as files', () => {
    for (const mimetype of ['text/csv', 'application/zip', 'image/heic', 'application/x-msdownload', 'text/html']) {
      expect(placementOf({ mimetype, size: 100 })).toBe('mount');
    }
    expect(placementOf({ mimetype: 'image/png', size: 5 * MB })).toBe('image');
    expect(placementOf({ mimetype: 'image/png', size: 5 * MB + 1 })).toBe('mount');
  });
});

describe('admitFiles: limits per file and per message', () => {
  it('refuses files over 25 MB and beyond the tenth, and files Slack will not let us download', () => {
    const many = Array.from({ length: 12 }, (_, i) => file({ id: `F${i}`, name: `f${i}.txt` }));
    const big = file({ id: 'FB', name: 'big.bin', size: 25 * MB + 1 });
    const external = { ...file({ id: 'FX', name: 'doc.gdoc' }), downloadUrl: undefined };
    const { admitted, refused } = admitFiles([big, external, ...many]);
    expect(admitted.map((f) => f.id)).toEqual(many.slice(0, 10).map((f) => f.id));
    expect(refused.map((r) => [r.file.id, r.reason])).toEqual([
      ['FB', 'too_large'],
      ['FX', 'not_downloadable'],
      ['F10', 'too_many'],
      ['F11', 'too_many'],
    ]);
    expect(refusalWords(refused[0]!)).toBe('big.bin (25 MB) is larger than the 25 MB limit per file');
    expect(refusalWords(refused[2]!)).toBe('f10.txt is over the limit of 10 files per message');
  });
  it('a file of exactly the limit goes', () => {
    expect(admitFiles([file({ size: INPUT_LIMITS.maxFileBytes })]).admitted).toHaveLength(1);
  });
});

describe('mount paths and the note for the agent', () => {
  it('puts each file under its Slack id, with a shell-safe name that cannot climb out', () => {
    expect(mountPathFor({ id: 'F123', name: 'Q3 report (final).xlsx' })).toBe('/mnt/session/uploads/F123/Q3_report_final_.xlsx');
    expect(mountPathFor({ id: 'F1', name: '../../etc/passwd' })).toBe('/mnt/session/uploads/F1/passwd');
    expect(mountPathFor({ id: 'F1', name: '..' })).toBe('/mnt/session/uploads/F1/file');
  });
  it('lists where each file is after the words', () => {
    const text = textForAgent('look', [
      { name: 'a.png', size: 2048, placement: 'image' },
      { name: 'b.csv', size: 10, placement: 'mount', mountPath: '/mnt/session/uploads/F2/b.csv' },
    ]);
    expect(text).toBe(
      'look\n\n[Files shared in Slack with this message]\n- a.png (2.0 KB): attached to this message as an image\n- b.csv (10 B): mounted read-only at /mnt/session/uploads/F2/b.csv',
    );
    expect(textForAgent('just words', [])).toBe('just words');
  });
});

describe('reading Slack file objects and routing file-only messages', () => {
  it('keeps what it needs, skips tombstones, counts what it cannot read', () => {
    const { files, unreadable } = readSharedFiles([
      { id: 'F1', name: 'a.pdf', mimetype: 'application/pdf', size: 3, url_private_download: 'https://files.slack.com/x' },
      { id: 'F2', mode: 'tombstone' },
      { id: 'F3', name: 'ext', mode: 'external', url_private: 'https://docs.google.com/x' },
      { name: 'no id' },
    ]);
    expect(files).toEqual([
      { id: 'F1', name: 'a.pdf', mimetype: 'application/pdf', size: 3, downloadUrl: 'https://files.slack.com/x' },
      { id: 'F3', name: 'ext', mimetype: 'application/octet-stream', size: 0 },
    ]);
    expect(unreadable).toBe(1);
  });
  it('a mention or DM with only files starts a session instead of showing usage', () => {
    const m = MessageEventSchema.parse({ type: 'app_mention', channel: 'C1', ts: '2.0', user: 'U1', text: '<@U_BOT>', files: [{ id: 'F1' }] });
    expect(routeMessage(m, 'U_BOT', false)).toEqual({ kind: 'start', threadTs: '2.0', text: FILES_ONLY });
    const bare = MessageEventSchema.parse({ type: 'app_mention', channel: 'C1', ts: '2.0', user: 'U1', text: '<@U_BOT>' });
    expect(routeMessage(bare, 'U_BOT', false).kind).toBe('usage');
  });
});

describe('the bot token only goes to Slack', () => {
  it('https slack.com hosts and the configured API origin, nothing else', () => {
    expect(tokenMayGoTo('https://files.slack.com/files-pri/T1-F1/download/a', [])).toBe(true);
    expect(tokenMayGoTo('http://files.slack.com/x', [])).toBe(false);
    expect(tokenMayGoTo('https://files.slack.com.evil.example/x', [])).toBe(false);
    expect(tokenMayGoTo('https://evilslack.com/x', [])).toBe(false);
    expect(tokenMayGoTo('http://127.0.0.1:4000/files-pri/x', ['http://127.0.0.1:4000'])).toBe(true);
    expect(tokenMayGoTo('not a url', [])).toBe(false);
  });
  it('recognises an HTML page by its start', () => {
    expect(looksLikeHtml(Buffer.from('  <!DOCTYPE html><html>'))).toBe(true);
    expect(looksLikeHtml(Buffer.from('%PDF-1.4'))).toBe(false);
  });
});

describe('downloadSharedFile against the fake Slack', () => {
  let slack: FakeSlack;
  beforeEach(async () => {
    slack = await startFakeSlack();
  });
  afterEach(async () => {
    await slack.close();
  });
  const origin = () => new URL(slack.apiUrl).origin;

  it('gets the bytes with the bot token', async () => {
    const f = slack.addFile({ name: 'a.csv', mimetype: 'text/csv', content: 'x,y\n' });
    const got = await downloadSharedFile(f.url_private_download as string, {
      token: 'xoxb-test',
      maxBytes: 100,
      extraOrigins: [origin()],
      expectedMime: 'text/csv',
    });
    expect(got).toEqual({ kind: 'downloaded', bytes: Buffer.from('x,y\n') });
  });
  it('reports the sign-in page a wrong token gets (HTTP 200, HTML)', async () => {
    const f = slack.addFile({ name: 'a.csv', mimetype: 'text/csv', content: 'x,y\n' });
    const got = await downloadSharedFile(f.url_private_download as string, {
      token: 'xoxb-wrong',
      maxBytes: 100,
      extraOrigins: [origin()],
      expectedMime: 'text/csv',
    });
    expect(got).toEqual({ kind: 'failed', problem: { kind: 'login_page' } });
    expect(slack.downloads).toEqual([{ fileId: f.id, authorized: false }]);
  });
  it('stops reading past the limit, whatever size Slack claimed', async () => {
    const f = slack.addFile({ name: 'a.bin', content: Buffer.alloc(1000), size: 10 });
    const got = await downloadSharedFile(f.url_private_download as string, { token: 'xoxb-test', maxBytes: 100, extraOrigins: [origin()] });
    expect(got).toEqual({ kind: 'failed', problem: { kind: 'too_large', limitBytes: 100 } });
  });
  it('sends nothing to a URL that is not Slack', async () => {
    const f = slack.addFile({ name: 'a.csv', content: 'x' });
    const got = await downloadSharedFile(f.url_private_download as string, { token: 'xoxb-test', maxBytes: 100 });
    expect(got).toEqual({ kind: 'failed', problem: { kind: 'untrusted_url' } });
    expect(slack.downloads).toEqual([]);
  });
});

describe('planOutputs and the list posted with them', () => {
  const out = (id: string, over: Partial<OutputFile> = {}): OutputFile => ({
    id,
    filename: `${id}.txt`,
    mimeType: 'text/plain',
    size: 5,
    downloadable: true,
    ...over,
  });
  it('attaches new files only, lists too-large, undownloadable and surplus ones', () => {
    const listed = [out('a'), out('b', { size: 60 * MB }), out('c', { downloadable: false }), ...Array.from({ length: 11 }, (_, i) => out(`n${i}`))];
    const plan = planOutputs(listed, { a: { name: 'a.txt', state: 'shared' } });
    expect(plan.attach.map((f) => f.id)).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
    expect(plan.skip.map((s) => [s.file.id, skipWords(s.reason)])).toEqual([
      ['b', 'over the 50 MB limit'],
      ['c', 'not downloadable'],
      ['n10', 'over 10 files per turn'],
    ]);
  });
  it('a reserved or skipped file is known too: never planned again', () => {
    const plan = planOutputs([out('a'), out('b')], {
      a: { name: 'a.txt', state: 'reserved', slackFileId: 'F1' },
      b: { name: 'b.txt', state: 'skipped' },
    });
    expect(plan).toEqual({ attach: [], skip: [] });
  });
  it('says what was produced, escaping names', () => {
    expect(
      outputComment(
        [out('a', { filename: '<b>.txt', size: 2048 })],
        [{ file: out('z', { size: 60 * MB }), reason: { kind: 'too_large', limitBytes: 50 * MB } }],
      ),
    ).toBe(':package: The agent produced 2 files:\n• `&lt;b&gt;.txt` (2.0 KB)\n• `z.txt` (60 MB), not attached: over the 50 MB limit');
    expect(outputComment([out('a')], [])).toBe(':package: The agent produced a file:\n• `a.txt` (5 B)');
  });
});
