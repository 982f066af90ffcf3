import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../ops/logger.js';
import type { Redis } from '../store/redis/connection.js';
import { leaseTimes } from './lease-state.js';
import { Leases } from './leases.js';
import { Relay } from './relay.js';

export type Replicas = { holder: string; leases: Leases; relay: Relay };

/**
 * This replica's seat among several on one Redis: its id (host, pid and a random part, new
 * at every start, so a restarted process never mistakes its predecessor's leases for its
 * own), its thread leases and its relay channel.
 */
export function replicaSeat(o: { redis: Redis; prefix: string; leaseMs: number; log: Logger }): Replicas {
  const holder = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const log = o.log.child({ replica: holder });
  return {
    holder,
    leases: new Leases(o.redis, o.prefix, holder, leaseTimes(o.leaseMs), log.child({ component: 'leases' })),
    relay: new Relay(o.redis, o.prefix, holder, log.child({ component: 'relay' })),
  };
}
