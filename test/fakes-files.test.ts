import Anthropic, { BadRequestError, NotFoundError, toFile } from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeManagedAgents, type FakeManagedAgents } from './fakes/managed-agents/index.js';

let fake: FakeManagedAgents;
let client: Anthropic;

beforeEach(async () => {
  fake = await startFakeManagedAgents();
  client = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
});
afterEach(async () => {
  await fake.close();
});

async function newSession(): Promise<string> {
  const agent = await client.beta.agents.create({ name: 'a', model: 'claude-opus-5-5' });
  const env = await client.beta.environments.create({ name: 'default' });
  return (await client.beta.sessions.create({ agent: agent.id, environment_id: env.id })).id;
}

describe('fake Files API via the real SDK', () => {
  it('uploads multipart without a beta header, and serves metadata, lists and deletes', async () => {
    const meta = await client.beta.files.upload({
      file: await toFile(Buffer.from('hello'), 'a.txt', { type: 'text/plain' }),
      expires_in_seconds: 3600,
    });
    expect(meta).toMatchObject({
      id: expect.stringMatching(/^file_/),
      type: 'file',
      filename: 'a.txt',
      mime_type: 'text/plain',
      size_bytes: 5,
      downloadable: false,
    });
    expect(meta.expires_at).toBeTruthy();
    const upload = fake.requests.find((r) => r.method === 'POST' && r.path === '/v1/files');
    expect(upload).toBeDefined();
    expect(fake.fileBytes(meta.id)?.toString()).toBe('hello');
    expect(await client.beta.files.retrieveMetadata(meta.id)).toMatchObject({ id: meta.id });
    const listed = [];
    for await (const f of client.beta.files.list({ limit: 1 })) listed.push(f.id);
    expect(listed).toEqual([meta.id]);
    // Uploaded files cannot be downloaded again.
    await expect(client.beta.files.download(meta.id)).rejects.toBeInstanceOf(BadRequestError);
    expect(await client.beta.files.delete(meta.id)).toMatchObject({ id: meta.id, type: 'file_deleted' });
    await expect(client.beta.files.retrieveMetadata(meta.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rejects an expiry outside 1 h – 90 d', async () => {
    await expect(client.beta.files.upload({ file: await toFile(Buffer.from('x'), 'a.txt'), expires_in_seconds: 10 })).rejects.toBeInstanceOf(
      BadRequestError,
    );
  });

  it('lists what a session wrote by scope_id (with the managed-agents beta), downloads it raw, pages with ids[]', async () => {
    const sid = await newSession();
    fake.onTurn = async (turn) => {
      await turn.writeOutput('out.bin', Buffer.from([0, 1, 2, 255]), { mimeType: 'application/octet-stream' });
      await turn.message('wrote');
    };
    await client.beta.sessions.events.send(sid, { events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
    await fake.waitFor(() => fake.sessions.get(sid)?.status === 'idle' && fake.events(sid).some((e) => e.type === 'session.status_idle'));
    await expect(client.beta.files.list({ scope_id: sid })).rejects.toBeInstanceOf(BadRequestError);
    const outputs = (await client.beta.files.list({ scope_id: sid, betas: ['managed-agents-2026-04-01'] })).data;
    expect(outputs).toEqual([expect.objectContaining({ filename: 'out.bin', downloadable: true, scope: { type: 'session', id: sid } })]);
    const res = await client.beta.files.download(outputs[0]!.id);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
    const byIds = await client.beta.files.list({ ids: [outputs[0]!.id] });
    expect(byIds.data.map((f) => f.id)).toEqual([outputs[0]!.id]);
  });
});

describe('fake session resources and file blocks', () => {
  it('adds, lists, retrieves and deletes file resources; the mount is a copy with its own id', async () => {
    const sid = await newSession();
    const up = await client.beta.files.upload({ file: await toFile(Buffer.from('a,b'), 'd.csv', { type: 'text/csv' }) });
    const added = await client.beta.sessions.resources.add(sid, { type: 'file', file_id: up.id, mount_path: 'data/d.csv' });
    expect(added).toMatchObject({ type: 'file', mount_path: '/mnt/session/uploads/data/d.csv' });
    expect(added.file_id).not.toBe(up.id);
    const listed = [];
    for await (const r of client.beta.sessions.resources.list(sid)) listed.push('id' in r ? r.id : r.type);
    expect(listed).toEqual([added.id]);
    expect(await client.beta.sessions.resources.retrieve(added.id, { session_id: sid })).toMatchObject({ id: added.id });
    await expect(client.beta.sessions.resources.add(sid, { type: 'file', file_id: up.id, mount_path: 'data/d.csv' })).rejects.toBeInstanceOf(
      BadRequestError,
    );
    await expect(client.beta.sessions.resources.add(sid, { type: 'file', file_id: 'file_nope' })).rejects.toBeInstanceOf(BadRequestError);
    expect(await client.beta.sessions.resources.delete(added.id, { session_id: sid })).toMatchObject({
      id: added.id,
      type: 'session_resource_deleted',
    });
  });

  it('accepts image/document blocks with known files of a fitting type; an unknown file id is a 400 with the usual error body', async () => {
    const sid = await newSession();
    const seen: unknown[][] = [];
    fake.onTurn = async (turn) => {
      seen.push(turn.content);
      await turn.message('ok');
    };
    const png = await client.beta.files.upload({ file: await toFile(Buffer.from('png'), 'a.png', { type: 'image/png' }) });
    const content = [
      { type: 'text' as const, text: 'see' },
      { type: 'image' as const, source: { type: 'file' as const, file_id: png.id } },
    ];
    await client.beta.sessions.events.send(sid, { events: [{ type: 'user.message', content }] });
    await fake.waitFor(() => seen.length === 1);
    expect(seen[0]).toEqual(content);

    const err = await client.beta.sessions.events
      .send(sid, { events: [{ type: 'user.message', content: [{ type: 'document', source: { type: 'file', file_id: 'file_missing' } }] }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('file not found: file_missing') },
    });
    // A PNG is not a document.
    await expect(
      client.beta.sessions.events.send(sid, {
        events: [{ type: 'user.message', content: [{ type: 'document', source: { type: 'file', file_id: png.id } }] }],
      }),
    ).rejects.toBeInstanceOf(BadRequestError);
  });
});
