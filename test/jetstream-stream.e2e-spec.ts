import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLimitsStream } from '#libs/realtime';
import { NatsServer } from './support/processes.js';

/** The create-or-update both JetStream logs (account events, licence and compliance changes) start with. */
describe('ensureLimitsStream (NATS JetStream)', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    nats = await NatsServer.start();
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('creates a file-backed limits stream, leaves it alone when it already fits, and updates its limits', async () => {
    expect(await ensureLimitsStream(jsm, 'LOG_A', ['a.*.order'], { max_msgs_per_subject: 10, max_age: 60_000_000_000 })).toBe('created');
    const created = (await jsm.streams.info('LOG_A')).config;
    expect(created).toMatchObject({ subjects: ['a.*.order'], retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old, storage: StorageType.File, max_msgs_per_subject: 10, max_age: 60_000_000_000 });

    expect(await ensureLimitsStream(jsm, 'LOG_A', ['a.*.order'], { max_msgs_per_subject: 10, max_age: 60_000_000_000 })).toBe('unchanged');

    expect(await ensureLimitsStream(jsm, 'LOG_A', ['a.*.order'], { max_msgs_per_subject: 20, max_age: 60_000_000_000 })).toBe('updated');
    expect((await jsm.streams.info('LOG_A')).config.max_msgs_per_subject).toBe(20);
  });

  it('adds subjects it is given and keeps those the stream has beyond them', async () => {
    await ensureLimitsStream(jsm, 'LOG_B', ['b.one'], { max_msgs: 100 });
    expect(await ensureLimitsStream(jsm, 'LOG_B', ['b.two'], { max_msgs: 100 })).toBe('updated');
    expect([...(await jsm.streams.info('LOG_B')).config.subjects].sort()).toEqual(['b.one', 'b.two']);
    // A replica still on the older configuration changes nothing: its subject is there and its limit agrees.
    expect(await ensureLimitsStream(jsm, 'LOG_B', ['b.one'], { max_msgs: 100 })).toBe('unchanged');
  });

  it('lets replicas that start together race: one creates, the others find it made and end with the same settings', async () => {
    const outcomes = await Promise.all(Array.from({ length: 4 }, () => ensureLimitsStream(jsm, 'LOG_C', ['c.>'], { max_msgs: 50 })));
    expect(outcomes.filter((outcome) => outcome === 'created').length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((outcome) => outcome === 'created' || outcome === 'unchanged')).toBe(true);
    expect((await jsm.streams.info('LOG_C')).config).toMatchObject({ subjects: ['c.>'], max_msgs: 50 });
  });
});
