import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/env.js';

const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', ANTHROPIC_API_KEY: 'k' };

describe('parseEnv', () => {
  it('applies defaults', () => {
    const r = parseEnv(base);
    expect(r.kind === 'parsed' && r.env).toMatchObject({ PORT: 3000, LOG_LEVEL: 'info', STORE_URL: 'sqlite://data/bot.sqlite' });
  });
  it('names the missing variable in one line', () => {
    const r = parseEnv({ ...base, ANTHROPIC_API_KEY: undefined });
    expect(r).toEqual({ kind: 'invalid', message: expect.stringMatching(/^Configuration error: ANTHROPIC_API_KEY is missing/) });
  });
  it('says what a malformed value should look like', () => {
    const r = parseEnv({ ...base, PORT: 'eighty', AGENT_ID: 'nope' });
    expect(r.kind).toBe('invalid');
    if (r.kind === 'parsed') return;
    expect(r.message).toContain('PORT is invalid');
    expect(r.message).toContain('AGENT_ID is invalid: expected an agent id starting with agent_');
    expect(r.message.split('\n')).toHaveLength(1);
  });
  it('requires the signing secret only in HTTP mode', () => {
    expect(parseEnv({ ...base, SLACK_SIGNING_SECRET: undefined }).kind).toBe('invalid');
    expect(parseEnv({ ...base, SLACK_SIGNING_SECRET: undefined, SLACK_APP_TOKEN: 'xapp-1' }).kind).toBe('parsed');
  });
  it('accepts only the store URLs keyv is configured for', () => {
    expect(parseEnv({ ...base, STORE_URL: 'redis://127.0.0.1:6379' }).kind).toBe('parsed');
    expect(parseEnv({ ...base, STORE_URL: 'mongodb://x' }).kind).toBe('invalid');
  });
});

describe('access and spend settings', () => {
  it('reads the lists, flags, limits and caps with their defaults', () => {
    const r = parseEnv(base);
    expect(r.kind === 'parsed' && r.env).toMatchObject({
      ALLOWED_USERS: [],
      ALLOWED_CHANNELS: [],
      ALLOW_DMS: true,
      ALLOW_GUESTS: false,
      ADMIN_USERS: [],
      MAX_RUNNING_PER_USER: 3,
      MAX_PROMPT_CHARS: 20_000,
    });
    expect(r.kind === 'parsed' && r.env.SESSION_BUDGET_USD).toBeUndefined();
    const set = parseEnv({
      ...base,
      ALLOWED_USERS: 'U1, W2',
      ALLOWED_CHANNELS: 'C1,G2,D3',
      ALLOW_DMS: 'false',
      ALLOW_GUESTS: 'true',
      ADMIN_USERS: 'U9',
      MAX_RUNNING_PER_USER: '5',
      SESSION_BUDGET_USD: '2.50',
      SESSION_BUDGET_MAX_USD: '10',
    });
    expect(set.kind === 'parsed' && set.env).toMatchObject({
      ALLOWED_USERS: ['U1', 'W2'],
      ALLOWED_CHANNELS: ['C1', 'G2', 'D3'],
      ALLOW_DMS: false,
      ALLOW_GUESTS: true,
      ADMIN_USERS: ['U9'],
      MAX_RUNNING_PER_USER: 5,
      SESSION_BUDGET_USD: 2.5,
      SESSION_BUDGET_MAX_USD: 10,
    });
  });

  it('names each bad value in one line', () => {
    const r = parseEnv({
      ...base,
      ALLOWED_USERS: 'dana',
      ALLOWED_CHANNELS: 'random',
      ALLOW_DMS: 'maybe',
      SESSION_BUDGET_USD: '$5',
      MAX_PROMPT_CHARS: '0',
    });
    expect(r.kind).toBe('invalid');
    if (r.kind === 'parsed') return;
    expect(r.message.split('\n')).toHaveLength(1);
    expect(r.message).toContain('ALLOWED_USERS.0 is invalid: expected Slack user ids such as U012ABCDEF');
    expect(r.message).toContain('ALLOWED_CHANNELS.0 is invalid: expected Slack channel ids such as C012ABCDEF');
    expect(r.message).toContain('ALLOW_DMS is invalid: expected true or false');
    expect(r.message).toContain('SESSION_BUDGET_USD is invalid: expected an amount in US dollars such as 5 or 12.50');
    expect(r.message).toContain('MAX_PROMPT_CHARS is invalid');
    const below = parseEnv({ ...base, SESSION_BUDGET_USD: '5', SESSION_BUDGET_MAX_USD: '2' });
    expect(below.kind === 'invalid' && below.message).toContain('SESSION_BUDGET_MAX_USD is invalid: must be at least SESSION_BUDGET_USD (5)');
  });
});
