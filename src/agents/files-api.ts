import { toFile } from '@anthropic-ai/sdk';
import type { BetaFileMetadata } from '@anthropic-ai/sdk/resources/beta/files';
import { z } from 'zod';
import type { AgentsClient } from './client.js';
import { describeApiError, type ApiProblem } from './api-errors.js';
import { delay } from '../ops/delay.js';

/**
 * The Files API as the bridge uses it, errors as values. The SDK sends no beta header on
 * /v1/files by default; listing a session's outputs (`scope_id`) is a managed-agents
 * feature, so that one call names the beta.
 */
const MANAGED_AGENTS_BETA = 'managed-agents-2026-04-01';

export type ApiResult<T> = { kind: 'done'; value: T } | { kind: 'failed'; problem: ApiProblem };
/** A download can also be refused for its size: the metadata said it fits, the body did not. */
export type OutputDownload = ApiResult<Buffer> | { kind: 'too_large'; limitBytes: number };

export async function uploadFile(client: AgentsClient, f: { name: string; mimetype: string; bytes: Buffer }): Promise<ApiResult<string>> {
  try {
    const meta = await client.beta.files.upload({ file: await toFile(f.bytes, f.name, { type: f.mimetype }) });
    return { kind: 'done', value: meta.id };
  } catch (error) {
    return { kind: 'failed', problem: describeApiError(error, `uploading ${f.name}`) };
  }
}

/** Mounts an uploaded file read-only in the session's container. */
export async function mountFile(client: AgentsClient, sessionId: string, fileId: string, mountPath: string): Promise<ApiResult<string>> {
  try {
    const resource = await client.beta.sessions.resources.add(sessionId, { type: 'file', file_id: fileId, mount_path: mountPath });
    return { kind: 'done', value: resource.mount_path };
  } catch (error) {
    return { kind: 'failed', problem: describeApiError(error, 'making a file available to the agent') };
  }
}

const OutputSchema = z
  .object({
    id: z.string(),
    filename: z.string(),
    mime_type: z.string().default('application/octet-stream'),
    size_bytes: z.number().nonnegative().default(0),
    downloadable: z.boolean().optional(),
  })
  .loose();
export type OutputFile = { id: string; filename: string; mimeType: string; size: number; downloadable: boolean };

/**
 * Files the session wrote to /mnt/session/outputs/. They show up a moment after the idle
 * event, so when some are expected and none are listed yet, the list is asked again after
 * each delay (bounded: the delays are the whole budget).
 */
export async function listOutputs(
  client: AgentsClient,
  sessionId: string,
  opts: { expectSome: boolean; retryDelaysMs: readonly number[]; signal?: AbortSignal },
): Promise<ApiResult<OutputFile[]>> {
  const delays = opts.expectSome ? opts.retryDelaysMs : [];
  for (let attempt = 0; ; attempt++) {
    let files: OutputFile[];
    try {
      files = [];
      for await (const raw of client.beta.files.list({ scope_id: sessionId, limit: 100, betas: [MANAGED_AGENTS_BETA] })) {
        const parsed = OutputSchema.safeParse(raw satisfies BetaFileMetadata);
        if (!parsed.success) continue;
        const f = parsed.data;
        files.push({ id: f.id, filename: f.filename, mimeType: f.mime_type, size: f.size_bytes, downloadable: f.downloadable !== false });
      }
    } catch (error) {
      return { kind: 'failed', problem: describeApiError(error, 'listing the files the agent wrote') };
    }
    const wait = delays[attempt];
    if (files.length > 0 || wait === undefined) return { kind: 'done', value: files };
    // Shutting down while waiting: what was listed (nothing) is the answer.
    if (
      !(await delay(wait, opts.signal).then(
        () => true,
        () => false,
      ))
    )
      return { kind: 'done', value: files };
  }
}

export async function downloadOutput(client: AgentsClient, f: { id: string; filename: string }, maxBytes: number): Promise<OutputDownload> {
  try {
    const res = await client.beta.files.download(f.id);
    const bytes = Buffer.from(await res.arrayBuffer());
    // The metadata said it fits; a larger body is refused rather than held in memory twice.
    if (bytes.length > maxBytes) return { kind: 'too_large', limitBytes: maxBytes };
    return { kind: 'done', value: bytes };
  } catch (error) {
    return { kind: 'failed', problem: describeApiError(error, `downloading ${f.filename} from the agent`) };
  }
}
