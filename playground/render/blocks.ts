/**
 * Block Kit → HTML: the blocks the bot sends (section, context, actions with buttons,
 * markdown, header, divider, image, rich_text) and the input blocks of its modal. Buttons
 * keep their action_id, value and block_id in data attributes so the page can send Slack's
 * block_actions back. Pure; unknown blocks are shown as such rather than dropped.
 */
import { escapeHtml, safeUrl } from './escape.js';
import { markdownToHtml } from './markdown.js';
import { mrkdwnToHtml, type MrkdwnOptions } from './mrkdwn.js';
import { replaceShortcodes } from './emoji.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A text object: mrkdwn formatted, plain_text escaped (with emoji shortcodes, as Slack's `emoji: true`). */
export function textObject(t: unknown, options: MrkdwnOptions): string {
  if (!isObject(t)) return '';
  if (t.type === 'mrkdwn') return mrkdwnToHtml(str(t.text), options);
  return replaceShortcodes(escapeHtml(str(t.text))).replace(/\n/g, '<br>');
}

export function blocksToHtml(blocks: readonly unknown[], options: MrkdwnOptions = {}): string {
  return blocks.map((b) => blockToHtml(b, options)).join('');
}

function blockToHtml(block: unknown, options: MrkdwnOptions): string {
  if (!isObject(block)) return '';
  const blockId = escapeHtml(str(block.block_id));
  switch (block.type) {
    case 'section': {
      const text = block.text ? `<div class="section-text">${textObject(block.text, options)}</div>` : '';
      const fields = Array.isArray(block.fields)
        ? `<div class="fields">${block.fields.map((f) => `<div class="field">${textObject(f, options)}</div>`).join('')}</div>`
        : '';
      const accessory = block.accessory ? `<div class="accessory">${elementToHtml(block.accessory, blockId, options)}</div>` : '';
      return `<div class="block section">${text}${fields}${accessory}</div>`;
    }
    case 'context': {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      return `<div class="block context">${elements.map((e) => contextElement(e, options)).join('')}</div>`;
    }
    case 'actions': {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      return `<div class="block actions">${elements.map((e) => elementToHtml(e, blockId, options)).join('')}</div>`;
    }
    case 'context_actions': {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      return `<div class="block context-actions">${elements.map((e) => contextAction(e, blockId, options)).join('')}</div>`;
    }
    case 'markdown':
      return `<div class="block markdown">${markdownToHtml(str(block.text))}</div>`;
    case 'header':
      return `<div class="block header">${textObject(block.text, options)}</div>`;
    case 'divider':
      return '<hr class="block divider">';
    case 'image':
      return imageToHtml(block, 'block image');
    case 'rich_text':
      return `<div class="block rich-text">${richText(block.elements, options)}</div>`;
    case 'input':
      return inputToHtml(block, options);
    default:
      return `<div class="block unsupported">[${escapeHtml(str(block.type) || 'block')} block]</div>`;
  }
}

function contextElement(e: unknown, options: MrkdwnOptions): string {
  if (!isObject(e)) return '';
  if (e.type === 'image') return imageToHtml(e, 'context-image');
  return `<span class="context-text">${textObject(e, options)}</span>`;
}

function imageToHtml(e: Json, className: string): string {
  const url = safeUrl(str(e.image_url));
  const alt = escapeHtml(str(e.alt_text));
  return url ? `<img class="${className}" src="${escapeHtml(url)}" alt="${alt}">` : `<span class="${className}">${alt}</span>`;
}

/** Interactive elements. Buttons only act here; other kinds show their label. */
function elementToHtml(e: unknown, blockId: string, options: MrkdwnOptions): string {
  if (!isObject(e)) return '';
  if (e.type === 'image') return imageToHtml(e, 'accessory-image');
  if (e.type !== 'button') return `<span class="unsupported">[${escapeHtml(str(e.type) || 'element')}]</span>`;
  const style = e.style === 'primary' || e.style === 'danger' ? ` ${e.style}` : '';
  const label = textObject(e.text, options);
  const url = safeUrl(str(e.url));
  const attrs = [
    `class="button${style}"`,
    `data-action-id="${escapeHtml(str(e.action_id))}"`,
    `data-block-id="${blockId}"`,
    `data-value="${escapeHtml(str(e.value))}"`,
    ...(url ? [`data-url="${escapeHtml(url)}"`] : []),
  ];
  return `<button type="button" ${attrs.join(' ')}>${label}</button>`;
}

