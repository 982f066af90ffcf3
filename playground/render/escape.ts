/**
 * HTML escaping for the playground page. Everything the page shows comes from the bot's
 * messages, which carry the agent's text: untrusted, so every character that could open a
 * tag, an attribute or an entity is escaped, and only links with a safe scheme are made.
 */
const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Slack's three mrkdwn entities back to characters (the text is escaped again for HTML). */
export function decodeSlackEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/** The URL when it is absolute with a scheme a link may carry; undefined otherwise (javascript:, data:, relative). */
export function safeUrl(raw: string): string | undefined {
  const trimmed = raw.trim();
  if (!URL.canParse(trimmed)) return undefined;
  return SAFE_SCHEMES.has(new URL(trimmed).protocol) ? trimmed : undefined;
}

export function link(url: string, innerHtml: string): string {
  const safe = safeUrl(url);
  if (!safe) return innerHtml;
  return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener noreferrer">${innerHtml}</a>`;
}

/**
 * Inline formatting is applied to escaped text, with already-rendered pieces (code, links,
 * mentions) set aside as placeholders so no formatting rule reaches into them. The marker
 * characters come from Unicode's private use area and are removed from the input first.
 */
export class Stash {
  private readonly pieces: string[] = [];

  static clean(text: string): string {
    return text.replace(/[\uE000\uE001]/g, '\uFFFD');
  }

  put(html: string): string {
    this.pieces.push(html);
    return `\uE000${this.pieces.length - 1}\uE001`;
  }

  restore(html: string): string {
    // A piece may hold placeholders of its own (link text), so restore until none is left.
    let out = html;
    for (let i = 0; i < 4 && out.includes('\uE000'); i++) out = out.replace(/\uE000(\d+)\uE001/g, (_, n: string) => this.pieces[Number(n)] ?? '');
    return out;
  }
}
