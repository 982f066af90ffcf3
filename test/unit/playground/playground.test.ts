import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRODUCTION_REFUSAL, readPlaygroundEnv } from '../../../playground/env.js';
import { blocksToHtml } from '../../../playground/render/blocks.js';
import { escapeHtml, safeUrl } from '../../../playground/render/escape.js';
import { markdownToHtml } from '../../../playground/render/markdown.js';
import { messageBodyHtml, reactionsHtml } from '../../../playground/render/message.js';
import { mrkdwnToHtml } from '../../../playground/render/mrkdwn.js';
import { renderApproval } from '../../../src/render/approval-card.js';
import { findViolations, PURE_CORE_RULES } from '../../support/import-boundary.js';

const HOSTILE = `<script>alert(1)</script><img src=x onerror="alert(2)">'"&`;

/** No tag the renderer did not write itself: every `<` the input had is escaped. */
function tagsIn(html: string): string[] {
  return [...html.matchAll(/<([a-z0-9]+)[\s>]/gi)].map((m) => m[1]!.toLowerCase());
}

describe('playground renderer: escaping (the agent’s text is untrusted)', () => {
  it('escapes the five HTML characters', () => {
    expect(escapeHtml(HOSTILE)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;&#39;&quot;&amp;');
  });

  it('markdown_text with tags, in code, in links and in fences shows them as text', () => {
    const html = markdownToHtml(
      `# ${HOSTILE}\n\n${HOSTILE}\n\n\`${HOSTILE}\`\n\n[${HOSTILE}](https://example.com)\n\n\`\`\`html\n${HOSTILE}\n\`\`\``,
    );
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(new Set(tagsIn(html))).toEqual(new Set(['h3', 'p', 'code', 'a', 'pre']));
  });

  it('mrkdwn with tags, in angle tokens and labels shows them as text', () => {
    const html = mrkdwnToHtml(`*${HOSTILE}* <https://example.com|${HOSTILE}> <@U1|${HOSTILE}> \`${HOSTILE}\``);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    for (const tag of tagsIn(html)) expect(['b', 'a', 'span', 'code']).toContain(tag);
    // As the bot sends it: the agent's `<` and `>` escaped to Slack's entities.
    const escaped = mrkdwnToHtml('*&lt;script&gt;alert(1)&lt;/script&gt;* <https://example.com|&lt;img src=x onerror=alert(2)&gt;>');
    expect(escaped).toBe(
      '<b>&lt;script&gt;alert(1)&lt;/script&gt;</b> <a href="https://example.com" target="_blank" rel="noopener noreferrer">&lt;img src=x onerror=alert(2)&gt;</a>',
    );
  });

  it('links only http(s) and mailto: javascript: and data: URLs stay text', () => {
    expect(safeUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeUrl('data:text/html,<b>x</b>')).toBeUndefined();
    expect(safeUrl('/relative')).toBeUndefined();
    expect(safeUrl('https://example.com/a?b=1')).toBe('https://example.com/a?b=1');
    expect(markdownToHtml('[click](javascript:alert(1))')).not.toContain('href');
    expect(mrkdwnToHtml('<javascript:alert(1)|click>')).toBe('click');
    const quoted = markdownToHtml('[x](https://example.com/"onmouseover="alert(1))');
    expect(quoted).not.toMatch(/href="[^"]*"onmouseover/);
  });

  it('button labels, values and ids are escaped into text and attributes', () => {
    const html = blocksToHtml([
      {
        type: 'actions',
        block_id: `b"${HOSTILE}`,
        elements: [{ type: 'button', action_id: `a"><script>`, value: `v"'<>`, text: { type: 'plain_text', text: HOSTILE } }],
      },
    ]);
    expect(html).not.toContain('<script');
    expect(tagsIn(html)).toEqual(['div', 'button']);
    expect(html).toContain('data-value="v&quot;&#39;&lt;&gt;"');
  });

  it('the private-use characters the renderer marks pieces with cannot be smuggled in', () => {
    const html = mrkdwnToHtml('\uE0000\uE001 `<b>`');
    expect(html).not.toContain('\uE000');
    expect(html).toContain('<code>&lt;b&gt;</code>');
  });
});

describe('playground renderer: mrkdwn', () => {
  it('formats bold, italic, strike and code as Slack does, only at word edges', () => {
    expect(mrkdwnToHtml('*bold* _it_ ~gone~ `x*y*z`')).toBe('<b>bold</b> <i>it</i> <s>gone</s> <code>x*y*z</code>');
    expect(mrkdwnToHtml('2*3*4 snake_case_name')).toBe('2*3*4 snake_case_name');
  });

  it('decodes Slack’s entities once and escapes them again for HTML', () => {
    expect(mrkdwnToHtml('a &lt;b&gt; &amp;amp;')).toBe('a &lt;b&gt; &amp;amp;');
  });

  it('renders mentions with display names, links with labels, dates in UTC', () => {
    const html = mrkdwnToHtml('approved by <@U1> at <!date^1700000000^{date_num} {time}|fallback> · <https://a.example/x|the log>', {
      people: (id) => (id === 'U1' ? 'Dana' : undefined),
    });
    expect(html).toContain('<span class="mention" data-user="U1">@Dana</span>');
    expect(html).toContain('<time datetime="2023-11-14T22:13:20.000Z">2023-11-14 22:13 UTC</time>');
    expect(html).toContain('<a href="https://a.example/x" target="_blank" rel="noopener noreferrer">the log</a>');
  });

  it('a date with a format it does not know reads as the fallback', () => {
    expect(mrkdwnToHtml('<!date^1700000000^{ago}|a while ago>')).toContain('a while ago');
  });

  it('``` blocks are preformatted and unformatted; > lines are quotes; emoji shortcodes become emoji', () => {
    expect(mrkdwnToHtml('```\n*not bold*\n```')).toBe('<pre class="code">*not bold*</pre>');
    expect(mrkdwnToHtml('&gt; quoted\nplain')).toBe('<blockquote>quoted</blockquote>plain');
    expect(mrkdwnToHtml(':white_check_mark: Done :unknown_thing:')).toBe('✅ Done :unknown_thing:');
  });
});

describe('playground renderer: Markdown', () => {
  it('renders fences with their language, headings, lists, quotes and inline styles', () => {
    const html = markdownToHtml('## Plan\n\n1. **first** step\n2. *second*\n\n- `a`\n- ~~b~~\n\n> note\n\n```ts\nconst x = 1 < 2;\n```');
    expect(html).toBe(
      '<h4>Plan</h4><ol><li><b>first</b> step</li><li><i>second</i></li></ol><ul><li><code>a</code></li><li><s>b</s></li></ul>' +
        '<blockquote><p>note</p></blockquote><pre class="code" data-lang="ts">const x = 1 &lt; 2;</pre>',
    );
  });

  it('an unclosed fence (a stream mid-way) is still code to the end', () => {
    expect(markdownToHtml('Look:\n```\nline 1\nline 2')).toBe('<p>Look:</p><pre class="code">line 1\nline 2</pre>');
  });

  it('bare URLs become links without the sentence’s full stop', () => {
    expect(markdownToHtml('See https://example.com/a.')).toBe(
      '<p>See <a href="https://example.com/a" target="_blank" rel="noopener noreferrer">https://example.com/a</a>.</p>',
    );
  });
});

describe('playground renderer: Block Kit messages', () => {
  it('an approval card the bot sends shows its text and both buttons with their action ids and value', () => {
    const card = renderApproval(
      { kind: 'approval', id: 'sevt_1', name: 'bash', input: { command: 'rm -rf build/' }, turn: 1, state: 'pending' },
      undefined,
      'U1',
    );
    if (!('blocks' in card)) throw new Error('an approval card has blocks');
    const html = messageBodyHtml({ text: card.text, blocks: [...(card.blocks ?? [])] }, { people: () => 'Dana' });
    expect(html).toContain('<span class="mention" data-user="U1">@Dana</span> or an approver can decide.');
    expect(html).toContain('data-action-id="approve_tool"');
    expect(html).toContain('data-action-id="deny_tool"');
    expect(html).toContain('rm -rf build/');
    expect(html).toContain('class="button primary"');
  });

  it('markdown_text wins over text; blocks replace text; files and reactions follow', () => {
    expect(messageBodyHtml({ text: 'fallback', markdown_text: '**hi**' })).toBe('<div class="markdown"><p><b>hi</b></p></div>');
    const withBlocks = messageBodyHtml({ text: 'fallback', blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: '📊 Turn 1' }] }] });
    expect(withBlocks).not.toContain('fallback');
    expect(withBlocks).toContain('<div class="block context"><span class="context-text">📊 Turn 1</span></div>');
    const file = messageBodyHtml({ text: '', files: [{ id: 'F1', name: 'summary.md', size: 2048 }] }, { fileHref: (id) => `/files/${id}` });
    expect(file).toContain('<a href="/files/F1" target="_blank" rel="noopener">summary.md</a>');
    expect(file).toContain('2.0 KB');
    expect(reactionsHtml([{ name: 'eyes', users: ['U_BOT', 'UYOU'] }], 'UYOU')).toBe(
      '<div class="reactions"><span class="reaction mine" data-reaction="eyes" title=":eyes:">👀 2</span></div>',
    );
  });

  it('a modal’s input block becomes a labelled field named by its block and action ids', () => {
    const html = blocksToHtml([
      {
        type: 'input',
        block_id: 'reason',
        optional: true,
        label: { type: 'plain_text', text: 'Why?' },
        element: { type: 'plain_text_input', action_id: 'reason_input', multiline: true },
      },
    ]);
    expect(html).toBe(
      '<div class="block input"><label>Why? <span class="optional">(optional)</span><textarea data-block-id="reason" data-action-id="reason_input"></textarea></label></div>',
    );
  });

  it('feedback buttons under an answer send their action_id with the value of the half pressed', () => {
    const html = blocksToHtml([
      {
        type: 'context_actions',
        block_id: 'feedback:1',
        elements: [
          {
            type: 'feedback_buttons',
            action_id: 'feedback',
            positive_button: { text: { type: 'plain_text', text: '👍' }, value: 'good:1', accessibility_label: 'Good answer' },
            negative_button: { text: { type: 'plain_text', text: '👎' }, value: 'bad:1', accessibility_label: 'Bad answer' },
          },
        ],
      },
    ]);
    expect(html).toBe(
      '<div class="block context-actions">' +
        '<button type="button" class="button small" title="Good answer" data-action-id="feedback" data-block-id="feedback:1" data-value="good:1">👍</button>' +
        '<button type="button" class="button small" title="Bad answer" data-action-id="feedback" data-block-id="feedback:1" data-value="bad:1">👎</button></div>',
    );
  });

  it('an unknown block is named, not dropped', () => {
    expect(blocksToHtml([{ type: 'video', block_id: 'v' }])).toBe('<div class="block unsupported">[video block]</div>');
  });
});

