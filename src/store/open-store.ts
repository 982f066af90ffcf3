import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Keyv from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import KeyvRedis from '@keyv/redis';

/**
 * STORE_URL → a Keyv. SQLite is the zero-setup default (one file under ./data);
 * Redis is for several replicas sharing one store.
 */
export async function openStore(storeUrl: string, namespace = 'slack-agents'): Promise<Keyv> {
  if (storeUrl.startsWith('sqlite://')) {
    const file = resolve(storeUrl.slice('sqlite://'.length));
    mkdirSync(dirname(file), { recursive: true });
    // busyTimeout: a second process (npm start during a test, a CLI) may hold the lock briefly.
    const sqlite = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5000 });
    // WAL: a crash of the process loses no committed write, and writes stop waiting on
    // a full fsync each; records are written after every Slack post.
    await sqlite.query('PRAGMA journal_mode=WAL');
    await sqlite.query('PRAGMA synchronous=NORMAL');
    return new Keyv({ store: sqlite, namespace });
  }
  return new Keyv({ store: new KeyvRedis(storeUrl), namespace, useKeyPrefix: false });
}
