/**
 * The sentences of Slack's own agent surfaces: the loading messages under Slack's
 * "working…" row, the Messages tab's greeting and suggested prompts, the answer to a
 * feedback click and its dialog, and the Home tab. One case per kind, like `replies.ts`.
 */
export type NativeWords =
  /** The agent is writing or thinking, no tool running. */
  | { kind: 'loading_thinking' }
  /** A tool runs; `preview` is its most telling input (a command, a path), already one short line. */
  | { kind: 'loading_tool'; tool: string; preview: string }
  /** The agent waits for a person's approval or answer. */
  | { kind: 'loading_waiting' }
  /** The `assistant.threads.setStatus` status text while loading messages rotate. */
  | { kind: 'status_working' }
  /** Over the Messages tab's suggested prompts. */
  | { kind: 'greeting' }
  | { kind: 'feedback_thanks'; good: boolean }
  | { kind: 'feedback_dialog_title' }
  | { kind: 'feedback_dialog_label' }
  | { kind: 'feedback_dialog_submit' }
  | { kind: 'feedback_noted' };

export function nativeWords(w: NativeWords): string {
  switch (w.kind) {
    case 'loading_thinking':
      return 'thinking…';
    case 'loading_tool':
      return w.preview ? `running \`${w.preview}\`…` : `running ${w.tool}…`;
    case 'loading_waiting':
      return 'waiting for you in the thread…';
    case 'status_working':
      return 'is working…';
    case 'greeting':
      return 'Hi! Tell me what to do and I will run an agent on it in this thread. Reply to steer it; Stop interrupts it.';
    case 'feedback_thanks':
      return w.good ? 'Thanks for the feedback!' : 'Thanks for telling me. If you like, say what went wrong in the dialog.';
    case 'feedback_dialog_title':
      return 'What went wrong?';
    case 'feedback_dialog_label':
      return 'What went wrong with this answer? The bot’s operators read this.';
    case 'feedback_dialog_submit':
      return 'Send';
    case 'feedback_noted':
      return 'Thanks: your note is kept with the feedback.';
  }
}

/** Offered on the Messages tab when no profile lists suggested prompts of its own. */
export const DEFAULT_PROMPTS: ReadonlyArray<{ title: string; message: string }> = [
  { title: 'Fix a failing test', message: 'Find out why the test suite fails on main and fix it.' },
  { title: 'Explain the code', message: 'Explain how this repository is organised and where to start reading.' },
];