const ROOT = resolve(import.meta.dirname, '../../..');
const RENDERER = readdirSync(join(ROOT, 'playground/render'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => `playground/render/${f}`);

describe('the playground renderer is pure (as src/render is)', () => {
  it.each(RENDERER)('%s', (entry) => {
    expect(findViolations(ROOT, [entry], PURE_CORE_RULES).map((v) => `${v.rule}: ${v.chain.join(' → ')}`)).toEqual([]);
  });
});

describe('the playground’s environment', () => {
  it('refuses NODE_ENV=production before reading anything else', () => {
    expect(readPlaygroundEnv({ NODE_ENV: 'production', PLAYGROUND_PORT: 'not a port' })).toEqual({ kind: 'production', message: PRODUCTION_REFUSAL });
    expect(readPlaygroundEnv({ NODE_ENV: ' Production ' }).kind).toBe('production');
  });

  it('runs on the demo agent by default, on port 3300, and says what is wrong with a bad setting', () => {
    expect(readPlaygroundEnv({ NODE_ENV: 'development', ANTHROPIC_API_KEY: '' })).toEqual({
      kind: 'ok',
      env: { NODE_ENV: 'development', PLAYGROUND_PORT: 3300, LOG_LEVEL: 'warn' },
    });
    expect(readPlaygroundEnv({ PLAYGROUND_PORT: '70000' })).toMatchObject({ kind: 'invalid', message: expect.stringContaining('PLAYGROUND_PORT') });
  });
});

describe('production does not reach the playground', () => {
  it('no module under src/ imports from playground/', () => {
    const sources = readdirSync(join(ROOT, 'src'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts'));
    expect(sources.length).toBeGreaterThan(50);
    const importing = sources.filter((f) => /from\s+['"][./]*playground\//.test(readFileSync(join(ROOT, 'src', f), 'utf8')));
    expect(importing).toEqual([]);
  });
});
