/**
 * Slack mrkdwn → HTML, for what the bot writes in `text` and in Block Kit text objects:
 * `*bold*`, `_italic_`, `~strike~`, `` `code` ``, ``` ```pre``` ```, `> quote`, `<url|label>`,
 * `<@U…>`, `<#C…|name>`, `<!here>`, `<!date^…>` and `:emoji:`. Pure; every piece of input
 * text is escaped before it reaches the page.
 */
import { replaceShortcodes } from './emoji.js';
import { decodeSlackEntities, escapeHtml, link, Stash } from './escape.js';

export type People = (userId: string) => string | undefined;

export type MrkdwnOptions = {
  /** Display names for `<@U…>` mentions (unknown ids show as the id). */
  people?: People;
};

export function mrkdwnToHtml(source: string, options: MrkdwnOptions = {}): string {
  const text = Stash.clean(source);
  const out: string[] = [];
  // Preformatted blocks first: nothing inside them is formatted.
  const fence = /```([\s\S]*?)```/g;
  let last = 0;
  for (const match of text.matchAll(fence)) {
    out.push(lines(text.slice(last, match.index), options));
    const body = match[1]!.replace(/^\n/, '').replace(/\n$/, '');
    out.push(`<pre class="code">${escapeHtml(decodeSlackEntities(body))}</pre>`);
    last = match.index + match[0].length;
  }
  out.push(lines(text.slice(last), options));
  return out.join('');
}

/** Lines of running text: `>`-quoted runs become one blockquote, the rest joined with <br>. */
function lines(text: string, options: MrkdwnOptions): string {
  if (text === '') return '';
  const parts: string[] = [];
  let plain: string[] = [];
  let quoted: string[] = [];
  const flushPlain = () => {
    if (plain.length) parts.push(plain.map((l) => inline(l, options)).join('<br>'));
    plain = [];
  };
  const flushQuote = () => {
    if (quoted.length) parts.push(`<blockquote>${quoted.map((l) => inline(l, options)).join('<br>')}</blockquote>`);
    quoted = [];
  };
  for (const line of text.split('\n')) {
    const quote = line.match(/^(?:&gt;|>) ?(.*)$/);
    if (quote) {
      flushPlain();
      quoted.push(quote[1]!);
    } else {
      flushQuote();
      plain.push(line);
    }
  }
  flushPlain();
  flushQuote();
  return parts.join('');
}

/** One line: code spans and `<…>` tokens set aside, the rest escaped, then bold/italic/strike. */
export function inline(line: string, options: MrkdwnOptions): string {
  const stash = new Stash();
  let s = line.replace(/`([^`\n]+)`/g, (_, code: string) => stash.put(`<code>${escapeHtml(decodeSlackEntities(code))}</code>`));
  s = s.replace(/<([^<>\n]+)>/g, (_, token: string) => stash.put(angleToken(token, options)));
  s = replaceShortcodes(escapeHtml(decodeSlackEntities(s)));
  s = emphasis(s);
  return stash.restore(s);
}

/** `*b*`, `_i_`, `~s~` where Slack applies them: the markers next to a non-word character or the line's ends. */
function emphasis(html: string): string {
  const wrap = (marker: string) => new RegExp(`(^|[^\\w${marker}])\\${marker}(?=\\S)([^${marker}\\n]*?\\S)\\${marker}(?=$|[^\\w${marker}])`, 'g');
  return html
    .replace(wrap('*'), (_, pre: string, body: string) => `${pre}<b>${body}</b>`)
    .replace(wrap('_'), (_, pre: string, body: string) => `${pre}<i>${body}</i>`)
    .replace(wrap('~'), (_, pre: string, body: string) => `${pre}<s>${body}</s>`);
}

function angleToken(token: string, options: MrkdwnOptions): string {
  const [target = '', ...rest] = token.split('|');
  const label = rest.join('|');
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const name = label || options.people?.(id) || id;
    return `<span class="mention" data-user="${escapeHtml(id)}">@${escapeHtml(decodeSlackEntities(name))}</span>`;
  }
  if (target.startsWith('#')) return `<span class="mention">#${escapeHtml(decodeSlackEntities(label || target.slice(1)))}</span>`;
  if (target.startsWith('!date^')) return dateToken(target, label);
  if (target.startsWith('!subteam^')) return `<span class="mention">${escapeHtml(decodeSlackEntities(label || '@group'))}</span>`;
  if (target.startsWith('!')) return `<span class="mention">@${escapeHtml(target.slice(1))}</span>`;
  const url = decodeSlackEntities(target);
  const text = label ? replaceShortcodes(escapeHtml(decodeSlackEntities(label))) : escapeHtml(url);
  return link(url, text);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/**
 * `<!date^SECONDS^FORMAT|fallback>`, formatted in UTC (the page makes no guess at the
 * reader's time zone): {date_num}, {date}, {date_short}, {date_long}, {date_pretty},
 * {date_short_pretty}, {date_long_pretty}, {time}, {time_secs}; anything else reads as the fallback.
 */
function dateToken(target: string, fallback: string): string {
  const [, seconds = '', format = ''] = target.split('^');
  const at = new Date(Number(seconds) * 1000);
  if (!/^\d+$/.test(seconds) || Number.isNaN(at.getTime())) return escapeHtml(decodeSlackEntities(fallback));
  const day = `${MONTHS[at.getUTCMonth()]} ${at.getUTCDate()}, ${at.getUTCFullYear()}`;
  const parts: Record<string, string> = {
    date_num: `${at.getUTCFullYear()}-${two(at.getUTCMonth() + 1)}-${two(at.getUTCDate())}`,
    date: day,
    date_short: day,
    date_long: day,
    date_pretty: day,
    date_short_pretty: day,
    date_long_pretty: day,
    time: `${two(at.getUTCHours())}:${two(at.getUTCMinutes())}`,
    time_secs: `${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())}`,
  };
  let unknown = false;
  const shown = decodeSlackEntities(format).replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const part = parts[name];
    if (part === undefined) unknown = true;
    return part ?? '';
  });
  const words = unknown ? decodeSlackEntities(fallback) : `${shown} UTC`;
  return `<time datetime="${at.toISOString()}">${escapeHtml(words)}</time>`;
}
