import { SLACK_LIMITS as L } from './slack-limits.js';

/**
 * Checks a message (or a modal view) against Slack's documented Block Kit limits and
 * answers as Slack would: the error code and a message with a JSON pointer, in
 * Slack's own wording. Pure; the unit tests use it to check everything the bot
 * renders, and the fake Slack refuses what it refuses.
 */
export type LimitProblem = { error: string; message: string };

export type MessageArgs = {
  text?: unknown;
  blocks?: unknown;
  markdown_text?: unknown;
  attachments?: unknown;
};

type Block = Record<string, unknown>;

/** Block types Slack accepts in messages (2026). Anything else is invalid_blocks. */
const MESSAGE_BLOCKS = new Set([
  'section',
  'context',
  'actions',
  'header',
  'divider',
  'markdown',
  'image',
  'rich_text',
  'file',
  'video',
  'input',
  'context_actions',
  'table',
  'plan',
  'task_card',
  'alert',
  'card',
  'carousel',
  'container',
  'data_table',
]);

class Refusal extends Error {
  constructor(
    readonly error: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** A function declaration (not an arrow) so the type checker narrows after a call to it. */
function refuse(detail: string, error = 'invalid_blocks'): never {
  throw new Refusal(error, detail);
}

/** The first problem Slack would answer for these chat.postMessage / chat.update arguments. */
export function checkMessage(args: MessageArgs, opts: { requireContent?: boolean } = {}): LimitProblem | undefined {
  try {
    const markdown = typeof args.markdown_text === 'string' && args.markdown_text !== '' ? args.markdown_text : undefined;
    if (markdown !== undefined) {
      if (args.text !== undefined || args.blocks !== undefined)
        refuse('[ERROR] markdown_text cannot be used with text or blocks', 'invalid_arguments');
      if (markdown.length > L.markdownText) refuse('[ERROR] markdown_text must be at most 12000 characters', 'msg_too_long');
      return undefined;
    }
    if (typeof args.text === 'string' && args.text.length > L.messageText) refuse('[ERROR] text must be at most 40000 characters', 'msg_too_long');
    if (args.blocks !== undefined) checkBlocks(args.blocks, L.blocksPerMessage);
    const hasText = typeof args.text === 'string' && args.text !== '';
    const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
    const hasAttachments = Array.isArray(args.attachments) && args.attachments.length > 0;
    if ((opts.requireContent ?? true) && !hasText && !hasBlocks && !hasAttachments) refuse('[ERROR] no text', 'no_text');
    return undefined;
  } catch (error) {
    if (error instanceof Refusal) return { error: error.error, message: error.detail };
    throw error;
  }
}

/** The first problem views.open / views.update would answer for this modal. */
export function checkView(view: unknown): LimitProblem | undefined {
  try {
    if (!isObject(view)) return refuse('[ERROR] missing required field: view', 'invalid_arguments');
    if (view.type !== 'modal' && view.type !== 'home') refuse('[ERROR] must be one of modal, home [json-pointer:/view/type]', 'invalid_arguments');
    if (view.type === 'modal') {
      plainText(view.title, L.viewTitle, '/view/title', 'invalid_arguments');
      if (view.submit !== undefined) plainText(view.submit, L.viewSubmit, '/view/submit', 'invalid_arguments');
      if (view.close !== undefined) plainText(view.close, L.viewClose, '/view/close', 'invalid_arguments');
    }
    if (typeof view.private_metadata === 'string' && view.private_metadata.length > L.viewPrivateMetadata) {
      refuse('[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]', 'invalid_arguments');
    }
    if (typeof view.callback_id === 'string' && view.callback_id.length > L.viewCallbackId) {
      refuse('[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]', 'invalid_arguments');
    }
    if (!Array.isArray(view.blocks) || view.blocks.length > L.blocksPerView) {
      refuse('[ERROR] must provide an array of at most 100 blocks [json-pointer:/view/blocks]', 'invalid_arguments');
    }
    try {
      checkBlocks(view.blocks, L.blocksPerView, '/view/blocks');
    } catch (error) {
      // views.* answer every content problem as invalid_arguments.
      if (error instanceof Refusal) refuse(error.detail, 'invalid_arguments');
      throw error;
    }
    return undefined;
  } catch (error) {
    if (error instanceof Refusal) return { error: error.error, message: error.detail };
    throw error;
  }
}

function checkBlocks(blocks: unknown, maxBlocks: number, base = '/blocks'): void {
  if (!Array.isArray(blocks)) refuse('[ERROR] blocks must be a JSON array', 'invalid_blocks_format');
  if (blocks.length > maxBlocks) refuse(`[ERROR] no more than ${maxBlocks} items allowed [json-pointer:${base}]`);
  const blockIds = new Set<string>();
  let markdownChars = 0;
  let textChars = 0;
  for (const [i, b] of (blocks as unknown[]).entries()) {
    const at = `${base}/${i}`;
    if (!isObject(b) || typeof b.type !== 'string') refuse(`[ERROR] missing required field: type [json-pointer:${at}]`);
    if (!MESSAGE_BLOCKS.has(b.type)) refuse(`[ERROR] unsupported type: ${b.type} [json-pointer:${at}/type]`);
    const id = b.block_id;
    if (id !== undefined) {
      if (typeof id !== 'string' || id === '' || id.length > L.blockId)
        refuse(`[ERROR] must be less than 256 characters [json-pointer:${at}/block_id]`);
      if (blockIds.has(id)) refuse(`[ERROR] duplicate block_id [json-pointer:${at}/block_id]`);
      blockIds.add(id);
    }
    textChars += checkBlock(b, at);
    if (b.type === 'markdown') markdownChars += typeof b.text === 'string' ? b.text.length : 0;
  }
  if (markdownChars > L.markdownBlocksTotal) refuse('[ERROR] markdown blocks exceed 12000 characters');
  if (textChars > L.blocksTextTotal) refuse('[ERROR] blocks too long', 'msg_blocks_too_long');
}

/** Checks one block; returns how much text it carries. */
function checkBlock(b: Block, at: string): number {
  switch (b.type) {
    case 'section': {
      let n = 0;
      if (b.text === undefined && b.fields === undefined) refuse(`[ERROR] must provide either text or fields [json-pointer:${at}]`);
      if (b.text !== undefined) n += textObject(b.text, L.sectionText, `${at}/text`);
      if (b.fields !== undefined) {
        if (!Array.isArray(b.fields) || b.fields.length === 0 || b.fields.length > L.sectionFields)
          refuse(`[ERROR] no more than 10 items allowed [json-pointer:${at}/fields]`);
        for (const [j, f] of (b.fields as unknown[]).entries()) n += textObject(f, L.sectionFieldText, `${at}/fields/${j}`);
      }
      if (b.accessory !== undefined) n += element(b.accessory, `${at}/accessory`);
      return n;
    }
    case 'context': {
      const els = b.elements;
      if (!Array.isArray(els) || els.length === 0) return refuse(`[ERROR] must provide at least 1 item [json-pointer:${at}/elements]`);
      if (els.length > L.contextElements) refuse(`[ERROR] no more than 10 items allowed [json-pointer:${at}/elements]`);
      let n = 0;
      els.forEach((e: unknown, j) => {
        if (isObject(e) && e.type === 'image') return;
        n += textObject(e, L.contextElementText, `${at}/elements/${j}`);
      });
      return n;
    }
    case 'actions': {
      const els = b.elements;
      if (!Array.isArray(els) || els.length === 0) return refuse(`[ERROR] must provide at least 1 item [json-pointer:${at}/elements]`);
      if (els.length > L.actionsElements) refuse(`[ERROR] no more than 25 items allowed [json-pointer:${at}/elements]`);
      const ids = new Set<string>();
      let n = 0;
      els.forEach((e: unknown, j) => {
        n += element(e, `${at}/elements/${j}`);
        const id = isObject(e) ? e.action_id : undefined;
        if (typeof id === 'string') {
          if (ids.has(id)) refuse(`[ERROR] action_id must be unique within the block [json-pointer:${at}/elements/${j}/action_id]`);
          ids.add(id);
        }
      });
      return n;
    }
    case 'context_actions': {
      const els = b.elements;
      if (!Array.isArray(els) || els.length === 0) return refuse(`[ERROR] must provide at least 1 item [json-pointer:${at}/elements]`);
      if (els.length > L.contextActionsElements)
        refuse(`[ERROR] no more than ${L.contextActionsElements} items allowed [json-pointer:${at}/elements]`);
      let n = 0;
      for (const [j, e] of (els as unknown[]).entries()) {
        const where = `${at}/elements/${j}`;
        if (!isObject(e) || (e.type !== 'feedback_buttons' && e.type !== 'icon_button'))
          refuse(`[ERROR] must be one of feedback_buttons, icon_button [json-pointer:${where}/type]`);
        element(e, where);
        if (e.type === 'icon_button') n += plainText(e.text, L.buttonText, `${where}/text`);
        else for (const half of ['positive_button', 'negative_button'] as const) n += feedbackHalf(e[half], `${where}/${half}`);
      }
      return n;
    }
    case 'header':
      return plainText(b.text, L.headerText, `${at}/text`);
    case 'input': {
      let n = plainText(b.label, L.inputLabel, `${at}/label`);
      if (b.hint !== undefined) n += plainText(b.hint, L.inputHint, `${at}/hint`);
      const e = b.element;
      if (!isObject(e) || typeof e.type !== 'string') return refuse(`[ERROR] missing required field: element [json-pointer:${at}/element]`);
      element(e, `${at}/element`);
      if (e.placeholder !== undefined) plainText(e.placeholder, L.placeholder, `${at}/element/placeholder`);
      if (e.type === 'plain_text_input' && e.max_length !== undefined) {
        const max = Number(e.max_length);
        if (!Number.isInteger(max) || max < 1 || max > L.plainTextInputMaxLength)
          refuse(`[ERROR] must be at most 3000 [json-pointer:${at}/element/max_length]`);
      }
      return n;
    }
    case 'markdown':
      if (typeof b.text !== 'string' || b.text === '') return refuse(`[ERROR] missing required field: text [json-pointer:${at}/text]`);
      return b.text.length;
    default:
      return 0;
  }
}

/** Interactive elements: buttons checked in full, other element types only for their type. */
function element(e: unknown, at: string): number {
  if (!isObject(e) || typeof e.type !== 'string') return refuse(`[ERROR] missing required field: type [json-pointer:${at}]`);
  if (e.action_id !== undefined && (typeof e.action_id !== 'string' || e.action_id === '' || e.action_id.length > L.actionId)) {
    refuse(`[ERROR] must be less than 256 characters [json-pointer:${at}/action_id]`);
  }
  if (e.type !== 'button') return 0;
  const n = plainText(e.text, L.buttonText, `${at}/text`);
  if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > L.buttonValue))
    refuse(`[ERROR] must be less than 2001 characters [json-pointer:${at}/value]`);
  if (e.url !== undefined && (typeof e.url !== 'string' || e.url.length > L.buttonUrl))
    refuse(`[ERROR] must be less than 3001 characters [json-pointer:${at}/url]`);
  if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger')
    refuse(`[ERROR] must be one of primary, danger [json-pointer:${at}/style]`);
  if (
    e.accessibility_label !== undefined &&
    (typeof e.accessibility_label !== 'string' || e.accessibility_label.length > L.buttonAccessibilityLabel)
  ) {
    refuse(`[ERROR] must be less than 76 characters [json-pointer:${at}/accessibility_label]`);
  }
  if (e.confirm !== undefined) {
    const c = e.confirm;
    if (!isObject(c)) return refuse(`[ERROR] must be an object [json-pointer:${at}/confirm]`);
    plainText(c.title, L.confirmTitle, `${at}/confirm/title`);
    textObject(c.text, L.confirmText, `${at}/confirm/text`);
    plainText(c.confirm, L.confirmButton, `${at}/confirm/confirm`);
    plainText(c.deny, L.confirmButton, `${at}/confirm/deny`);
  }
  return n;
}

