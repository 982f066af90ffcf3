/**
 * Files API (`/v1/files*`) and the file side of session resources, as the Files API documents them:
 * uploads are multipart (`file` part, optional `expires_in_seconds`), lists are `PageCursor`
 * (`{data, next_page}`), `scope_id` lists what a session wrote to its outputs.
 */
import { forwardOnly, paginate, readPageQuery } from './pagination.js';
import type { FileObj } from './types.js';
import { ApiError, badRequest, newId, notFound, now, type Json } from './util.js';

/** What `files.list` accepts in `ids[]` at most (the Files API's documented limit). */
const MAX_IDS = 100;
/** 500 MB, the documented Files API ceiling. [Docs] */
const MAX_UPLOAD_BYTES = 500 * 1024 * 1024;

interface Stored {
  meta: FileObj;
  bytes: Buffer;
  seq: number;
  /** Scoped list requests that must still miss this file (the API documents that outputs show up a moment after the idle event). */
  hiddenForLists: number;
}

export class FileStore {
  private readonly byId = new Map<string, Stored>();
  private seq = 1;

  /** Metadata of every live file, for tests. */
  get all(): Map<string, FileObj> {
    return new Map([...this.byId].map(([id, s]) => [id, s.meta]));
  }

  bytesOf(id: string): Buffer | undefined {
    return this.byId.get(id)?.bytes;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): FileObj {
    const s = this.byId.get(id);
    if (!s) throw notFound('File', id);
    return s.meta;
  }

  async upload(raw: Buffer, contentType: string): Promise<FileObj> {
    if (!contentType.startsWith('multipart/form-data')) throw badRequest('Expected a multipart/form-data body with a `file` part');
    if (raw.length > MAX_UPLOAD_BYTES) throw new ApiError(413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes');
    let form: FormData;
    try {
      form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    } catch {
      throw badRequest('Malformed multipart body');
    }
    const part = form.get('file');
    if (part === null || typeof part === 'string') throw badRequest('file: a file part is required');
    const expires = form.get('expires_in_seconds');
    let expiresAt: string | undefined;
    if (expires !== null) {
      const seconds = Number(expires);
      if (!Number.isInteger(seconds) || seconds < 3600 || seconds > 7_776_000) {
        throw badRequest('expires_in_seconds: expected an integer between 3600 and 7776000');
      }
      expiresAt = new Date(Date.now() + seconds * 1000).toISOString();
    }
    const bytes = Buffer.from(await part.arrayBuffer());
    // Uploaded files cannot be downloaded again; only files the agent produced can. [Docs]
    return this.add({
      filename: part.name || 'upload',
      mimeType: part.type || 'application/octet-stream',
      bytes,
      downloadable: false,
      ...(expiresAt ? { expiresAt } : {}),
    });
  }

  /** A file the agent wrote to /mnt/session/outputs/ (Turn API). */
  writeOutput(sessionId: string, filename: string, bytes: Buffer, mimeType: string, hiddenForLists = 0): FileObj {
    return this.add({ filename, mimeType, bytes, downloadable: true, scope: { type: 'session', id: sessionId }, hiddenForLists });
  }

  list(query: URLSearchParams): { data: FileObj[]; next_page: string | null } {
    const ids = [...query.getAll('ids[]'), ...query.getAll('ids')];
    if (ids.length > MAX_IDS) throw badRequest(`ids: at most ${MAX_IDS} values`);
    const scope = query.get('scope_id');
    const pq = readPageQuery(query, { limit: 20, order: 'desc' });
    let items = [...this.byId.values()];
    if (scope !== null) {
      items = items.filter((s) => s.meta.scope?.id === scope);
      // A file written moments ago may not be listed yet: each scoped list spends one miss.
      items = items.filter((s) => {
        if (s.hiddenForLists <= 0) return true;
        s.hiddenForLists -= 1;
        return false;
      });
    }
    if (ids.length > 0) {
      const wanted = new Set(ids);
      items = items.filter((s) => wanted.has(s.meta.id));
    }
    items.sort((a, b) => (pq.order === 'asc' ? a.seq - b.seq : b.seq - a.seq));
    // ids[] is answered on a single page. [Docs]
    if (ids.length > 0) return { data: items.map((s) => s.meta), next_page: null };
    const page = forwardOnly(paginate(items, (s) => s.seq, pq));
    return { data: page.data.map((s) => s.meta), next_page: page.next_page };
  }

  content(id: string): { bytes: Buffer; mimeType: string } {
    const s = this.byId.get(id);
    if (!s) throw notFound('File', id);
    if (!s.meta.downloadable) throw badRequest(`File ${id} is not downloadable`, 'file_not_downloadable');
    return { bytes: s.bytes, mimeType: s.meta.mime_type };
  }

  delete(id: string): Json {
    if (!this.byId.delete(id)) throw notFound('File', id);
    return { id, type: 'file_deleted' };
  }

  /** The session-scoped copy a `file` resource mounts (it has its own id). [Docs] */
  copyForSession(id: string, sessionId: string): FileObj {
    const s = this.byId.get(id);
    if (!s) throw notFound('File', id);
    return this.add({
      filename: s.meta.filename,
      mimeType: s.meta.mime_type,
      bytes: s.bytes,
      downloadable: false,
      scope: { type: 'session', id: sessionId },
      // [Inf] a mounted copy is an input, not an output: never listed under scope_id.
      input: true,
    });
  }

  private add(f: {
    filename: string;
    mimeType: string;
    bytes: Buffer;
    downloadable: boolean;
    scope?: { type: 'session'; id: string };
    expiresAt?: string;
    hiddenForLists?: number;
    input?: boolean;
  }): FileObj {
    const meta: FileObj = {
      id: newId('file'),
      type: 'file',
      filename: f.filename,
      mime_type: f.mimeType,
      size_bytes: f.bytes.length,
      created_at: now(),
      downloadable: f.downloadable,
      ...(f.expiresAt ? { expires_at: f.expiresAt } : {}),
      ...(f.scope && !f.input ? { scope: f.scope } : {}),
    };
    this.byId.set(meta.id, { meta, bytes: f.bytes, seq: this.seq++, hiddenForLists: f.hiddenForLists ?? 0 });
    return meta;
  }
}
