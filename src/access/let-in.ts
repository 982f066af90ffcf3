/**
 * `@agent let @dana steer` (or `let @dana and @lee steer`) in a session thread: the
 * owner or an admin lets people steer it. Slash commands carry no thread, so the ask is
 * a mention of the bot in the thread itself. Pure: the message's text in, the people out.
 */
export function parseLetIn(text: string, botUserId: string): string[] | undefined {
  const mention = `<@${botUserId}>`;
  if (!text.includes(mention)) return undefined;
  const rest = text.split(mention).join(' ').trim();
  const m = /^let\s+((?:<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s,]*(?:and\s+)?)+)steer\b/i.exec(rest);
  if (!m) return undefined;
  const people = [...m[1]!.matchAll(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g)].map((x) => x[1]!);
  const unique = [...new Set(people)].filter((u) => u !== botUserId);
  return unique.length > 0 ? unique : undefined;
}
