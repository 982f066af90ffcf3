import { escapeMrkdwn } from './sanitize.js';

/**
 * Slack's Block Kit and message limits, in one place, named after the Block Kit and
 * chat.* fields they limit. Lengths are JavaScript string lengths (UTF-16 code units): an
 * astral-plane emoji counts 2, which is never less than what Slack counts, so a text
 * that fits here fits there. Escaped mrkdwn counts as sent: `&amp;` is 5.
 */
export const SLACK_LIMITS = {
  /** chat.postMessage `text`: Slack truncates past 40,000 (the fallback and notification text). */
  messageText: 40_000,
  /** The `markdown_text` argument of the chat methods. */
  markdownText: 12_000,
  /** Blocks in one message (modals and the Home tab: 100). */
  blocksPerMessage: 50,
  blocksPerView: 100,
  /** All `markdown` blocks of one message together. */
  markdownBlocksTotal: 12_000,
  /**
   * Text across all blocks of one message: undocumented. Slack answers
   * `msg_blocks_too_long` from about 12,000 characters of text with every per-block limit
   * respected (the text, with some room for the blocks that contain it).
   */
  blocksTextTotal: 12_000,
  /** Any text composition object (section text, context element). */
  textObject: 3000,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  contextElements: 10,
  contextElementText: 3000,
  actionsElements: 25,
  /** A `context_actions` block: feedback buttons and icon buttons. */
  contextActionsElements: 5,
  headerText: 150,
  blockId: 255,
  actionId: 255,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  buttonAccessibilityLabel: 75,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /** Modal view fields. */
  viewTitle: 24,
  viewSubmit: 24,
  viewClose: 24,
  viewPrivateMetadata: 3000,
  viewCallbackId: 255,
  inputLabel: 2000,
  inputHint: 2000,
  placeholder: 150,
  plainTextInputMaxLength: 3000,
} as const;

/**
 * What the bot's own cards allow themselves: under Slack's limits with room to spare,
 * so a message stays readable and clear of the undocumented total above.
 */
export const CARD_BUDGET = {
  /** Text across all blocks of one card the bot renders. */
  blocksText: 8000,
  /** The `text` fallback of a message with blocks (Slack advises a short one). */
  fallbackText: 3000,
  /** A plain message or notice with no blocks. */
  plainText: 4000,
} as const;

const ELLIPSIS = '…';

/**
 * The longest head of already-escaped mrkdwn within `max`, marked with `…` when cut.
 * Never splits an entity (`&amp;`), a surrogate pair (an emoji), or a `<…>` token
 * (a mention, date or link the bot wrote itself).
 */
export function cutEscaped(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= ELLIPSIS.length) return max <= 0 ? '' : ELLIPSIS.slice(0, max);
  let end = max - ELLIPSIS.length;
  end = safeEnd(text, end);
  return text.slice(0, end) + ELLIPSIS;
}

/** Plain text (no entities): cut within `max`, never inside a surrogate pair, marked `…`. */
export function cutPlain(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= ELLIPSIS.length) return max <= 0 ? '' : ELLIPSIS.slice(0, max);
  return text.slice(0, surrogateSafe(text, max - ELLIPSIS.length)) + ELLIPSIS;
}

/** Raw text escaped for mrkdwn and then cut to `max` (the order that keeps the limit). */
export function fitMrkdwn(raw: string, max: number): string {
  return cutEscaped(escapeMrkdwn(raw), max);
}

/** A cut position at or before `end` that leaves no half entity, half pair or open `<…>`. */
function safeEnd(text: string, end: number): number {
  let at = surrogateSafe(text, end);
  const head = text.slice(0, at);
  const amp = head.lastIndexOf('&');
  // An entity is at most `&quot;` long: a `&` within the last few chars without its `;` is cut.
  if (amp >= 0 && amp >= at - 6 && !head.slice(amp).includes(';')) at = amp;
  const open = head.slice(0, at).lastIndexOf('<');
  if (open >= 0 && open > head.slice(0, at).lastIndexOf('>')) at = open;
  return surrogateSafe(text, at);
}

function surrogateSafe(text: string, end: number): number {
  if (end <= 0) return 0;
  const code = text.charCodeAt(end - 1);
  return code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
}

/**
 * Splits already-escaped mrkdwn into pieces of at most `max` each, at line breaks where
 * it can, never inside an entity, pair or `<…>` token; at most `pieces` pieces, the
 * last marked `…` when text was left out.
 */
export function splitEscaped(text: string, max: number, pieces: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > 0 && out.length < pieces) {
    if (rest.length <= max) {
      out.push(rest);
      rest = '';
      break;
    }
    if (out.length === pieces - 1) {
      out.push(cutEscaped(rest, max));
      rest = '';
      break;
    }
    let end = safeEnd(rest, max);
    const line = rest.lastIndexOf('\n', end - 1);
    if (line > max / 2) end = line + 1;
    if (end <= 0) end = Math.min(rest.length, max);
    out.push(rest.slice(0, end));
    rest = rest.slice(end);
  }
  return out;
}
