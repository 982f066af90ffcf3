/**
 * Fetching a file a person shared. `url_private_download` needs the bot token as a
 * Bearer header; without it (or with a wrong one) Slack answers 200 with its HTML login
 * page, which must never be mistaken for the file.
 */

export type DownloadProblem =
  | { kind: 'login_page' }
  | { kind: 'too_large'; limitBytes: number }
  | { kind: 'http'; status: number }
  | { kind: 'network'; message: string }
  | { kind: 'untrusted_url' };

export type Download = { kind: 'downloaded'; bytes: Buffer } | { kind: 'failed'; problem: DownloadProblem };

export type DownloadOptions = {
  token: string;
  maxBytes: number;
  /** Origins besides Slack's own that may receive the token (SLACK_API_URL's, for a fake). */
  extraOrigins?: readonly string[];
  /** The MIME type Slack claims for the file: an HTML file is allowed to be HTML. */
  expectedMime?: string;
  signal?: AbortSignal;
};

export async function downloadSharedFile(url: string, opts: DownloadOptions): Promise<Download> {
  if (!tokenMayGoTo(url, opts.extraOrigins ?? [])) return { kind: 'failed', problem: { kind: 'untrusted_url' } };
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${opts.token}` },
      redirect: 'follow',
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (error) {
    return { kind: 'failed', problem: { kind: 'network', message: error instanceof Error ? error.message : String(error) } };
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    return { kind: 'failed', problem: { kind: 'http', status: res.status } };
  }
  const wantsHtml = opts.expectedMime === 'text/html';
  if (!wantsHtml && (res.headers.get('content-type') ?? '').toLowerCase().startsWith('text/html')) {
    await res.body?.cancel().catch(() => undefined);
    return { kind: 'failed', problem: { kind: 'login_page' } };
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > opts.maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return { kind: 'failed', problem: { kind: 'too_large', limitBytes: opts.maxBytes } };
  }
  const read = await readCapped(res, opts.maxBytes);
  if (read.kind === 'failed') return read;
  // A sign-in page served under another content type is still a sign-in page.
  if (!wantsHtml && looksLikeHtml(read.bytes)) return { kind: 'failed', problem: { kind: 'login_page' } };
  return read;
}

/**
 * The bot token goes only to Slack (https, slack.com or a subdomain) or to the origin
 * the bot was configured to use as Slack's API: never to a URL someone typed.
 */
export function tokenMayGoTo(url: string, extraOrigins: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (extraOrigins.includes(u.origin)) return true;
  return u.protocol === 'https:' && (u.hostname === 'slack.com' || u.hostname.endsWith('.slack.com'));
}

export function looksLikeHtml(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 512).toString('utf8').trimStart().toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html');
}

async function readCapped(res: Response, maxBytes: number): Promise<Download> {
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  if (!reader) return { kind: 'downloaded', bytes: Buffer.alloc(0) };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { kind: 'failed', problem: { kind: 'too_large', limitBytes: maxBytes } };
      }
      chunks.push(Buffer.from(value));
    }
  } catch (error) {
    return { kind: 'failed', problem: { kind: 'network', message: error instanceof Error ? error.message : String(error) } };
  }
  return { kind: 'downloaded', bytes: Buffer.concat(chunks) };
}
