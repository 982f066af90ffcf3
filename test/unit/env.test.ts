import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/env.js';

const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', ANTHROPIC_API_KEY: 'k' };

describe('parseEnv', () => {
  it('applies defaults', () => {
    const r = parseEnv(base);
    expect(r.ok && r.env).toMatchObject({ PORT: 3000, LOG_LEVEL: 'info', STORE_URL: 'sqlite://data/bot.sqlite' });
  });
  it('names the missing variable in one line', () => {
    const r = parseEnv({ ...base, ANTHROPIC_API_KEY: undefined });
    expect(r).toEqual({ ok: false, message: expect.stringMatching(/^Configuration error: ANTHROPIC_API_KEY is missing/) });
  });
  it('says what a malformed value should look like', () => {
    const r = parseEnv({ ...base, PORT: 'eighty', AGENT_ID: 'nope' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.message).toContain('PORT is invalid');
    expect(r.message).toContain('AGENT_ID is invalid: expected an agent id starting with agent_');
    expect(r.message.split('\n')).toHaveLength(1);
  });
  it('requires the signing secret only in HTTP mode', () => {
    expect(parseEnv({ ...base, SLACK_SIGNING_SECRET: undefined }).ok).toBe(false);
    expect(parseEnv({ ...base, SLACK_SIGNING_SECRET: undefined, SLACK_APP_TOKEN: 'xapp-1' }).ok).toBe(true);
  });
  it('accepts only the store URLs keyv is configured for', () => {
    expect(parseEnv({ ...base, STORE_URL: 'redis://127.0.0.1:6379' }).ok).toBe(true);
    expect(parseEnv({ ...base, STORE_URL: 'mongodb://x' }).ok).toBe(false);
  });
});
