import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/env.js';
import { DAY_MS, isPrunable, SEEN_TTL_MS } from '../../src/store/retention.js';

const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', ANTHROPIC_API_KEY: 'k' };
const now = 1_800_000_000_000;
const retention = 30 * DAY_MS;

describe('isPrunable', () => {
  it('takes a record whose session stopped running longer ago than the retention', () => {
    for (const status of ['idle', 'ended', 'failed']) {
      expect(isPrunable({ status, createdAt: 0, updatedAt: now - retention - 1 }, now, retention)).toBe(true);
      expect(isPrunable({ status, createdAt: 0, updatedAt: now - retention }, now, retention)).toBe(false);
    }
  });
  it('never takes a running one, however old', () => {
    expect(isPrunable({ status: 'active', createdAt: 0, updatedAt: 0 }, now, retention)).toBe(false);
    expect(isPrunable({ status: 'starting', createdAt: 0 }, now, retention)).toBe(false);
  });
  it('counts a record from before updatedAt from its creation', () => {
    expect(isPrunable({ status: 'idle', createdAt: now - retention - 1 }, now, retention)).toBe(true);
    expect(isPrunable({ status: 'idle', createdAt: now - DAY_MS }, now, retention)).toBe(false);
  });
  it('keeps dedupe keys for hours, well past Slack’s last retry (5 minutes), not for ever', () => {
    expect(SEEN_TTL_MS).toBeGreaterThan(5 * 60 * 1000);
    expect(SEEN_TTL_MS).toBeLessThanOrEqual(DAY_MS);
  });
});

describe('RECORD_RETENTION_DAYS', () => {
  it('defaults to 30 days and takes a whole number of days', () => {
    const r = parseEnv(base);
    expect(r.kind === 'parsed' && r.env.RECORD_RETENTION_DAYS).toBe(30);
    const seven = parseEnv({ ...base, RECORD_RETENTION_DAYS: '7' });
    expect(seven.kind === 'parsed' && seven.env.RECORD_RETENTION_DAYS).toBe(7);
  });
  it('says what is wrong with a bad value', () => {
    expect(parseEnv({ ...base, RECORD_RETENTION_DAYS: '0' })).toEqual({
      kind: 'invalid',
      message: expect.stringContaining('RECORD_RETENTION_DAYS is invalid: expected at least 1 day'),
    });
    expect(parseEnv({ ...base, RECORD_RETENTION_DAYS: 'a month' })).toEqual({
      kind: 'invalid',
      message: expect.stringContaining('RECORD_RETENTION_DAYS is invalid'),
    });
    expect(parseEnv({ ...base, RECORD_RETENTION_DAYS: '1.5' })).toEqual({
      kind: 'invalid',
      message: expect.stringContaining('expected a whole number of days'),
    });
  });
});
