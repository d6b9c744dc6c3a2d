import type { INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayContext } from '../../test/support/app-context.js';
import { RedisServer, waitFor } from '../../test/support/processes.js';
import { FLEET_KEYS, FLEET_REDIS, type FleetRedis } from './fleet-redis.js';
import { NodeRegistry } from './node-registry.js';

/**
 * FleetModule in the gateway's real module graph, on a real Redis: the replica heartbeats into the node registry once
 * started, and at shutdown it deregisters before the fleet's own connections quit (they are the module's, released
 * after the providers that use them, not by the engine's links, which go first). Without Redis (one context per
 * process: the metrics registry is global) the lifecycle e2e test sees the fleet as this replica alone.
 */
describe('FleetModule', () => {
  let redis: RedisServer;
  let observer: Redis;

  beforeAll(async () => {
    redis = await RedisServer.start();
    observer = new Redis(redis.url, { lazyConnect: true });
    await observer.connect();
  });
  afterAll(async () => {
    observer?.disconnect();
    await redis?.stop();
  });

  it('lists the replica while it runs and deregisters it at shutdown, before its connections quit', async () => {
    const app: INestApplicationContext = await gatewayContext({ REDIS_URL: redis.url, NODE_ID: 'unit-fleet', NODE_TTL_MS: '30000' });
    const connections = app.get<FleetRedis>(FLEET_REDIS);
    try {
      await waitFor('the heartbeat', async () => ((await observer.sismember(FLEET_KEYS.nodes, 'unit-fleet')) === 1 ? true : undefined), 5_000);
      const listed = await app.get(NodeRegistry).list();
      expect(listed.source).toBe('redis');
      expect(listed.nodes.map((node) => node.id)).toEqual(['unit-fleet']);
      expect(JSON.parse((await observer.get(FLEET_KEYS.node('unit-fleet'))) ?? '{}')).toMatchObject({ id: 'unit-fleet', state: 'starting' });
    } finally {
      await app.close();
    }
    // Out at once, not after the 30 s TTL: the deregistration reached Redis, then the connections were closed.
    expect(await observer.exists(FLEET_KEYS.node('unit-fleet'))).toBe(0);
    expect(await observer.sismember(FLEET_KEYS.nodes, 'unit-fleet')).toBe(0);
    expect([connections.commands.status, connections.subscriber.status]).toEqual(['end', 'end']);
  });

});
