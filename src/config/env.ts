import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const url = (what: string) =>
  z
    .string()
    .trim()
    .refine((v) => URL.canParse(v), { message: `expected ${what}` });

const idList = (pattern: RegExp, rule: string) =>
  z
    .string()
    .trim()
    .default('')
    .transform((v) => v.split(/[\s,]+/).filter((id) => id !== ''))
    .pipe(z.array(z.string().regex(pattern, rule)));
const userIds = () => idList(/^[UW][A-Z0-9]+$/, 'expected Slack user ids such as U012ABCDEF, separated by commas');
const channelIds = () => idList(/^[CGD][A-Z0-9]+$/, 'expected Slack channel ids such as C012ABCDEF (C…, G… or D…), separated by commas');
const flag = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .default(String(fallback))
    .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), { message: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const wholeNumber = (fallback: number, what: string) =>
  z.coerce
    .number({ message: `expected ${what}` })
    .int('expected a whole number')
    .min(1, `expected ${what} of at least 1`)
    .default(fallback);
/** Dollars with at most cents, e.g. `5` or `12.50`; unset means none. */
const dollars = optionalString.pipe(
  z
    .string()
    .regex(/^\d+(\.\d{1,2})?$/, 'expected an amount in US dollars such as 5 or 12.50')
    .transform(Number)
    .refine((v) => v > 0, 'expected an amount above 0')
    .optional(),
);

/**
 * The process environment, parsed once at start-up. Names are part of the product's
 * interface (README, manifest, Dockerfile, other tools): change none of them lightly.
 */
const EnvSchema = z
  .object({
    SLACK_BOT_TOKEN: z
      .string()
      .trim()
      .regex(/^xoxb-/, 'expected a bot token starting with xoxb-'),
    SLACK_SIGNING_SECRET: optionalString,
    SLACK_APP_TOKEN: optionalString.pipe(
      z
        .string()
        .regex(/^xapp-/, 'expected an app-level token starting with xapp-')
        .optional(),
    ),
    SLACK_API_URL: url('an http(s) URL such as https://slack.com/api/').optional(),
    ANTHROPIC_API_KEY: z.string().trim().min(1, 'expected an Anthropic API key'),
    ANTHROPIC_BASE_URL: url('an http(s) URL such as https://api.anthropic.com').optional(),
    AGENT_ID: optionalString.pipe(
      z
        .string()
        .regex(/^agent_/, 'expected an agent id starting with agent_')
        .optional(),
    ),
    ENVIRONMENT_ID: optionalString.pipe(z.string().regex(/^env_/, 'expected an environment id starting with env_').optional()),
    STORE_URL: z
      .string()
      .trim()
      .default('sqlite://data/bot.sqlite')
      .refine((v) => /^(sqlite|redis|rediss):\/\/.+/.test(v), {
        message: 'expected sqlite://path/to/file.sqlite or redis://host:port',
      }),
    PORT: z.coerce
      .number({ message: 'expected a TCP port number' })
      .int('expected a whole number')
      .min(0, 'expected a port from 0 to 65535')
      .max(65535, 'expected a port from 0 to 65535')
      .default(3000),
    /** Slack user ids who may approve tool calls and answer questions in every session, besides its owner. */
    APPROVERS: z
      .string()
      .trim()
      .default('')
      .transform((v) => v.split(/[\s,]+/).filter((id) => id !== ''))
      .pipe(z.array(z.string().regex(/^[UW][A-Z0-9]+$/, 'expected Slack user ids such as U012ABCDEF, separated by commas'))),
    /** Who may start sessions (empty: everyone in the workspace except guests, unless ALLOW_GUESTS). */
    ALLOWED_USERS: userIds(),
    /** Where sessions may be started (empty: every channel the bot is in). DMs follow ALLOW_DMS. */
    ALLOWED_CHANNELS: channelIds(),
    ALLOW_DMS: flag(true),
    ALLOW_GUESTS: flag(false),
    /** May stop, steer and decide in every session, and stop them all (`/agent stop-all`). */
    ADMIN_USERS: userIds(),
    MAX_RUNNING_PER_USER: wholeNumber(3, 'a number of sessions'),
    MAX_PROMPT_CHARS: wholeNumber(20_000, 'a number of characters'),
    /** Spend cap every session is created with (a profile's budget_usd overrides it); unset: no cap. */
    SESSION_BUDGET_USD: dollars,
    /** How far Raise the cap may go; default: five times the session's cap. */
    SESSION_BUDGET_MAX_USD: dollars,
    LOG_LEVEL: z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    /** Days the store keeps the record of a session after it last ran; then it is pruned. */
    RECORD_RETENTION_DAYS: z.coerce
      .number({ message: 'expected a number of days' })
      .int('expected a whole number of days')
      .min(1, 'expected at least 1 day')
      .max(3650, 'expected at most 3650 days')
      .default(30),
    /**
     * With a Redis store: how long a replica's lease on a thread it follows lives without a
     * renewal (renewed at a third of it). A replica that dies is taken over within about this.
     */
    LEASE_MS: z.coerce
      .number({ message: 'expected milliseconds' })
      .int('expected a whole number of milliseconds')
      .min(300, 'expected at least 300 ms')
      .max(600_000, 'expected at most 600000 ms (10 minutes)')
      .default(15_000),
    /** Path of the agent profiles file (agents.example.yml); replaces AGENT_ID/ENVIRONMENT_ID. */
    AGENTS_CONFIG: optionalString,
  })
  .superRefine((env, ctx) => {
    if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_SIGNING_SECRET'],
        message: 'required in HTTP mode (set it, or set SLACK_APP_TOKEN for Socket Mode)',
      });
    }
    if (env.SESSION_BUDGET_USD !== undefined && env.SESSION_BUDGET_MAX_USD !== undefined && env.SESSION_BUDGET_MAX_USD < env.SESSION_BUDGET_USD) {
      ctx.addIssue({ code: 'custom', path: ['SESSION_BUDGET_MAX_USD'], message: `must be at least SESSION_BUDGET_USD (${env.SESSION_BUDGET_USD})` });
    }
    // Both would leave it unclear which agent runs: refuse instead of picking one.
    for (const name of ['AGENT_ID', 'ENVIRONMENT_ID'] as const) {
      if (env.AGENTS_CONFIG && env[name]) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'cannot be combined with AGENTS_CONFIG (the profiles file names the agents); unset one',
        });
      }
    }
  });

