import { App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import type { RetryOptions, WebClientOptions } from '@slack/web-api';
import type { Logger } from '../ops/logger.js';
import { SLACK_EVENTS_PATH } from '../ops/http-server.js';
import { boltLogger } from './bolt-logger.js';
import { ackEventsAfterListeners } from './event-ack.js';

/**
 * web-api's retryPolicies.tenRetriesInAboutThirtyMinutes, spelled out: Node's ESM loader
 * does not see `retryPolicies` as a named export of the CommonJS package.
 */
const CONNECT_RETRIES: RetryOptions = { retries: 10, factor: 1.96821, randomize: true };

export type BoltAppOptions = {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  botId: string;
  botUserId: string;
  clientOptions: WebClientOptions;
  log: Logger;
};

export type BoltApp = {
  app: App;
  /** HTTP mode: the listener our own server hands Slack's requests to. */
  httpListener?: HTTPReceiver['requestListener'];
  mode: 'http' | 'socket';
  /** Socket Mode: the client that receives envelopes (guarded by InboundEdge before start). */
  socketClient?: SocketModeReceiver['client'];
  /** Socket Mode: resolves once the connection is closed. HTTP mode: nothing to stop. */
  stop(): Promise<void>;
};

/**
 * Bolt in either mode. botId/botUserId come from our own auth.test, so Bolt makes no
 * call while it is constructed. In HTTP mode Bolt's receiver never listens itself:
 * our server reads and checks each body first (see ops/http-server.ts).
 */
export function createBoltApp(o: BoltAppOptions): BoltApp {
  const logger = boltLogger(o.log);
  const common = {
    token: o.botToken,
    botId: o.botId,
    botUserId: o.botUserId,
    clientOptions: o.clientOptions,
    logger,
    // routeMessage filters the bot's own posts itself; Bolt's filter would also hide
    // them from the middleware that tracks in-flight work (see registerHandlers).
    ignoreSelf: false,
  };
  if (o.appToken) {
    const receiver = new SocketModeReceiver({
      appToken: o.appToken,
      logger,
      // The client (re)connects with apps.connections.open through these options, and it
      // gives up for good on an HTTP or request error. With our retries: 0, one 5xx or
      // reset during a reconnect (Slack asks for one every few hours) left the bot deaf.
      installerOptions: { clientOptions: { ...o.clientOptions, retryConfig: CONNECT_RETRIES } },
      // A listener that throws before its ack (InboundEdge lets only readable envelopes
      // through, so this is a bug of ours): ack anyway, or Slack redelivers it to fail again.
      processEventErrorHandler: async ({ error, event }) => {
        o.log.error({ err: error, type: typeof event.body?.type === 'string' ? event.body.type : undefined }, 'slack listener threw before its ack');
        return true;
      },
    });
    const app = new App({ ...common, receiver });
    ackEventsAfterListeners(app, o.log);
    // receiver.stop() resolves before the close handshake; the client's disconnect() after it.
    return { app, mode: 'socket', socketClient: receiver.client, stop: () => receiver.client.disconnect() };
  }
  if (!o.signingSecret) throw new Error('SLACK_SIGNING_SECRET is required in HTTP mode');
  const receiver = new HTTPReceiver({
    signingSecret: o.signingSecret,
    endpoints: SLACK_EVENTS_PATH,
    // A long-running bot acks first and works after; holding the response breaks Slack's 3 s window.
    processBeforeResponse: false,
    logger,
    // Bolt's defaults answer 500 when a listener throws before its ack, and 404 when nothing
    // acks within 3 s. Slack retries both and disables the app's events after too many
    // failures. InboundEdge passes on only requests a listener handles, so these are bugs
    // of ours: log them, and answer 200 so Slack does not deliver the same failure again.
    processEventErrorHandler: async ({ error, response }) => {
      o.log.error({ err: error }, 'slack listener threw before its ack');
      if (!response.headersSent) {
        response.writeHead(200);
        response.end();
      }
      return true;
    },
    unhandledRequestHandler: ({ response }) => {
      o.log.error('no listener acknowledged a Slack request within 3 s');
      if (!response.headersSent) {
        response.writeHead(200);
        response.end();
      }
    },
  });
  const app = new App({ ...common, receiver });
  ackEventsAfterListeners(app, o.log);
  return { app, httpListener: receiver.requestListener, mode: 'http', stop: async () => undefined };
}
