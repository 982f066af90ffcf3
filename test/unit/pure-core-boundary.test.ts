import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findViolations, PURE_CORE_RULES, runtimeImportsOf } from '../support/import-boundary.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The pure core: state → Slack messages, the words people read, the text plan, message routing, the access policy. */
const PURE_CORE = [
  ...readdirSync(join(ROOT, 'src/render'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/render/${f}`),
  ...readdirSync(join(ROOT, 'src/words'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/words/${f}`),
  'src/bridge/thread-state.ts',
  'src/delivery/text-plan.ts',
  'src/delivery/text-hash.ts',
  'src/slack/route-message.ts',
  'src/access/policy.ts',
  'src/access/words.ts',
  'src/access/spend-cap.ts',
  'src/replicas/lease-state.ts',
];

describe('the pure core imports no Slack, SDK, store or logger module', () => {
  it('covers every render module', () => {
    expect(PURE_CORE).toContain('src/render/sanitize.ts');
    expect(PURE_CORE.filter((f) => f.startsWith('src/render/')).length).toBeGreaterThan(5);
  });

  it.each(PURE_CORE)('%s', (entry) => {
    const found = findViolations(ROOT, [entry], PURE_CORE_RULES).map((v) => `${v.rule}: ${v.chain.join(' → ')}`);
    expect(found).toEqual([]);
  });
});

describe('the import checker', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const fixture = (files: Record<string, string>): string => {
    const root = mkdtempSync(join(tmpdir(), 'boundary-'));
    dirs.push(root);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  };

  it('finds a forbidden import two relative hops away and names the chain', () => {
    const root = fixture({
      'src/render/card.ts': "import { clean } from './clean.js';\nexport const card = clean;\n",
      'src/render/clean.ts': "import { scrub } from '../ops/logger.js';\nexport const clean = scrub;\n",
      'src/ops/logger.ts': "import { pino } from 'pino';\nexport const scrub = (s: string) => s; export const l = pino;\n",
    });
    const found = findViolations(root, ['src/render/card.ts'], PURE_CORE_RULES);
    expect(found.map((v) => [v.rule, v.chain])).toEqual([
      ['no logger', ['src/render/card.ts', 'src/render/clean.ts', '../ops/logger.js']],
      ['no pino', ['src/render/card.ts', 'src/render/clean.ts', 'src/ops/logger.ts', 'pino']],
    ]);
  });

  it('flags Slack, SDK, keyv, node I/O and store imports, including dynamic ones and re-exports', () => {
    const root = fixture({
      'src/render/all.ts': [
        "import { WebClient } from '@slack/web-api';",
        "import Anthropic from '@anthropic-ai/sdk';",
        "import Keyv from 'keyv';",
        "import { readFileSync } from 'node:fs';",
        "import * as net from 'net';",
        "export { load } from '../store/thread-records.js';",
        "export const later = () => import('node:http');",
      ].join('\n'),
      'src/store/thread-records.ts': 'export const load = 1;\n',
    });
    const rules = findViolations(root, ['src/render/all.ts'], PURE_CORE_RULES).map((v) => v.rule);
    expect(rules).toEqual([
      'no Slack runtime package (type-only @slack/types is fine)',
      'no Anthropic SDK',
      'no keyv',
      'no node I/O module',
      'no node I/O module',
      'no store module',
      'no node I/O module',
    ]);
  });

  it('lets type-only imports through, but not `import { type X }` (it still loads the module)', () => {
    expect(runtimeImportsOf("import type { KnownBlock } from '@slack/types';\nexport type { X } from '../store/a.js';")).toEqual([]);
    expect(runtimeImportsOf("import { type Logger } from 'pino';")).toEqual(['pino']);
    const root = fixture({
      'src/render/ok.ts': "import type { Block } from '@slack/types';\nimport { createHash } from 'node:crypto';\nimport { z } from 'zod';\n",
    });
    expect(findViolations(root, ['src/render/ok.ts'], PURE_CORE_RULES)).toEqual([]);
  });
});
