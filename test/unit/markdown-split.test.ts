import { describe, expect, it } from 'vitest';
import { splitMarkdown } from '../../src/render/markdown-split.js';

describe('splitMarkdown', () => {
  it('leaves short text alone', () => {
    expect(splitMarkdown('hello\n\nworld', 100)).toEqual(['hello\n\nworld']);
  });

  it('splits at paragraph boundaries under the limit, losing no text', () => {
    const paras = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} ${'word '.repeat(10).trim()}`);
    const text = paras.join('\n\n');
    const parts = splitMarkdown(text, 200);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(200);
    expect(parts.join('\n\n')).toBe(text);
  });

  it('closes and reopens a code fence cut in two', () => {
    const code = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
    const text = `Intro\n\n\`\`\`ts\n${code}\n\`\`\`\n\nOutro`;
    const parts = splitMarkdown(text, 150);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(150);
      const fences = p.split('\n').filter((l) => l.startsWith('```')).length;
      expect(fences % 2).toBe(0);
    }
    const codeLines = parts.join('\n').split('\n').filter((l) => l.startsWith('line '));
    expect(codeLines).toEqual(code.split('\n'));
  });

  it('hard-wraps a single line longer than the limit', () => {
    const parts = splitMarkdown('x'.repeat(1000), 300);
    expect(parts.join('')).toBe('x'.repeat(1000));
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(300);
  });
});
