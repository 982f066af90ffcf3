import type { Logger } from '../../ops/logger.js';
import { SlackCallError } from '../../delivery/slack-writer.js';
import type { CustomTool, ToolContext, ToolResult } from './custom-tool.js';
import { readThread } from './read-thread.js';
import { askUser } from './ask-user.js';

/** Every tool the bot implements. Adding one: a file beside this one and a line here. */
const BUILT_IN_TOOLS: ReadonlyArray<CustomTool<unknown>> = [readThread, askUser];

export class ToolRegistry {
  private readonly byName: Map<string, CustomTool<unknown>>;

  constructor(tools: ReadonlyArray<CustomTool<unknown>> = BUILT_IN_TOOLS) {
    this.byName = new Map(tools.map((t) => [t.name, t]));
  }

  get tools(): CustomTool<unknown>[] {
    return [...this.byName.values()];
  }

  /** Never throws: an unknown tool, bad input or a failing tool becomes is_error with a reason. */
  async run(name: string, rawInput: unknown, ctx: ToolContext, log: Logger): Promise<ToolResult> {
    const tool = this.byName.get(name);
    if (!tool) {
      log.warn({ tool: name }, 'agent called an unknown custom tool');
      return failure(`No tool named "${name}" is available. Available tools: ${[...this.byName.keys()].join(', ') || 'none'}.`);
    }
    const parsed = tool.input.safeParse(rawInput ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
      log.warn({ tool: name, problems }, 'custom tool input rejected');
      return failure(`Invalid input for ${name}: ${problems}`);
    }
    try {
      const out = await tool.run(parsed.data, ctx);
      if (typeof out === 'string') return { content: [{ type: 'text', text: out }], is_error: false };
      return { content: [{ type: 'text', text: out.text }, ...out.blocks], is_error: false };
    } catch (error) {
      log.error({ tool: name, err: error }, 'custom tool failed');
      const reason = error instanceof SlackCallError ? `Slack returned ${error.slackError}` : error instanceof Error ? error.message : String(error);
      return failure(`${name} failed: ${reason}`);
    }
  }
}

function failure(text: string): ToolResult {
  return { content: [{ type: 'text', text }], is_error: true };
}
