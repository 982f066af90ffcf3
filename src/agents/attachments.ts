/**
 * How a file a person shared reaches the agent, decided from its type and size alone.
 * Pure, so the rules are unit-tested and the README can state them exactly.
 */

export const INPUT_LIMITS = {
  /** Per file. Larger files are refused with a message; the rest of the message still goes. */
  maxFileBytes: 25 * 1024 * 1024,
  /** Per message; files beyond this are refused. */
  maxFiles: 10,
  /** Images above this are mounted as files instead: the model's own image limit is 5 MB. */
  maxImageBlockBytes: 5 * 1024 * 1024,
} as const;
export type InputLimits = { maxFileBytes: number; maxFiles: number; maxImageBlockBytes: number };

/** Where mounted files appear in the agent's container (each under its Slack file id). */
const UPLOADS_DIR = '/mnt/session/uploads';

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const DOCUMENT_TYPES = new Set(['application/pdf', 'text/plain']);

export type Placement = 'image' | 'document' | 'mount';

export type FileFacts = { id: string; name: string; mimetype: string; size: number };

/** Image and document blocks show the file to the model; anything else is mounted for its tools. */
export function placementOf(f: Pick<FileFacts, 'mimetype' | 'size'>, limits: InputLimits = INPUT_LIMITS): Placement {
  const mime = f.mimetype.toLowerCase().split(';')[0]!.trim();
  if (IMAGE_TYPES.has(mime)) return f.size <= limits.maxImageBlockBytes ? 'image' : 'mount';
  if (DOCUMENT_TYPES.has(mime)) return 'document';
  return 'mount';
}

export type Refusal = { file: FileFacts; reason: 'too_large' | 'too_many' | 'not_downloadable' };

/** Which shared files are taken, in order, and which are refused and why. */
export function admitFiles<F extends FileFacts & { downloadUrl?: string }>(
  files: readonly F[],
  limits: InputLimits = INPUT_LIMITS,
): { admitted: F[]; refused: Refusal[] } {
  const admitted: F[] = [];
  const refused: Refusal[] = [];
  for (const f of files) {
    if (!f.downloadUrl) refused.push({ file: f, reason: 'not_downloadable' });
    else if (f.size > limits.maxFileBytes) refused.push({ file: f, reason: 'too_large' });
    else if (admitted.length >= limits.maxFiles) refused.push({ file: f, reason: 'too_many' });
    else admitted.push(f);
  }
  return { admitted, refused };
}

/**
 * `/mnt/session/uploads/<slack file id>/<name>`: the id keeps two files of the same name
 * apart; the name is reduced to characters that need no quoting in a shell.
 */
export function mountPathFor(f: Pick<FileFacts, 'id' | 'name'>): string {
  const base = f.name.split(/[\\/]/).pop() ?? '';
  const safe =
    base
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^\.+/, '')
      .slice(0, 120) || 'file';
  const dir = f.id.replace(/[^A-Za-z0-9_-]+/g, '_');
  return `${UPLOADS_DIR}/${dir}/${safe}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

export function refusalWords(r: Refusal, limits: InputLimits = INPUT_LIMITS): string {
  switch (r.reason) {
    case 'too_large':
      return `${r.file.name} (${formatBytes(r.file.size)}) is larger than the ${formatBytes(limits.maxFileBytes)} limit per file`;
    case 'too_many':
      return `${r.file.name} is over the limit of ${limits.maxFiles} files per message`;
    case 'not_downloadable':
      return `${r.file.name} cannot be downloaded from Slack (an external or hidden file)`;
  }
}

export type PlacedFile = { name: string; size: number; placement: Placement; mountPath?: string };

/** The person's words plus a note on where each file is, so the agent can find mounted ones. */
export function textForAgent(text: string, placed: readonly PlacedFile[]): string {
  if (placed.length === 0) return text;
  const lines = placed.map((p) =>
    p.placement === 'mount'
      ? `- ${p.name} (${formatBytes(p.size)}): mounted read-only at ${p.mountPath}`
      : `- ${p.name} (${formatBytes(p.size)}): attached to this message as ${p.placement === 'image' ? 'an image' : 'a document'}`,
  );
  return `${text}\n\n[Files shared in Slack with this message]\n${lines.join('\n')}`;
}
