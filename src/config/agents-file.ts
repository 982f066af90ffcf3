import { z } from 'zod';

/**
 * The shape of the agent profiles file (AGENTS_CONFIG). Objects are strict so a typo is
 * an error, not a silently ignored key. Field names follow the Managed Agents API where
 * one exists, so the API docs explain them too.
 */

export const BUILT_IN_TOOL_NAMES = ['bash', 'read', 'write', 'edit', 'glob', 'grep', 'web_fetch', 'web_search'] as const;
export const PERMISSION_POLICIES = ['always_allow', 'always_ask', 'auto'] as const;
const STEERING_MODES = ['everyone_allowed', 'owner_only'] as const;
const PACKAGE_MANAGERS = ['apt', 'cargo', 'gem', 'go', 'npm', 'pip'] as const;

/** Used in `--profile NAME`, in agent metadata and on the root card: kept plain. */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const PROFILE_NAME_RULE = 'letters, digits, - and _ (at most 64)';

const profileName = z.string().regex(PROFILE_NAME, `expected a profile name: ${PROFILE_NAME_RULE}`);
const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'expected a Slack user id such as U0123ABCD');
const slackChannelId = z.string().regex(/^[CDG][A-Z0-9]{2,}$/, 'expected a Slack channel id such as C0123ABCD');
const nonEmpty = z.string().trim().min(1, 'expected a non-empty string');

const permissionPolicy = z.enum(PERMISSION_POLICIES);

const toolSetting = z.strictObject({
  enabled: z.boolean().optional(),
  permission_policy: permissionPolicy.optional(),
});

const builtInTools = z.strictObject({
  /** Defaults for every tool of the toolset; `tools` overrides them one by one. */
  enabled: z.boolean().default(true),
  permission_policy: permissionPolicy.default('always_allow'),
  tools: z
    .strictObject(
      Object.fromEntries(BUILT_IN_TOOL_NAMES.map((n) => [n, toolSetting.optional()])) as Record<
        (typeof BUILT_IN_TOOL_NAMES)[number],
        z.ZodOptional<typeof toolSetting>
      >,
    )
    .prefault({}),
});

const agentSpec = z.strictObject({
  /** Defaults to the profile name. */
  name: nonEmpty.optional(),
  description: z.string().optional(),
  model: nonEmpty,
  system: z.string().max(100_000, 'expected at most 100000 characters').optional(),
  builtin_tools: builtInTools.prefault({}),
  /** Names from the bot's ToolRegistry; omitted means every tool the bot implements. */
  custom_tools: z.array(nonEmpty).optional(),
});

const networking = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('unrestricted') }),
  z.strictObject({
    type: z.literal('limited'),
    allowed_hosts: z.array(nonEmpty).default([]),
    allow_package_managers: z.boolean().default(false),
    allow_mcp_servers: z.boolean().default(false),
  }),
]);

const packages = z.strictObject(
  Object.fromEntries(PACKAGE_MANAGERS.map((m) => [m, z.array(nonEmpty).default([])])) as Record<
    (typeof PACKAGE_MANAGERS)[number],
    z.ZodDefault<z.ZodArray<typeof nonEmpty>>
  >,
);

const environmentSpec = z.strictObject({
  /** Environment names are unique per organisation; defaults to `slack-<profile>`. */
  name: nonEmpty.optional(),
  description: z.string().optional(),
  networking: networking.default({ type: 'unrestricted' }),
  packages: packages.prefault({}),
});

const profileSpec = z.strictObject({
  agent: agentSpec,
  environment: environmentSpec.prefault({}),
  /** Slack users besides the session owner who may approve this profile's tool calls. */
  approvers: z.array(slackUserId).default([]),
  /** Narrow ALLOWED_USERS / ALLOWED_CHANNELS for this profile (omitted: the bot-wide rules alone). */
  allowed_users: z.array(slackUserId).optional(),
  allowed_channels: z.array(slackChannelId).optional(),
  /** Who steers by replying: the owner and people let in (`owner_only`), or also anyone allowed to start sessions. */
  steering: z.enum(STEERING_MODES).default('everyone_allowed'),
  /**
   * Offered on the bot's Messages tab (at most 4 across all profiles, Slack's limit): a
   * title and the message it sends. A profile other than the default sends its `--profile`.
   */
  suggested_prompts: z
    .array(
      z.strictObject({ title: nonEmpty.max(75, 'expected at most 75 characters'), message: nonEmpty.max(2000, 'expected at most 2000 characters') }),
    )
    .max(4, 'expected at most 4 suggested prompts')
    .optional(),
  /** Spend cap in US dollars for this profile's sessions (overrides SESSION_BUDGET_USD); `false`: no cap. */
  budget_usd: z
    .union([z.number().positive('expected an amount above 0').multipleOf(0.01, 'expected dollars with at most cents'), z.literal(false)])
    .optional(),
});

export const AgentsFileSchema = z.strictObject({
  /** Optional when there is exactly one profile. */
  default_profile: profileName.optional(),
  channels: z.record(slackChannelId, profileName).default({}),
  profiles: z.record(profileName, profileSpec).refine((p) => Object.keys(p).length > 0, 'expected at least one profile'),
});

export type AgentsFile = z.infer<typeof AgentsFileSchema>;
export type AgentSpec = z.infer<typeof agentSpec>;
export type EnvironmentSpec = z.infer<typeof environmentSpec>;

/** A profile with every default filled in and its references checked. */
export type Profile = {
  name: string;
  agent: Omit<AgentSpec, 'name' | 'custom_tools'> & { name: string; custom_tools: string[] };
  environment: Omit<EnvironmentSpec, 'name'> & { name: string };
  approvers: string[];
  allowed_users?: string[];
  allowed_channels?: string[];
  steering: (typeof STEERING_MODES)[number];
  budget_usd?: number | false;
  suggested_prompts?: Array<{ title: string; message: string }>;
};

/** The checked file: what provisioning and profile choice work from. */
export type AgentsConfig = {
  /** Path as given (for messages). */
  file: string;
  defaultProfile: string;
  channels: Record<string, string>;
  profiles: Record<string, Profile>;
};
