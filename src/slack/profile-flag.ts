/**
 * `--profile NAME rest` or `--profile=NAME rest` at the very start of a prompt: the name
 * and the prompt without the flag. Only a leading flag counts, so a prompt that merely
 * mentions `--profile` further on reaches the agent untouched. A flag without a name
 * gives `profile: ''`, which the caller answers instead of guessing. Clients that
 * autocorrect `--` into a dash (— or –) are forgiven.
 */
export function splitProfileFlag(text: string): { profile?: string; text: string } {
  const m = /^\s*(?:--|—|–)profile(?:=(\S*)|\s+(\S+)|\s*$)\s*/.exec(text);
  if (!m) return { text };
  return { profile: m[1] ?? m[2] ?? '', text: text.slice(m[0].length).trim() };
}
