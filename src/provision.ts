import { createAgentsClient } from './agents/client.js';
import { describeChange, provisionProfiles } from './agents/provision.js';
import { ToolRegistry } from './agents/tools/registry.js';
import { parseProvisionEnv } from './config/env.js';
import { loadAgentsConfig } from './config/load-agents-file.js';
import { createLogger } from './ops/logger.js';

/**
 * `npm run provision [-- path/to/agents.yml]`: create or update the agents and
 * environments of the profiles file, printing one line per object. Safe to run again:
 * what already matches is reported unchanged and not touched.
 */
const argPath = process.argv[2];
const parsed = parseProvisionEnv({ ...process.env, ...(argPath ? { AGENTS_CONFIG: argPath } : {}) });
if (parsed.kind === 'invalid') {
  process.stderr.write(`${parsed.message}\n`);
  process.exit(1);
}
const env = parsed.env;
// stdout carries the summary; logs go to stderr and stay quiet unless LOG_LEVEL asks.
const log = createLogger(process.env.LOG_LEVEL ? env.LOG_LEVEL : 'warn', process.stderr);
const tools = new ToolRegistry();

const config = await loadAgentsConfig(
  env.AGENTS_CONFIG,
  tools.tools.map((t) => t.name),
);
if (config.kind === 'invalid') {
  process.stderr.write(`${config.lines.join('\n')}\n`);
  process.exit(1);
}
try {
  const client = createAgentsClient({ apiKey: env.ANTHROPIC_API_KEY, ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}) });
  const result = await provisionProfiles({ client, tools, log }, config.config);
  for (const change of result.changes) process.stdout.write(`${describeChange(change)}\n`);
} catch (error) {
  log.error({ err: error }, 'provisioning failed');
  process.stderr.write(`Provisioning failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
