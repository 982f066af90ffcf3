/**
 * Markdown → HTML, for what the bot posts as `markdown_text` (the agent's own words) and in
 * `markdown` blocks: fenced code, headings, lists, quotes, rules, paragraphs, and inline
 * `code`, **bold**, *italic*, ~~strike~~, [links](https://…) and bare URLs. A small subset
 * on purpose; every piece of text is escaped, and only http(s)/mailto links are made.
 */
import { replaceShortcodes } from './emoji.js';
import { escapeHtml, link, Stash } from './escape.js';

export function markdownToHtml(source: string): string {
  const lines = Stash.clean(source).replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = line.match(/^\s*(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/);
    if (fence) {
      const closer = fence[1]!;
      const body: string[] = [];
      i += 1;
      while (i < lines.length && !lines[i]!.trim().startsWith(closer)) body.push(lines[i++]!);
      i += 1; // the closing fence (or the end of an unclosed block, as while streaming)
      const lang = fence[2] ? ` data-lang="${escapeHtml(fence[2])}"` : '';
      out.push(`<pre class="code"${lang}>${escapeHtml(body.join('\n'))}</pre>`);
      continue;
    }
    if (line.trim() === '') {
      i += 1;
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*?)\s*#*\s*$/);
    if (heading) {
      const level = Math.min(heading[1]!.length + 2, 6);
      out.push(`<h${level}>${inlineMarkdown(heading[2]!)}</h${level}>`);
      i += 1;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push('<hr>');
      i += 1;
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i]!)) quoted.push(lines[i++]!.replace(/^\s*> ?/, ''));
      out.push(`<blockquote>${markdownToHtml(quoted.join('\n'))}</blockquote>`);
      continue;
    }
    const item = listItem(line);
    if (item) {
      const items: string[] = [];
      while (i < lines.length) {
        const next = listItem(lines[i]!);
        if (next && next.ordered === item.ordered) {
          items.push(inlineMarkdown(next.text));
          i += 1;
        } else if (lines[i]!.match(/^\s{2,}\S/) && items.length) {
          // A continuation line of the item above.
          items[items.length - 1] += `<br>${inlineMarkdown(lines[i]!.trim())}`;
          i += 1;
        } else break;
      }
      const tag = item.ordered ? 'ol' : 'ul';
      out.push(`<${tag}>${items.map((t) => `<li>${t}</li>`).join('')}</${tag}>`);
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '' && !startsBlock(lines[i]!)) paragraph.push(lines[i++]!);
    out.push(`<p>${paragraph.map((l) => inlineMarkdown(l)).join('<br>')}</p>`);
  }
  return out.join('');
}

function listItem(line: string): { ordered: boolean; text: string } | undefined {
  const bullet = line.match(/^\s*[-*+•]\s+(.*)$/);
  if (bullet) return { ordered: false, text: bullet[1]! };
  const numbered = line.match(/^\s*\d{1,9}[.)]\s+(.*)$/);
  return numbered ? { ordered: true, text: numbered[1]! } : undefined;
}

function startsBlock(line: string): boolean {
  return /^\s*(`{3,}|~{3,})/.test(line) || /^#{1,6}\s/.test(line) || /^\s*>/.test(line) || listItem(line) !== undefined;
}

/** Inline Markdown of one line (also used for link text, without links inside). */
export function inlineMarkdown(text: string, withLinks = true): string {
  const stash = new Stash();
  let s = text.replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_, __, code: string) => stash.put(`<code>${escapeHtml(code.trim())}</code>`));
  if (withLinks) {
    s = s.replace(/\[([^\]\n]+)\]\(([^()\s]+)\)/g, (_, label: string, url: string) => stash.put(link(url, inlineMarkdown(label, false))));
    s = s.replace(/<((?:https?|mailto):[^<>\s]+)>/g, (_, url: string) => stash.put(link(url, escapeHtml(url))));
    s = s.replace(/\bhttps?:\/\/[^\s<>()\uE000\uE001]+[^\s<>().,;:!?'"\uE000\uE001]/g, (url) => stash.put(link(url, escapeHtml(url))));
  }
  s = replaceShortcodes(escapeHtml(s));
  s = s
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<b>$1</b>')
    .replace(/__(?=\S)([\s\S]*?\S)__/g, '<b>$1</b>')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '<s>$1</s>')
    .replace(/(^|[^\w*])\*(?=[^\s*])([^*]*?[^\s*])\*(?![\w*])/g, '$1<i>$2</i>')
    .replace(/(^|[^\w])_(?=[^\s_])([^_]*?[^\s_])_(?!\w)/g, '$1<i>$2</i>');
  return stash.restore(s);
}
