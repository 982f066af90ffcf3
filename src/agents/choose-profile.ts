import type { ProfileProblem } from '../words/profiles.js';

/** What profile choice needs to know about the file. */
export type ProfileTable = { names: readonly string[]; channels: Readonly<Record<string, string>>; defaultProfile: string };

export type ProfileChoice = { kind: 'chosen'; profile: string } | { kind: 'not_chosen'; problem: ProfileProblem };

/**
 * Which profile a new session uses: the one asked for (`--profile NAME`), else the
 * channel's, else the default. Asking for an unknown name is an answer to the person,
 * never a silent fallback: they meant something else and should know.
 */
export function chooseProfile(req: { channel: string; requested?: string | undefined }, table: ProfileTable): ProfileChoice {
  if (req.requested !== undefined) {
    if (table.names.includes(req.requested)) return { kind: 'chosen', profile: req.requested };
    const listed = { names: table.names, here: table.channels[req.channel] ?? table.defaultProfile };
    return {
      kind: 'not_chosen',
      problem: req.requested === '' ? { kind: 'profile_name_missing', ...listed } : { kind: 'unknown_profile', requested: req.requested, ...listed },
    };
  }
  const forChannel = table.channels[req.channel];
  return { kind: 'chosen', profile: forChannel !== undefined && table.names.includes(forChannel) ? forChannel : table.defaultProfile };
}
