import Anthropic from '@anthropic-ai/sdk';
import { LogLevel, WebClient } from '@slack/web-api';

/**
 * The strategy most agent bots ship: one chat.postMessage per agent event, no budget,
 * the client's own 429 handling (which pauses the whole client). For comparison only.
 */
export class NaiveBot {
  private readonly slack: WebClient;
  private readonly agents: Anthropic;
  private readonly aborts: AbortController[] = [];
  private readonly loops: Promise<void>[] = [];

  constructor(opts: { slackApiUrl: string; anthropicUrl: string }) {
    this.slack = new WebClient('xoxb-test', {
      slackApiUrl: opts.slackApiUrl,
      retryConfig: { retries: 3, factor: 1, minTimeout: 100, maxTimeout: 500 },
      logLevel: LogLevel.ERROR,
    });
    this.agents = new Anthropic({ apiKey: 'test-key', baseURL: opts.anthropicUrl, maxRetries: 0 });
  }

  async start(p: { agentId: string; environmentId: string; channel: string; prompt: string }): Promise<{ threadTs: string; sessionId: string }> {
    const root = await this.slack.chat.postMessage({ channel: p.channel, text: `Agent: ${p.prompt}` });
    const threadTs = root.ts!;
    const session = await this.agents.beta.sessions.create({
      agent: p.agentId,
      environment_id: p.environmentId,
      metadata: { slack_channel: p.channel, slack_thread: threadTs },
    });
    const abort = new AbortController();
    this.aborts.push(abort);
    const stream = await this.agents.beta.sessions.events.stream(session.id, { event_deltas: ['agent.message'] }, { signal: abort.signal });
    this.loops.push(
      (async () => {
        const posts: Promise<unknown>[] = [];
        try {
          for await (const event of stream) {
            if (event.type === 'event_delta') {
              const text = (event.delta as { content?: { text?: string } }).content?.text;
              if (text)
                posts.push(this.slack.chat.postMessage({ channel: p.channel, thread_ts: threadTs, markdown_text: text }).catch(() => undefined));
            }
          }
        } catch {
          // aborted at the end of the window
        }
        await Promise.allSettled(posts);
      })(),
    );
    await this.agents.beta.sessions.events.send(session.id, { events: [{ type: 'user.message', content: [{ type: 'text', text: p.prompt }] }] });
    return { threadTs, sessionId: session.id };
  }

  async stop(): Promise<void> {
    for (const a of this.aborts) a.abort();
    await Promise.race([Promise.allSettled(this.loops), new Promise((r) => setTimeout(r, 2000))]);
  }
}
