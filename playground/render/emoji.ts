/** The emoji shortcodes the bot's words and receipts use, plus a few people type; others stay as `:name:`. */
const EMOJI: Record<string, string> = {
  white_check_mark: '✅',
  heavy_check_mark: '✔️',
  x: '❌',
  moneybag: '💰',
  warning: '⚠️',
  octagonal_sign: '🛑',
  no_entry: '⛔',
  raised_hand: '✋',
  hourglass_flowing_sand: '⏳',
  hourglass: '⌛',
  question: '❓',
  bar_chart: '📊',
  eyes: '👀',
  thumbsup: '👍',
  '+1': '👍',
  speech_balloon: '💬',
  gear: '⚙️',
  page_facing_up: '📄',
  package: '📦',
  paperclip: '📎',
  robot_face: '🤖',
  memo: '📝',
  wrench: '🔧',
  mag: '🔍',
  tada: '🎉',
  inbox_tray: '📥',
  outbox_tray: '📤',
  arrows_counterclockwise: '🔄',
  bulb: '💡',
  lock: '🔒',
};

export function emoji(name: string): string | undefined {
  return EMOJI[name.split('::')[0]!];
}

/** `:name:` shortcodes in already-escaped HTML text (the names are letters, digits, `_`, `+`, `-`). */
export function replaceShortcodes(html: string): string {
  return html.replace(/:([a-z0-9_+-]+(?:::skin-tone-\d)?):/g, (whole, name: string) => emoji(name) ?? whole);
}
