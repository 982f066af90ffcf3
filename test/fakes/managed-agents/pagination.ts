import { badRequest } from './util.js';

export type Order = 'asc' | 'desc';

interface Cursor {
  /** Sequence number of the boundary item; pages continue strictly past it. */
  seq: number;
  dir: 'next' | 'prev';
  order: Order;
}

export interface PageQuery {
  limit: number;
  order: Order;
  cursor: Cursor | undefined;
}

export interface Page<T> {
  data: T[];
  next_page: string | null;
  prev_page: string | null;
}

/**
 * Cursors are keyed on an item's creation sequence number rather than an offset, so a page
 * boundary stays put while new events are appended or sessions are deleted between requests.
 */
export function readPageQuery(query: URLSearchParams, defaults: { limit: number; order: Order }): PageQuery {
  const rawLimit = query.get('limit');
  const limit = rawLimit === null ? defaults.limit : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw badRequest(`limit: expected an integer between 1 and 1000, got ${rawLimit}`);
  }
  const rawOrder = query.get('order');
  if (rawOrder !== null && rawOrder !== 'asc' && rawOrder !== 'desc') {
    throw badRequest(`order: expected 'asc' or 'desc', got ${rawOrder}`);
  }
  const page = query.get('page');
  const cursor = page ? decodeCursor(page) : undefined;
  if (cursor && rawOrder !== null && rawOrder !== cursor.order) {
    throw badRequest(`page cursor was created with order=${cursor.order} and cannot be used with order=${rawOrder}`);
  }
  return { limit, order: cursor?.order ?? (rawOrder as Order | null) ?? defaults.order, cursor };
}

/** `items` must already be filtered and sorted in `pq.order`. */
export function paginate<T>(items: readonly T[], seqOf: (item: T) => number, pq: PageQuery): Page<T> {
  const { cursor, limit, order } = pq;
  const after = (s: number, c: number): boolean => (order === 'asc' ? s > c : s < c);
  let start = 0;
  let end = Math.min(limit, items.length);
  if (cursor?.dir === 'next') {
    start = items.findIndex((it) => after(seqOf(it), cursor.seq));
    if (start === -1) start = items.length;
    end = Math.min(start + limit, items.length);
  } else if (cursor?.dir === 'prev') {
    end = items.findIndex((it) => !after(cursor.seq, seqOf(it)));
    if (end === -1) end = items.length;
    start = Math.max(0, end - limit);
  }
  const data = items.slice(start, end);
  const first = data[0];
  const last = data[data.length - 1];
  return {
    data,
    // Always null on the last page: the SDK keeps requesting on any non-null cursor.
    next_page: last !== undefined && end < items.length ? encodeCursor({ seq: seqOf(last), dir: 'next', order }) : null,
    prev_page: first !== undefined && start > 0 ? encodeCursor({ seq: seqOf(first), dir: 'prev', order }) : null,
  };
}

/** `PageCursor` lists (everything but sessions) carry no `prev_page`. */
export function forwardOnly<T>(page: Page<T>): { data: T[]; next_page: string | null } {
  return { data: page.data, next_page: page.next_page };
}

function encodeCursor(c: Cursor): string {
  return `page_${Buffer.from(JSON.stringify(c)).toString('base64url')}`;
}

function decodeCursor(raw: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(raw.replace(/^page_/, ''), 'base64url').toString()) as Cursor;
    if (typeof c.seq === 'number' && (c.dir === 'next' || c.dir === 'prev') && (c.order === 'asc' || c.order === 'desc')) {
      return c;
    }
  } catch {
    // fall through to the 400 below
  }
  throw badRequest(`Invalid page cursor: ${raw}`);
}
