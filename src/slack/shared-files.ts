import { z } from 'zod';

/**
 * A file a person shared with a message, as the bot needs it. Slack file objects carry
 * far more; only what fetching and describing the file needs is read.
 */
export type SharedFile = {
  id: string;
  name: string;
  mimetype: string;
  /** As Slack reports it; the download is still capped, since this is only a claim. */
  size: number;
  /** Absent for external files (Google Drive links…) and for files hidden by plan limits. */
  downloadUrl?: string;
};

const SlackFileSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().optional(),
    title: z.string().optional(),
    mimetype: z.string().optional(),
    size: z.number().nonnegative().optional(),
    mode: z.string().optional(),
    url_private_download: z.string().optional(),
    url_private: z.string().optional(),
  })
  .loose();

/** The files of a message event; a file object that does not parse is counted, not fatal. */
export function readSharedFiles(raw: readonly unknown[] | undefined): { files: SharedFile[]; unreadable: number } {
  const files: SharedFile[] = [];
  let unreadable = 0;
  for (const item of raw ?? []) {
    const parsed = SlackFileSchema.safeParse(item);
    if (!parsed.success) {
      unreadable += 1;
      continue;
    }
    const f = parsed.data;
    // A tombstone is a file deleted before we saw the message: nothing to fetch.
    if (f.mode === 'tombstone') continue;
    const url = f.mode === 'external' ? undefined : (f.url_private_download ?? f.url_private);
    files.push({
      id: f.id,
      name: f.name || f.title || f.id,
      mimetype: (f.mimetype || 'application/octet-stream').toLowerCase(),
      size: f.size ?? 0,
      ...(url ? { downloadUrl: url } : {}),
    });
  }
  return { files, unreadable };
}