/** One half of a feedback_buttons element: a label, a value, maybe an accessibility label. */
function feedbackHalf(h: unknown, at: string): number {
  if (!isObject(h)) return refuse(`[ERROR] missing required field [json-pointer:${at}]`);
  const n = plainText(h.text, L.buttonText, `${at}/text`);
  if (typeof h.value !== 'string' || h.value === '' || h.value.length > L.buttonValue)
    refuse(`[ERROR] must be less than 2001 characters [json-pointer:${at}/value]`);
  if (h.accessibility_label !== undefined && (typeof h.accessibility_label !== 'string' || h.accessibility_label.length > L.buttonAccessibilityLabel))
    refuse(`[ERROR] must be less than 76 characters [json-pointer:${at}/accessibility_label]`);
  return n;
}

function textObject(t: unknown, max: number, at: string, error = 'invalid_blocks'): number {
  if (!isObject(t) || (t.type !== 'plain_text' && t.type !== 'mrkdwn')) return refuse(`[ERROR] must be a text object [json-pointer:${at}]`, error);
  if (typeof t.text !== 'string' || t.text.length === 0) return refuse(`[ERROR] must be more than 0 characters [json-pointer:${at}/text]`, error);
  if (t.text.length > max) refuse(`[ERROR] must be less than ${max + 1} characters [json-pointer:${at}/text]`, error);
  if (t.type === 'mrkdwn' && t.emoji !== undefined) refuse(`[ERROR] emoji is only allowed on plain_text [json-pointer:${at}/emoji]`, error);
  return t.text.length;
}

function plainText(t: unknown, max: number, at: string, error = 'invalid_blocks'): number {
  if (!isObject(t) || t.type !== 'plain_text') return refuse(`[ERROR] must be a plain_text text object [json-pointer:${at}]`, error);
  return textObject(t, max, at, error);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
