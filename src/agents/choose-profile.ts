/** What profile choice needs to know about the file. */
export type ProfileTable = { names: readonly string[]; channels: Readonly<Record<string, string>>; defaultProfile: string };

export type ProfileChoice = { ok: true; profile: string } | { ok: false; words: string };

/**
 * Which profile a new session uses: the one asked for (`--profile NAME`), else the
 * channel's, else the default. Asking for an unknown name is an answer to the person,
 * never a silent fallback: they meant something else and should know.
 */
export function chooseProfile(req: { channel: string; requested?: string | undefined }, table: ProfileTable): ProfileChoice {
  if (req.requested !== undefined) {
    if (table.names.includes(req.requested)) return { ok: true, profile: req.requested };
    const what = req.requested === '' ? '`--profile` needs a profile name.' : `There is no agent profile named \`${req.requested}\`.`;
    return { ok: false, words: `${what} ${listProfiles(table, req.channel)}` };
  }
  const forChannel = table.channels[req.channel];
  return { ok: true, profile: forChannel !== undefined && table.names.includes(forChannel) ? forChannel : table.defaultProfile };
}

function listProfiles(table: ProfileTable, channel: string): string {
  const here = table.channels[channel] ?? table.defaultProfile;
  const names = table.names.map((n) => (n === here ? `\`${n}\` (used here by default)` : `\`${n}\``));
  return `Profiles: ${names.join(', ')}. Use \`/agent --profile NAME your task\`.`;
}
