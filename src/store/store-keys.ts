import type Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';

/**
 * Walking and sweeping the store, per backend. Keyv's own iterator deletes expired entries
 * while SQLite pages through its rows with OFFSET, which skips a row for every one deleted;
 * so for SQLite the keys are listed first with one query (keys are short; values are not
 * loaded), and expired rows are deleted in one statement. Redis expires keys itself and
 * walks them with SCAN, which tolerates deletes.
 */
export async function* storeKeys(kv: Keyv, prefix: string): AsyncGenerator<string> {
  const sqlite = sqliteOf(kv);
  if (sqlite) {
    const namespaced = `${kv.namespace ? `${kv.namespace}:` : ''}${prefix}`;
    const rows = (await sqlite.query(`SELECT key FROM ${sqlite.opts.table} WHERE substr(key, 1, ?) = ?`, [namespaced.length, namespaced])) as Array<{
      key: string;
    }>;
    const strip = kv.namespace ? kv.namespace.length + 1 : 0;
    for (const row of rows) yield row.key.slice(strip);
    return;
  }
  if (!kv.iterator) throw new Error('this store cannot list its keys');
  for await (const [key] of kv.iterator(kv.namespace)) {
    if (typeof key === 'string' && key.startsWith(prefix)) yield key;
  }
}

/** Deletes entries whose TTL has passed (SQLite keeps them until read); returns how many. */
export async function sweepExpired(kv: Keyv, now = Date.now()): Promise<number> {
  const sqlite = sqliteOf(kv);
  if (!sqlite) return 0;
  const namespaced = kv.namespace ? `${kv.namespace}:` : '';
  const where = `substr(key, 1, ?) = ? AND json_valid(value) AND json_extract(value, '$.expires') < ?`;
  const params = [namespaced.length, namespaced, now];
  const [count] = (await sqlite.query(`SELECT count(*) AS n FROM ${sqlite.opts.table} WHERE ${where}`, params)) as Array<{ n: number }>;
  await sqlite.query(`DELETE FROM ${sqlite.opts.table} WHERE ${where}`, params);
  return count?.n ?? 0;
}

function sqliteOf(kv: Keyv): (KeyvSqlite & { opts: { table: string } }) | undefined {
  return kv.store instanceof KeyvSqlite ? (kv.store as KeyvSqlite & { opts: { table: string } }) : undefined;
}
