/** The words of the App Home tab (mission control). One case per kind, like `replies.ts`. */
export type HomeWords =
  | { kind: 'mine_header' }
  | { kind: 'mine_empty' }
  | { kind: 'running_header'; count: number }
  | { kind: 'running_empty' }
  | { kind: 'today_header' }
  | { kind: 'more'; count: number }
  | { kind: 'stop' }
  | { kind: 'stop_all' }
  | { kind: 'stop_all_confirm_title' }
  | { kind: 'stop_all_confirm_text'; count: number }
  | { kind: 'stop_all_confirm_yes' }
  | { kind: 'stop_all_confirm_no' }
  | { kind: 'state'; state: HomeState }
  | { kind: 'age'; minutes: number }
  | { kind: 'older_in_threads' };

/** A session's state as the Home tab shows it. */
export type HomeState = 'starting' | 'running' | 'waiting' | 'stopping' | 'idle' | 'ended' | 'failed';

export function homeWords(w: HomeWords): string {
  switch (w.kind) {
    case 'mine_header':
      return 'Your agent sessions';
    case 'mine_empty':
      return 'No sessions yet. Start one with `/agent <what the agent should do>`, a mention, or a message here.';
    case 'running_header':
      return `Every running session (${w.count})`;
    case 'running_empty':
      return 'Nothing is running in this workspace.';
    case 'today_header':
      return 'Today';
    case 'more':
      return `…and ${w.count} more.`;
    case 'stop':
      return 'Stop';
    case 'stop_all':
      return 'Stop all';
    case 'stop_all_confirm_title':
      return 'Stop every session?';
    case 'stop_all_confirm_text':
      return `This interrupts all ${w.count} running session${w.count === 1 ? '' : 's'} in the workspace. Their owners see who stopped them.`;
    case 'stop_all_confirm_yes':
      return 'Stop all';
    case 'stop_all_confirm_no':
      return 'Cancel';
    case 'state':
      return STATE_WORDS[w.state];
    case 'age':
      return w.minutes < 1 ? 'just now' : w.minutes < 60 ? `${w.minutes} min ago` : `${Math.floor(w.minutes / 60)} h ago`;
    case 'older_in_threads':
      return 'Your newest sessions and every running one are listed here; older ones are in their threads.';
  }
}

const STATE_WORDS: Record<HomeState, string> = {
  starting: ':hourglass_flowing_sand: Starting',
  running: ':hourglass_flowing_sand: Running',
  waiting: ':raised_hand: Waiting for you',
  stopping: ':octagonal_sign: Stopping',
  idle: ':white_check_mark: Done',
  ended: ':white_check_mark: Ended',
  failed: ':x: Failed',
};
