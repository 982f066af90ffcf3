import { createClient } from '@redis/client';

const connect = (url: string) => createClient({ url });
export type Redis = ReturnType<typeof connect>;

/**
 * A plain Redis connection beside keyv's, for what keyv cannot say: SET NX with a
 * deadline, token-checked deletes (Lua), sorted sets and pub/sub. `prefix` keeps these
 * keys out of keyv's namespace (`<namespace>::…`), so walking the store never meets them.
 */
export async function openRedis(url: string): Promise<Redis> {
  const client = connect(url);
  await client.connect();
  return client;
}

/** Where coordination keys live for a store namespace: `<namespace>#…`, apart from keyv's `<namespace>::…`. */
export const coordinationPrefix = (namespace: string): string => `${namespace}#`;
