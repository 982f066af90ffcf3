import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { isValidSlackRequest } from '@slack/bolt';
import type { SlackWriter } from '../delivery/slack-writer.js';
import type { Logger } from '../ops/logger.js';
import { readInbound, type InboundVerdict, type Listened, type PrivateAnswer } from './inbound.js';
import { noticeModal } from '../render/dialogs.js';

/** What our HTTP server does with one request to Slack's endpoint. */
export type GateDecision = { kind: 'forward' } | { kind: 'reply'; status: number; body?: Record<string, unknown> };

/** The origins Slack's response_url points at (a Slack stand-in adds its own, see bot.ts). */
export const SLACK_RESPONSE_ORIGINS = ['https://hooks.slack.com', 'https://hooks.slack-gov.com'];

// Ids and triggers from a payload we could not read are only used when they look like Slack's.
const SLACK_ID = /^[A-Z0-9]{2,40}$/;
const TRIGGER_ID = /^[\w.-]{1,200}$/;
const TELL_TIMEOUT_MS = 10_000;

export type EdgeDeps = {
  listened: Listened;
  writer: SlackWriter;
  log: Logger;
  /** Background work (telling a person); shutdown and tests wait for it. */
  track: (work: Promise<unknown>) => void;
  /** HTTP mode only. */
  signingSecret?: string;
  responseOrigins: readonly string[];
};

/** The part of Socket Mode's client the guard needs (@slack/socket-mode's SocketModeClient). */
export type SocketClientLike = {
  listeners(event: 'ws_message'): Array<(...args: never) => unknown>;
  removeAllListeners(event: 'ws_message'): unknown;
  on(event: 'ws_message', listener: (data: unknown, isBinary: boolean) => void): unknown;
};

/**
 * The client's own `send(envelopeId, payload)`, which its acks use. It is `private` in the
 * .d.ts but the only way to ack an envelope without handing it to the client; the Socket
 * Mode fuzz test fails if it goes away.
 */
type Acker = { send(envelopeId: string, body?: Record<string, unknown>): Promise<void> };

const SOCKET_PAYLOAD_TYPES = new Set(['events_api', 'slash_commands', 'interactive']);

/**
 * In front of Bolt, in both modes: every inbound request is read here (readInbound) and
 * only what our listeners handle reaches Bolt. The rest is acknowledged (Slack retries a
 * 5xx or a missing ack, and turns an app's events off when too many fail), logged with
 * its kind, and the person waiting on it, if any, is told privately.
 */
export class InboundEdge {
  constructor(private readonly deps: EdgeDeps) {}

