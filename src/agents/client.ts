import Anthropic from '@anthropic-ai/sdk';

export type AgentsClient = Anthropic;

export function createAgentsClient(opts: { apiKey: string; baseURL?: string; maxRetries?: number }): AgentsClient {
  return new Anthropic({
    apiKey: opts.apiKey,
    ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
    maxRetries: opts.maxRetries ?? 2,
  });
}
