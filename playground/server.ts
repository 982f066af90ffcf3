/**
 * The playground's own web server (127.0.0.1 only): the page, its live state as
 * server-sent events, and the person's actions turned into what Slack would deliver to
 * the bot (signed slash commands, events and interactions through the fake's sender).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { appMention, blockAction, humanReply, reactionAdded, topLevelMessage, type FakeSlack, type SlackSender } from '../test/fakes/slack/index.js';
import { pageState, type Ephemeral, type PageState } from './page-state.js';

export type PageServerOptions = {
  slack: FakeSlack;
  sender: SlackSender;
  agent: 'demo' | 'api';
  me: { id: string; name: string };
  channel: { id: string; name: string };
  port: number;
};

export type PageServer = { url: string; close(): Promise<void> };

const MAX_BODY_BYTES = 12 * 1024 * 1024;
const MAX_FILE_BYTES = 8 * 1024 * 1024;

const SendBody = z.object({
  text: z.string().max(40_000),
  threadTs: z
    .string()
    .regex(/^\d+\.\d+$/)
    .optional(),
  files: z
    .array(z.object({ name: z.string().min(1).max(255), type: z.string().max(255), data: z.string() }))
    .max(10)
    .default([]),
});
const ActionBody = z.object({
  ts: z.string().regex(/^\d+\.\d+$/),
  actionId: z.string().min(1).max(255),
  blockId: z.string().max(255),
  value: z.string().max(2000),
});
const ReactionBody = z.object({ ts: z.string().regex(/^\d+\.\d+$/), name: z.string().regex(/^[a-z0-9_+-]+$/) });
const ThreadBody = z.object({ threadTs: z.string().regex(/^\d+\.\d+$/) });
const ViewBody = z.object({
  viewId: z.string().min(1),
  cancel: z.boolean().default(false),
  values: z.record(z.string(), z.record(z.string(), z.string())).default({}),
});

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};
// Scripts only from the page's own origin: the agent's words are rendered into it.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; connect-src 'self'; frame-ancestors 'none'";

export async function startPageServer(o: PageServerOptions): Promise<PageServer> {
  const publicDir = findPublicDir();
  const ephemerals: Ephemeral[] = [];
  const closedViews = new Set<string>();
  const sharedByPeople = new Map<string, { name: string; type: string; bytes: Buffer }>();
  const seen = { responseUrlPosts: 0, ephemeralCalls: 0 };
  const streams = new Set<ServerResponse>();
  let lastSent = '';
  let pending: NodeJS.Timeout | undefined;

  const fileHref = (id: string) => (o.slack.uploads.has(id) || sharedByPeople.has(id) ? `/files/${encodeURIComponent(id)}` : undefined);
  const state = (): PageState => {
    collectEphemerals();
    return pageState({ slack: o.slack, agent: o.agent, me: o.me, channel: o.channel, ephemerals, closedViews, fileHref });
  };

  /** Messages for the reader alone reach Slack two ways besides a command's answer: response_url posts and chat.postEphemeral. */
  function collectEphemerals(): void {
    for (const post of o.slack.responseUrlPosts.slice(seen.responseUrlPosts)) {
      const body = (post.body ?? {}) as { text?: unknown; blocks?: unknown; thread_ts?: unknown };
      ephemerals.push(ephemeral(body));
    }
    seen.responseUrlPosts = o.slack.responseUrlPosts.length;
    const calls = o.slack.callsTo('chat.postEphemeral');
    for (const call of calls.slice(seen.ephemeralCalls)) {
      if (call.response.ok === true && call.args.user === o.me.id && call.args.channel === o.channel.id) ephemerals.push(ephemeral(call.args));
    }
    seen.ephemeralCalls = calls.length;
  }
  const ephemeral = (body: { text?: unknown; blocks?: unknown; thread_ts?: unknown }): Ephemeral => ({
    ts: o.slack.nextTs(),
    ...(typeof body.thread_ts === 'string' ? { threadTs: body.thread_ts } : {}),
    ...(typeof body.text === 'string' ? { text: body.text } : {}),
    ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
  });

  const push = () => {
    pending = undefined;
    const json = JSON.stringify(state());
    if (json === lastSent) return;
    lastSent = json;
    for (const res of streams) res.write(`data: ${json}\n\n`);
  };
  // Streams append many times a second: one push per burst of changes is enough for the eye.
  const schedule = () => {
    pending ??= setTimeout(push, 25);
  };
  const unsubscribe = o.slack.onChange(schedule);

  const sendAsPerson = async (body: z.infer<typeof SendBody>): Promise<Record<string, unknown>> => {
    const text = body.text.trim();
    const command = text.match(/^\/agent(?:\s+([\s\S]*))?$/);
    if (command && !body.threadTs) {
      const res = await o.sender.command({ text: command[1] ?? '', user: o.me.id, channel: o.channel.id });
      const answer = res.json as { text?: unknown; blocks?: unknown } | undefined;
      if (answer && (typeof answer.text === 'string' || Array.isArray(answer.blocks))) ephemerals.push(ephemeral(answer));
      schedule();
      return { kind: 'command', status: res.status };
    }
    const files = body.files.map((f) => {
      const bytes = Buffer.from(f.data, 'base64');
      if (bytes.length > MAX_FILE_BYTES) throw new BadRequest(`${f.name} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB`);
      const file = o.slack.addFile({ name: f.name, content: bytes, mimetype: f.type || 'application/octet-stream', user: o.me.id });
      sharedByPeople.set(String(file.id), { name: f.name, type: f.type, bytes });
      return file;
    });
    if (text === '' && files.length === 0) throw new BadRequest('nothing to send');
    // `@agent` as people type it is `<@BOT>` in what Slack delivers.
    const words = text.replace(/(^|\s)@agent\b/g, `$1<@${o.slack.botUserId}>`);
    const address = { channel: o.channel.id, user: o.me.id, text: words, ...(files.length ? { files } : {}) };
    const event = body.threadTs ? humanReply({ ...address, thread_ts: body.threadTs }) : topLevelMessage(address);
    await o.sender.event(event);
    // A mention arrives twice, as `message` and as `app_mention`, with the same ts.
    if (words.includes(`<@${o.slack.botUserId}>`)) {
      await o.sender.event(appMention({ ...address, ts: String(event.ts), ...(body.threadTs ? { thread_ts: body.threadTs } : {}) }));
    }
    return { kind: 'message', ts: event.ts };
  };

  const routes: Record<string, (body: unknown) => Promise<Record<string, unknown>>> = {
    '/api/send': (raw) => sendAsPerson(parse(SendBody, raw)),
    '/api/action': async (raw) => {
      const a = parse(ActionBody, raw);
      const message = o.slack.messages(o.channel.id).find((m) => m.ts === a.ts);
      if (!message) throw new BadRequest('no such message');
      const res = await o.sender.action(
        blockAction({
          user: o.me.id,
          channel: o.channel.id,
          messageTs: a.ts,
          ...(message.thread_ts ? { threadTs: message.thread_ts } : {}),
          actionId: a.actionId,
          value: a.value,
          ...(a.blockId ? { blockId: a.blockId } : {}),
        }),
      );
      return { status: res.status };
    },
    '/api/reaction': async (raw) => {
      const r = parse(ReactionBody, raw);
      const message = o.slack.messages(o.channel.id).find((m) => m.ts === r.ts);
      if (!message) throw new BadRequest('no such message');
      // Slack has the reaction before it tells the app.
      o.slack.addReaction(o.channel.id, r.ts, r.name, o.me.id);
      const res = await o.sender.event(reactionAdded({ user: o.me.id, reaction: r.name, channel: o.channel.id, ts: r.ts, item_user: message.user }));
      return { status: res.status };
    },
    // Slack's own Stop on an agent session that is processing: Slack sends agent_session_stopped.
    '/api/native-stop': async (raw) => {
      const t = parse(ThreadBody, raw);
      if (o.slack.agentSession(o.channel.id, t.threadTs)?.status !== 'processing') throw new BadRequest('the session is not processing');
      const res = await o.sender.event(o.slack.agentSessionStopped(o.channel.id, t.threadTs, o.me.id));
      return { status: res.status };
    },
    '/api/view': async (raw) => {
      const v = parse(ViewBody, raw);
      if (v.cancel) {
        closedViews.add(v.viewId);
        schedule();
        return { closed: true };
      }
      const res = await o.sender.submitView(v.viewId, v.values, o.me.id);
      const answer = res.json as { response_action?: unknown; errors?: unknown } | undefined;
      if (answer?.response_action === 'errors') return { closed: false, errors: answer.errors };
      closedViews.add(v.viewId);
      schedule();
      return { closed: true, status: res.status };
    },
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof BadRequest ? 400 : 500;
      if (!res.headersSent) json(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/events') return openStream(res);
    if (req.method === 'GET' && url.pathname === '/state') return json(res, 200, state());
    const file = url.pathname.match(/^\/files\/([A-Za-z0-9_-]+)$/)?.[1];
    if (req.method === 'GET' && file) return serveFile(file, res);
    const page = STATIC[url.pathname];
    if (req.method === 'GET' && page) {
      res.writeHead(200, {
        'content-type': page.type,
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      });
      res.end(readFileSync(join(publicDir, page.file)));
      return;
    }
    const route = routes[url.pathname];
    if (req.method === 'POST' && route) {
      // Only the page itself may act: a form on another site cannot post JSON here.
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return json(res, 415, { error: 'expected application/json' });
      const body = await readJson(req);
      return json(res, 200, await route(body));
    }
    json(res, 404, { error: 'not found' });
  }

  function openStream(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    streams.add(res);
    res.on('close', () => streams.delete(res));
    res.write(`data: ${JSON.stringify(state())}\n\n`);
  }

  /** Shared files are served as downloads, never rendered in the page's origin. */
  function serveFile(id: string, res: ServerResponse): void {
    const upload = o.slack.uploads.get(id);
    const mine = sharedByPeople.get(id);
    const bytes = upload?.content ?? mine?.bytes;
    const name = upload?.filename ?? mine?.name ?? id;
    if (!bytes) {
      json(res, 404, { error: 'no such file' });
      return;
    }
    const textual = /\.(md|txt|json|csv|log|ts|js|py|ya?ml)$/i.test(name);
    res.writeHead(200, {
      'content-type': textual ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      'content-disposition': `${textual ? 'inline' : 'attachment'}; filename="${name.replace(/[^\w.-]/g, '_')}"`,
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
    });
    res.end(bytes);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async close() {
      unsubscribe();
      if (pending) clearTimeout(pending);
      for (const res of streams) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

class BadRequest extends Error {}

function parse<T>(schema: z.ZodType<T>, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new BadRequest(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return parsed.data;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest('request too large');
    parts.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    throw new BadRequest('invalid JSON');
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** playground/public beside this file, run from source (vitest) or built (.playground/playground/). */
function findPublicDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, 'public'), join(here, '..', '..', 'playground', 'public')]) if (existsSync(join(dir, 'index.html'))) return dir;
  throw new Error(`playground/public not found beside ${here}`);
}