/** Slack's feedback buttons (👍 / 👎, one action_id, a value each) and icon buttons under an answer. */
function contextAction(e: unknown, blockId: string, options: MrkdwnOptions): string {
  if (!isObject(e)) return '';
  if (e.type === 'icon_button') return elementToHtml({ ...e, type: 'button' }, blockId, options).replace('class="button', 'class="button small');
  if (e.type !== 'feedback_buttons') return `<span class="unsupported">[${escapeHtml(str(e.type) || 'element')}]</span>`;
  return (['positive_button', 'negative_button'] as const)
    .map((half) => {
      const b = isObject(e[half]) ? e[half] : {};
      const label = typeof b.accessibility_label === 'string' ? ` title="${escapeHtml(b.accessibility_label)}"` : '';
      return elementToHtml({ type: 'button', action_id: e.action_id, value: b.value, text: b.text }, blockId, options).replace(
        'class="button"',
        `class="button small"${label}`,
      );
    })
    .join('');
}

function inputToHtml(block: Json, options: MrkdwnOptions): string {
  const element = isObject(block.element) ? block.element : {};
  const blockId = escapeHtml(str(block.block_id));
  const actionId = escapeHtml(str(element.action_id));
  const label = textObject(block.label, options);
  const optional = block.optional === true ? ' <span class="optional">(optional)</span>' : '';
  const hint = block.hint ? `<div class="hint">${textObject(block.hint, options)}</div>` : '';
  if (element.type !== 'plain_text_input') {
    return `<div class="block input"><label>${label}</label><span class="unsupported">[${escapeHtml(str(element.type))}]</span>${hint}</div>`;
  }
  const placeholder = isObject(element.placeholder) ? ` placeholder="${escapeHtml(str(element.placeholder.text))}"` : '';
  const max = typeof element.max_length === 'number' ? ` maxlength="${element.max_length}"` : '';
  const required = block.optional === true ? '' : ' required';
  const field =
    element.multiline === true
      ? `<textarea data-block-id="${blockId}" data-action-id="${actionId}"${placeholder}${max}${required}>${escapeHtml(str(element.initial_value))}</textarea>`
      : `<input type="text" data-block-id="${blockId}" data-action-id="${actionId}" value="${escapeHtml(str(element.initial_value))}"${placeholder}${max}${required}>`;
  return `<div class="block input"><label>${label}${optional}${field}</label>${hint}</div>`;
}

/** rich_text as people's messages carry it: sections, preformatted, quotes and lists of styled text. */
function richText(elements: unknown, options: MrkdwnOptions): string {
  if (!Array.isArray(elements)) return '';
  return elements
    .map((el) => {
      if (!isObject(el)) return '';
      const inner = Array.isArray(el.elements) ? el.elements.map((x) => richInline(x, options)).join('') : '';
      switch (el.type) {
        case 'rich_text_preformatted':
          return `<pre class="code">${inner}</pre>`;
        case 'rich_text_quote':
          return `<blockquote>${inner}</blockquote>`;
        case 'rich_text_list': {
          const tag = el.style === 'ordered' ? 'ol' : 'ul';
          return `<${tag}>${(Array.isArray(el.elements) ? el.elements : []).map((item) => `<li>${richText([item], options)}</li>`).join('')}</${tag}>`;
        }
        default:
          return `<div>${inner}</div>`;
      }
    })
    .join('');
}

function richInline(x: unknown, options: MrkdwnOptions): string {
  if (!isObject(x)) return '';
  const style = isObject(x.style) ? x.style : {};
  let html: string;
  switch (x.type) {
    case 'text':
      html = escapeHtml(str(x.text)).replace(/\n/g, '<br>');
      break;
    case 'link': {
      const url = safeUrl(str(x.url));
      const label = escapeHtml(str(x.text) || str(x.url));
      html = url ? `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${label}</a>` : label;
      break;
    }
    case 'user':
      html = `<span class="mention">@${escapeHtml(options.people?.(str(x.user_id)) ?? str(x.user_id))}</span>`;
      break;
    case 'emoji':
      html = replaceShortcodes(`:${escapeHtml(str(x.name))}:`);
      break;
    default:
      html = '';
  }
  if (style.code) html = `<code>${html}</code>`;
  if (style.bold) html = `<b>${html}</b>`;
  if (style.italic) html = `<i>${html}</i>`;
  if (style.strike) html = `<s>${html}</s>`;
  return html;
}
