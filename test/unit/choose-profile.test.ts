import { describe, expect, it } from 'vitest';
import { chooseProfile } from '../../src/agents/choose-profile.js';
import { AgentProfiles } from '../../src/agents/profiles.js';
import { splitProfileFlag } from '../../src/slack/profile-flag.js';
import { profileProblemWords } from '../../src/words/profiles.js';

const table = { names: ['general', 'research', 'coding'], channels: { CRESEARCH: 'research' }, defaultProfile: 'general' };

describe('chooseProfile', () => {
  it('takes the explicit flag first, then the channel, then the default', () => {
    expect(chooseProfile({ channel: 'CRESEARCH', requested: 'coding' }, table)).toEqual({ kind: 'chosen', profile: 'coding' });
    expect(chooseProfile({ channel: 'CRESEARCH' }, table)).toEqual({ kind: 'chosen', profile: 'research' });
    expect(chooseProfile({ channel: 'COTHER' }, table)).toEqual({ kind: 'chosen', profile: 'general' });
  });

  it('answers an unknown or empty name with the list of profiles instead of falling back', () => {
    const unknown = chooseProfile({ channel: 'CRESEARCH', requested: 'reserch' }, table);
    expect(unknown.kind).toBe('not_chosen');
    expect(unknown.kind === 'not_chosen' && profileProblemWords(unknown.problem)).toBe(
      'There is no agent profile named `reserch`. Profiles: `general`, `research` (used here by default), `coding`. Use `/agent --profile NAME your task`.',
    );
    const empty = chooseProfile({ channel: 'COTHER', requested: '' }, table);
    expect(empty.kind).toBe('not_chosen');
    expect(empty.kind === 'not_chosen' && profileProblemWords(empty.problem)).toMatch(
      /^`--profile` needs a profile name\. Profiles: `general` \(used here by default\)/,
    );
  });
});

describe('splitProfileFlag', () => {
  it('strips a leading --profile NAME or --profile=NAME', () => {
    expect(splitProfileFlag('--profile research find the paper')).toEqual({ profile: 'research', text: 'find the paper' });
    expect(splitProfileFlag('  --profile=coding  fix it\nplease')).toEqual({ profile: 'coding', text: 'fix it\nplease' });
    expect(splitProfileFlag('—profile research x')).toEqual({ profile: 'research', text: 'x' });
  });
  it('leaves prompts without a leading flag alone', () => {
    expect(splitProfileFlag('explain what --profile research does')).toEqual({ text: 'explain what --profile research does' });
    expect(splitProfileFlag('--profiles x')).toEqual({ text: '--profiles x' });
  });
  it('gives an empty name for a flag without one', () => {
    expect(splitProfileFlag('--profile')).toEqual({ profile: '', text: '' });
    expect(splitProfileFlag('--profile=')).toEqual({ profile: '', text: '' });
  });
});

describe('AgentProfiles without a profiles file', () => {
  const fixed = AgentProfiles.fixed({ agentId: 'agent_1', environmentId: 'env_1' });
  it('always gives the one target, unpinned and without a profile', () => {
    expect(fixed.configured).toBe(false);
    expect(fixed.choose({ channel: 'C1' })).toEqual({ kind: 'chosen', target: { agentId: 'agent_1', environmentId: 'env_1' } });
    expect(fixed.approversFor(undefined)).toEqual([]);
  });
  it('refuses --profile rather than ignoring it', () => {
    expect(fixed.choose({ channel: 'C1', requested: 'research' })).toEqual({ kind: 'not_chosen', problem: { kind: 'no_profiles' } });
  });
});
