import type { AgentsClient } from '../../agents/client.js';

/** One event a person's side sends: a message, an interrupt, a tool result or confirmation. */
export type UserEvent = Parameters<AgentsClient['beta']['sessions']['events']['send']>[1]['events'][number];

/** What the runner's parts read back from the history: the type, the id and the fields they match on. */
export type WireEvent = {
  id: string;
  type: string;
  content?: ReadonlyArray<{ type: string; text?: unknown }>;
  custom_tool_use_id?: string;
  tool_use_id?: string;
};

/**
 * The writes and look-ups the runner's parts make on one session, and nothing else.
 * Sends and quick look-ups go out once (no SDK retry: after an unknown outcome the
 * caller looks, and only then tries again).
 */
export type SessionWire = {
  /** The events, once; the ids the API gave them, in order. */
  send(events: UserEvent[]): Promise<Array<string | undefined>>;
  /** The newest events of one type (one page of 50), for the look-up after a send whose outcome is unknown. */
  recent(type: 'user.message' | 'user.interrupt'): Promise<WireEvent[]>;
  /** Every event of one type in the history, page by page. */
  all(type: 'user.custom_tool_result' | 'user.tool_confirmation'): AsyncIterable<WireEvent>;
};

/** The wire over the SDK client: the only place the runner's parts meet it. */
export function sessionWire(client: AgentsClient, sessionId: string): SessionWire {
  const events = client.beta.sessions.events;
  return {
    async send(sent) {
      const answer = await events.send(sessionId, { events: sent }, { maxRetries: 0 });
      return (answer.data ?? []).map((e) => e?.id);
    },
    async recent(type) {
      const page = await events.list(sessionId, { order: 'desc', limit: 50, types: [type] }, { maxRetries: 0 });
      return page.data as WireEvent[];
    },
    async *all(type) {
      for await (const event of events.list(sessionId, { types: [type], limit: 1000 })) yield event as WireEvent;
    },
  };
}
