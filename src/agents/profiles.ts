import type { AgentsConfig, Profile } from '../config/agents-file.js';
import type { ProfileRules } from '../access/policy.js';
import type { ProfileProblem } from '../words/profiles.js';
import { chooseProfile } from './choose-profile.js';
import type { AgentTarget } from './defaults.js';
import type { ProvisionedProfile } from './provision.js';

/** What one session is created with. `agentVersion` pins it; `profile` is absent without a profiles file. */
export type SessionTarget = { agentId: string; agentVersion?: number; environmentId: string; profile?: string };

export type TargetChoice = { kind: 'chosen'; target: SessionTarget } | { kind: 'not_chosen'; problem: ProfileProblem };

/**
 * The agent a new session runs, chosen per request. Without AGENTS_CONFIG there is one
 * fixed target (AGENT_ID/ENVIRONMENT_ID or the remembered defaults) and no profiles; with
 * it, the provisioned profiles. Also where other parts ask about a profile (approvers).
 */
export class AgentProfiles {
  private constructor(
    private readonly fixedTarget: AgentTarget | undefined,
    private readonly config: AgentsConfig | undefined,
    private readonly provisioned: ReadonlyMap<string, ProvisionedProfile>,
  ) {}

  static fixed(target: AgentTarget): AgentProfiles {
    return new AgentProfiles(target, undefined, new Map());
  }

  static fromConfig(config: AgentsConfig, provisioned: ReadonlyMap<string, ProvisionedProfile>): AgentProfiles {
    for (const name of Object.keys(config.profiles)) {
      if (!provisioned.has(name)) throw new Error(`profile ${name} was not provisioned`);
    }
    return new AgentProfiles(undefined, config, provisioned);
  }

  /** True when a profiles file is in use (the root card then names the profile). */
  get configured(): boolean {
    return this.config !== undefined;
  }

  get names(): string[] {
    return this.config ? Object.keys(this.config.profiles) : [];
  }

  /** `requested` is the `--profile` value, if the person gave one ('' for a flag without a name). */
  choose(req: { channel: string; requested?: string | undefined }): TargetChoice {
    if (!this.config) {
      if (req.requested !== undefined) return { kind: 'not_chosen', problem: { kind: 'no_profiles' } };
      return { kind: 'chosen', target: { ...this.fixedTarget! } };
    }
    const choice = chooseProfile(req, { names: this.names, channels: this.config.channels, defaultProfile: this.config.defaultProfile });
    if (choice.kind === 'not_chosen') return choice;
    const p = this.provisioned.get(choice.profile)!;
    return { kind: 'chosen', target: { agentId: p.agentId, agentVersion: p.agentVersion, environmentId: p.environmentId, profile: choice.profile } };
  }

  /**
   * Every target a session may run, with the bot's custom tools its agent should declare:
   * all of them for AGENT_ID or the default agent, a profile's `custom_tools` for its agent.
   */
  targets(allTools: readonly string[]): Array<{ target: SessionTarget; wanted: readonly string[] }> {
    if (!this.config) return [{ target: { ...this.fixedTarget! }, wanted: allTools }];
    return Object.entries(this.config.profiles).map(([name, profile]) => {
      const p = this.provisioned.get(name)!;
      return {
        target: { agentId: p.agentId, agentVersion: p.agentVersion, environmentId: p.environmentId, profile: name },
        wanted: profile.agent.custom_tools,
      };
    });
  }

  /**
   * Slack users besides the session owner who may approve tool calls in threads of this
   * profile. Empty without profiles, for an unknown profile (e.g. removed from the file
   * since the thread started) and for threads that predate profiles (`undefined`).
   */
  approversFor(profile: string | undefined): string[] {
    if (profile === undefined || !this.config) return [];
    return [...(this.config.profiles[profile]?.approvers ?? [])];
  }

  /** Who may use a profile and how its sessions are steered (absent: the bot-wide rules alone). */
  rulesFor(profile: string | undefined): ProfileRules | undefined {
    const p = profile !== undefined ? this.config?.profiles[profile] : undefined;
    if (!p) return undefined;
    return { name: p.name, allowedUsers: p.allowed_users, allowedChannels: p.allowed_channels, steering: p.steering };
  }

  /** The profile's own spend cap: dollars, `false` for none, undefined to use SESSION_BUDGET_USD. */
  budgetUsdFor(profile: string | undefined): number | false | undefined {
    return profile !== undefined ? this.config?.profiles[profile]?.budget_usd : undefined;
  }

  /**
   * What the Messages tab suggests: each profile's `suggested_prompts`, the default
   * profile's first, at most Slack's 4. A prompt of another profile carries its
   * `--profile NAME`, so a click starts that profile's agent. Empty without any.
   */
  suggestedPrompts(): Array<{ title: string; message: string }> {
    if (!this.config) return [];
    const { defaultProfile, profiles } = this.config;
    const order = [defaultProfile, ...Object.keys(profiles).filter((n) => n !== defaultProfile)];
    return order
      .flatMap((name) =>
        (profiles[name]?.suggested_prompts ?? []).map((p) => ({
          title: p.title,
          message: name === defaultProfile ? p.message : `--profile ${name} ${p.message}`,
        })),
      )
      .slice(0, 4);
  }

  /** The profiles as configured (empty without a profiles file), for the start warning. */
  get definitions(): Profile[] {
    return this.config ? Object.values(this.config.profiles) : [];
  }

  /** The fixed agent and environment, without a profiles file. */
  get fixed(): AgentTarget | undefined {
    return this.fixedTarget;
  }
}
