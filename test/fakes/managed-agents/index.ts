/**
 * In-process fake of the Claude Managed Agents API (agents, environments, sessions, events + SSE),
 * faithful enough that the real `@anthropic-ai/sdk` 1.13 client works against it unchanged:
 *
 *   const fake = await startFakeManagedAgents();
 *   const client = new Anthropic({ apiKey: 'test-key', baseURL: fake.url, maxRetries: 0 });
 *
 * Behaviour follows the Managed Agents API documentation and the SDK's types; choices they leave
 * open are marked [Inf] where they are made.
 */
export { startFakeManagedAgents, type FakeOptions } from './server.js';
export { defaultScript } from './script.js';
export { PING_INTERVAL_MS } from './sse.js';
export type {
  AgentObj,
  EnvObj,
  Event,
  Failure,
  FailureMatch,
  FakeManagedAgents,
  FileObj,
  RecordedRequest,
  SessionObj,
  SessionStatus,
  Turn,
  TurnScript,
} from './types.js';
