/** The playground's environment, parsed once: what it needs, and the one setting that stops it. */
import { z } from 'zod';

const PlaygroundEnvSchema = z.object({
  NODE_ENV: z.string().optional(),
  PLAYGROUND_PORT: z.coerce.number().int().min(0).max(65535).default(3300),
  ANTHROPIC_API_KEY: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
  AGENT_ID: z.string().trim().optional(),
  ENVIRONMENT_ID: z.string().trim().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
});

export type PlaygroundEnv = z.infer<typeof PlaygroundEnvSchema>;

export type PlaygroundEnvOutcome =
  | { kind: 'ok'; env: PlaygroundEnv }
  | { kind: 'invalid'; message: string }
  | { kind: 'production'; message: string };

export const PRODUCTION_REFUSAL = 'The playground is a development tool and does not run with NODE_ENV=production. Use `npm start` to run the bot.';

/** A production environment is refused before anything is read or started: the playground is never the bot people use. */
export function readPlaygroundEnv(env: Record<string, string | undefined>): PlaygroundEnvOutcome {
  if (env.NODE_ENV?.trim().toLowerCase() === 'production') return { kind: 'production', message: PRODUCTION_REFUSAL };
  const parsed = PlaygroundEnvSchema.safeParse(env);
  if (!parsed.success) return { kind: 'invalid', message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n') };
  return { kind: 'ok', env: parsed.data };
}