export type Env = z.infer<typeof EnvSchema>;

export type EnvResult = { kind: 'parsed'; env: Env } | { kind: 'invalid'; message: string };

/** What `npm run provision` needs: the API and the profiles file, no Slack. */
const ProvisionEnvSchema = z.object({
  ANTHROPIC_API_KEY: EnvSchema.shape.ANTHROPIC_API_KEY,
  ANTHROPIC_BASE_URL: EnvSchema.shape.ANTHROPIC_BASE_URL,
  LOG_LEVEL: EnvSchema.shape.LOG_LEVEL,
  AGENTS_CONFIG: z.string({ message: 'expected the path of the agent profiles file' }).trim().min(1, 'expected the path of the agent profiles file'),
});
export type ProvisionEnv = z.infer<typeof ProvisionEnvSchema>;

/** Errors are values here: main() prints the one line and exits. */
export function parseEnv(source: Record<string, string | undefined>): EnvResult {
  return parseWith(EnvSchema, source);
}

export function parseProvisionEnv(
  source: Record<string, string | undefined>,
): { kind: 'parsed'; env: ProvisionEnv } | { kind: 'invalid'; message: string } {
  return parseWith(ProvisionEnvSchema, source);
}

function parseWith<T>(
  schema: z.ZodType<T>,
  source: Record<string, string | undefined>,
): { kind: 'parsed'; env: T } | { kind: 'invalid'; message: string } {
  const result = schema.safeParse(source);
  if (result.success) return { kind: 'parsed', env: result.data };
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || 'environment';
    const given = source[String(issue.path[0])];
    const problem = given === undefined && issue.code === 'invalid_type' ? 'is missing' : 'is invalid';
    return `${name} ${problem}: ${issue.message}`;
  });
  return { kind: 'invalid', message: `Configuration error: ${lines.join('; ')}` };
}
