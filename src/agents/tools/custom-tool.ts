import { z } from 'zod';
import type { BetaManagedAgentsDocumentBlock, BetaManagedAgentsImageBlock } from '@anthropic-ai/sdk/resources/beta/sessions/events';
import type { ThreadRef } from '../../store/thread-records.js';
import type { SlackWriter } from '../../delivery/slack-writer.js';

export type ToolContext = {
  ref: ThreadRef;
  /** ts messages are threaded under (the session's thread). */
  threadTs: string;
  slack: SlackWriter;
  botUserId: string;
  signal: AbortSignal;
  /**
   * For tools that put a question to the thread: resolves with the first answer from
   * someone allowed to give it; rejects when nobody answers in time or the bot stops.
   */
  awaitAnswer(): Promise<{ user: string; text: string; attachments?: { text: string; blocks: ToolBlock[] } }>;
};

/** Files a result can carry besides its words (e.g. shared with an answer). */
export type ToolBlock = BetaManagedAgentsImageBlock | BetaManagedAgentsDocumentBlock;

/** A tool the agent calls and this bot executes; input is validated before `run`. */
export type CustomTool<Input> = {
  name: string;
  description: string;
  input: z.ZodType<Input>;
  /** The result's words, or words and file blocks. */
  run(input: Input, ctx: ToolContext): Promise<string | { text: string; blocks: ToolBlock[] }>;
};

export type ToolResult = { content: Array<{ type: 'text'; text: string } | ToolBlock>; is_error: boolean };

/** Helper so each tool file keeps its input type without casts. */
export const defineTool = <Input>(tool: CustomTool<Input>): CustomTool<Input> => tool;

/** The custom-tool entry for an agent definition, derived from the zod schema. */
export function toolDefinition(tool: CustomTool<unknown>) {
  const schema = z.toJSONSchema(tool.input, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  const { $schema: _ignored, ...inputSchema } = schema;
  return {
    type: 'custom' as const,
    name: tool.name,
    description: tool.description,
    input_schema: { type: 'object' as const, ...inputSchema },
  };
}
