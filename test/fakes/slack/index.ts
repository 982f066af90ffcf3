export { startFakeSlack } from './web-api.js';
export { SlackSender, SocketSender, sign, type CommandArgs, type SignedResponse, type RawOptions } from './sender.js';
export * as payloads from './payloads.js';
export {
  appHomeOpened,
  appMention,
  assistantThreadStarted,
  feedbackClick,
  blockAction,
  botEcho,
  channelType,
  dmMessage,
  humanReply,
  messageChanged,
  messageDeleted,
  reactionAdded,
  topLevelMessage,
} from './payloads.js';
export { DEFAULT_RATE_LIMITS } from './rate-limit.js';
export { nextTs } from './clock.js';
export type {
  ApiCall,
  FakeAgentSession,
  FakeAssistantThread,
  FakeHomeView,
  EnvelopeType,
  Failure,
  FakeSlack,
  FakeSlackOptions,
  FakeSocket,
  FakeDownload,
  FakeHostedFile,
  FakeUpload,
  FakeUser,
  MessageMetadata,
  RateLimit,
  SocketAck,
  SocketEnvelope,
  SocketSendOptions,
  StoredMessage,
} from './types.js';
