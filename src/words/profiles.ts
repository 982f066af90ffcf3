import { unreachable } from '../ops/unreachable.js';

/** Why `--profile` chose no agent: told to the person, with the profiles there are. */
export type ProfileProblem =
  /** `--profile` on a bot without a profiles file. */
  | { kind: 'no_profiles' }
  /** `names`: every profile; `here`: the one this channel uses by default. */
  | { kind: 'unknown_profile'; requested: string; names: readonly string[]; here: string }
  | { kind: 'profile_name_missing'; names: readonly string[]; here: string };

export function profileProblemWords(p: ProfileProblem): string {
  switch (p.kind) {
    case 'no_profiles':
      return 'This bot has no agent profiles configured, so `--profile` cannot be used here.';
    case 'unknown_profile':
      return `There is no agent profile named \`${p.requested}\`. ${listProfiles(p.names, p.here)}`;
    case 'profile_name_missing':
      return `\`--profile\` needs a profile name. ${listProfiles(p.names, p.here)}`;
    default:
      return unreachable(p);
  }
}

function listProfiles(names: readonly string[], here: string): string {
  const listed = names.map((n) => (n === here ? `\`${n}\` (used here by default)` : `\`${n}\``));
  return `Profiles: ${listed.join(', ')}. Use \`/agent --profile NAME your task\`.`;
}
