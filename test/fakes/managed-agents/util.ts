import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Opaque ids shaped like the real ones (`agent_011CZk…`): prefix + 24 base62 chars. */
export function newId(prefix: string): string {
  const bytes = randomBytes(24);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${out}`;
}

let lastMicros = 0;

/**
 * RFC 3339 timestamp with microseconds, strictly increasing within the process.
 * Strictness matters: events are listed by `processed_at`, and two events emitted in the
 * same millisecond must still sort in emission order for `created_at[gt]` catch-up to work.
 */
export function now(): string {
  let t = Date.now() * 1000;
  if (t <= lastMicros) t = lastMicros + 1;
  lastMicros = t;
  return toIso(t);
}

function toIso(micros: number): string {
  const ms = Math.floor(micros / 1000);
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micros % 1000).padStart(3, '0')}Z`;
}

/** Parses any RFC 3339 timestamp to microseconds (Date.parse alone would drop sub-ms digits). */
export function parseTime(value: string): number {
  const m = /^(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(value);
  const base = m ? Date.parse(`${m[1]}${m[3]}`) : Date.parse(value);
  if (Number.isNaN(base)) throw new ApiError(400, 'invalid_request_error', `Invalid timestamp: ${value}`);
  const frac = (m?.[2] ?? '').slice(0, 6).padEnd(6, '0');
  return base * 1000 + Number(frac);
}

/** An error that becomes `{type:'error', error:{type, message, details?}, request_id}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
    readonly details?: { error_code: string },
  ) {
    super(message);
  }
}

export const badRequest = (message: string, errorCode?: string): ApiError =>
  new ApiError(400, 'invalid_request_error', message, errorCode ? { error_code: errorCode } : undefined);
export const notFound = (what: string, id: string): ApiError => new ApiError(404, 'not_found_error', `${what} not found: ${id}`);
// The API uses invalid_request_error for 409 state conflicts, not a dedicated type.
export const conflict = (message: string): ApiError => new ApiError(409, 'invalid_request_error', message);

export function defaultErrorType(status: number): string {
  switch (status) {
    case 400:
    case 409:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Body accessor that turns shape mistakes into 400s naming the offending field. */
export function requireString(body: Json, key: string, where = 'body'): string {
  const v = body[key];
  if (typeof v !== 'string' || v.length === 0) throw badRequest(`${where}.${key}: expected a non-empty string`);
  return v;
}

export function optionalArray(body: Json, key: string, where = 'body'): unknown[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw badRequest(`${where}.${key}: expected an array`);
  return v;
}

export function validateMetadata(value: unknown, allowNullValues: boolean): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) throw badRequest('metadata: expected an object', 'invalid_metadata');
  const entries = Object.entries(value);
  if (entries.length > 16) throw badRequest('metadata: at most 16 pairs', 'invalid_metadata');
  for (const [k, v] of entries) {
    if (k.length > 64) throw badRequest(`metadata key too long: ${k}`, 'invalid_metadata');
    if (v === null && allowNullValues) continue;
    if (typeof v !== 'string' || v.length > 512) {
      throw badRequest(`metadata.${k}: expected a string of at most 512 chars`, 'invalid_metadata');
    }
  }
}

/** Metadata updates are patches: a `null` value deletes the key; `null` for the whole map clears it. */
export function patchMetadata(current: Record<string, string>, patch: unknown): Record<string, string> {
  if (patch === null) return {};
  if (!isObject(patch)) return current;
  const next = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete next[k];
    else next[k] = String(v);
  }
  return next;
}

/** Structural equality for plain JSON values; used to decide whether an update changed anything. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v)) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    );
  }
  return v;
}

export function abortError(): Error {
  return new DOMException('The turn was aborted', 'AbortError');
}