  /** HTTP mode: the signature first (nothing unsigned gets an answer of ours), then the body. */
  http(raw: Buffer, headers: IncomingHttpHeaders): GateDecision {
    const { log } = this.deps;
    if (!this.signedBySlack(raw, headers)) {
      log.warn({ path: '/slack/events' }, 'rejected an inbound request without a valid Slack signature');
      return { kind: 'reply', status: 401 };
    }
    const body = parseBody(raw, headers['content-type']);
    if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) {
      // Bolt 5.1 reads `body.ssl_check` outside any try: a signed JSON `null` would kill the process.
      log.warn(
        { path: '/slack/events', problem: body === undefined ? 'unparsable body' : 'body is not a JSON object' },
        'rejected inbound body before Bolt',
      );
      return { kind: 'reply', status: 400, body: { ok: false, error: 'invalid_body' } };
    }
    const verdict = readInbound(body, this.deps.listened);
    if (verdict.kind === 'dispatch') return { kind: 'forward' };
    this.acknowledged(verdict);
    return { kind: 'reply', status: 200, ...(verdict.ack ? { body: verdict.ack } : {}) };
  }

  /**
   * Socket Mode: the client emits every envelope's inner event type on itself (an event
   * typed `error` or `ws_message` lands on its own listeners) and reads `payload.event.type`
   * unchecked, in an async listener whose throw is an unhandled rejection. So its one
   * `ws_message` listener runs only for envelopes Bolt can take; the rest are acked here.
   */
  guardSocket(client: SocketClientLike): void {
    const original = client.listeners('ws_message');
    client.removeAllListeners('ws_message');
    const pass = (data: unknown, isBinary: boolean) => {
      for (const listener of original) {
        Promise.resolve()
          .then(() => Reflect.apply(listener, client, [data, isBinary]))
          .catch((error: unknown) => this.deps.log.error({ err: error }, 'socket mode client failed on a message'));
      }
    };
    client.on('ws_message', (data, isBinary) => {
      const message = isBinary ? undefined : parseJson(frameText(data));
      // Binary and unparsable frames: the client ignores those itself.
      if (message === undefined) return pass(data, isBinary);
      if (typeof message !== 'object' || message === null || Array.isArray(message)) {
        return void this.acknowledged({ kind: 'acknowledge', what: 'socket:unknown', problem: 'frame is not a JSON object' });
      }
      const frame = message as Record<string, unknown>;
      if (frame.type === 'hello' || frame.type === 'disconnect') return pass(data, isBinary);
      const type = typeof frame.type === 'string' ? frame.type : undefined;
      const verdict: InboundVerdict =
        type && SOCKET_PAYLOAD_TYPES.has(type)
          ? readInbound(frame.payload, this.deps.listened)
          : { kind: 'acknowledge', what: `socket:${type?.slice(0, 60) ?? typeof frame.type}`, problem: 'not an envelope type this bot knows' };
      if (verdict.kind === 'dispatch') return pass(data, isBinary);
      const envelopeId = typeof frame.envelope_id === 'string' ? frame.envelope_id : undefined;
      if (envelopeId) {
        (client as unknown as Acker)
          .send(envelopeId, verdict.ack ?? {})
          .catch((error: unknown) => this.deps.log.warn({ err: error }, 'could not ack a socket mode envelope'));
      }
      this.acknowledged(verdict);
    });
  }

  private acknowledged(verdict: Extract<InboundVerdict, { kind: 'acknowledge' }>): void {
    const line = { kind: verdict.what, problem: verdict.problem.slice(0, 500) };
    if (verdict.notable) this.deps.log.warn(line, 'inbound request acknowledged and not handled');
    else this.deps.log.debug(line, 'inbound request acknowledged and not handled');
    if (verdict.tell) this.deps.track(this.tell(verdict.tell));
  }

  private async tell(answer: PrivateAnswer): Promise<void> {
    const { log, writer } = this.deps;
    try {
      if (answer.via === 'response_url') {
        if (!this.isResponseUrl(answer.url)) return void log.debug({ url: answer.url.slice(0, 100) }, 'not telling: response_url is not Slack’s');
        const res = await fetch(answer.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text: answer.text }),
          signal: AbortSignal.timeout(TELL_TIMEOUT_MS),
        });
        if (!res.ok) log.warn({ status: res.status }, 'response_url refused a reply');
        await res.body?.cancel();
      } else if (answer.via === 'ephemeral') {
        if (!SLACK_ID.test(answer.channel) || !SLACK_ID.test(answer.user)) return;
        await writer.call('chat.postEphemeral', { channel: answer.channel, user: answer.user, text: answer.text });
      } else {
        if (!TRIGGER_ID.test(answer.triggerId)) return;
        await writer.call('views.open', { trigger_id: answer.triggerId, view: noticeModal(answer.text) });
      }
    } catch (error) {
      log.warn({ err: error, via: answer.via }, 'could not tell a person why their request did nothing');
    }
  }

  private isResponseUrl(url: string): boolean {
    try {
      return this.deps.responseOrigins.includes(new URL(url).origin);
    } catch {
      return false;
    }
  }

  private signedBySlack(raw: Buffer, headers: IncomingHttpHeaders): boolean {
    const signature = headers['x-slack-signature'];
    const timestamp = Number(headers['x-slack-request-timestamp']);
    if (!this.deps.signingSecret || typeof signature !== 'string' || !Number.isFinite(timestamp)) return false;
    return isValidSlackRequest({
      signingSecret: this.deps.signingSecret,
      body: raw.toString('utf8'),
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
    });
  }
}

/** As Bolt parses it: a form (its `payload` field as JSON, if any), else JSON. undefined: unparsable. */
function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  const text = raw.toString('utf8');
  // Bolt compares the content type literally; so do we, or the two would disagree about a body.
  if (contentType === 'application/x-www-form-urlencoded') {
    const form = parseQuery(text);
    return typeof form.payload === 'string' ? parseJson(form.payload) : form;
  }
  return parseJson(text);
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function frameText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  try {
    return new TextDecoder().decode(data as ArrayBuffer);
  } catch {
    return undefined;
  }
}
