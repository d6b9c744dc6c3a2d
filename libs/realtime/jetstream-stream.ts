import { DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';

/** What ensureLimitsStream did. */
export type StreamSetup = 'created' | 'updated' | 'unchanged';

/** The limits a log's stream is kept to; those left out stay as the server's defaults (no limit). */
export type StreamLimits = Pick<Partial<StreamConfig>, 'max_msgs' | 'max_msgs_per_subject' | 'max_age'>;

const LIMIT_NAMES = ['max_msgs', 'max_msgs_per_subject', 'max_age'] as const satisfies readonly (keyof StreamLimits)[];

/**
 * Creates a file-backed stream that keeps messages up to `limits` (the oldest dropped beyond them), or brings an
 * existing one to those limits and to at least these subjects; the subjects it has beyond them stay. Several replicas
 * may do this at once: a create that finds the stream made by another falls through to an update, and an update to
 * the same settings changes nothing.
 */
export async function ensureLimitsStream(jsm: JetStreamManager, name: string, subjects: readonly string[], limits: StreamLimits): Promise<StreamSetup> {
  let current: StreamConfig | undefined;
  try {
    current = (await jsm.streams.info(name)).config;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
  }
  if (!current) {
    try {
      await jsm.streams.add({ ...limits, name, subjects: [...subjects], retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old, storage: StorageType.File });
      return 'created';
    } catch (error) {
      current = (await jsm.streams.info(name)).config;
      if (!current) throw error;
    }
  }
  const existing = current;
  const same = existing.discard === DiscardPolicy.Old && LIMIT_NAMES.every((limit) => limits[limit] === undefined || existing[limit] === limits[limit]) && subjects.every((subject) => existing.subjects.includes(subject));
  if (same) return 'unchanged';
  await jsm.streams.update(name, { ...limits, subjects: [...new Set([...existing.subjects, ...subjects])], discard: DiscardPolicy.Old });
  return 'updated';
}
