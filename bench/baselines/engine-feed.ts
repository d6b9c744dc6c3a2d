import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type AccountEvent,
  accountFromSubject,
  ENGINE_SUBJECTS,
  instrumentFromMdSubject,
  type MdMessage,
  type QuoteData,
  streamName,
} from '#libs/contracts';
import type { BaselineCounters } from './baseline-http.js';

export interface EngineFeedHandlers {
  onQuote(message: MdMessage<'quote'>): void;
  onOrder(event: AccountEvent<'order'>): void;
}

/**
 * The baselines' whole engine side: quote and order subjects turned into wire messages with a per-stream (or
 * per-account) seq, as simply as the protocol allows — no validation beyond JSON, no conflation, no durable log.
 * Malformed events are dropped silently; the bench never sends any.
 */
export async function connectEngineFeed(natsUrl: string, counters: BaselineCounters, handlers: EngineFeedHandlers): Promise<NatsConnection> {
  const nats = await connect({ servers: natsUrl, name: 'bench-baseline' });
  const streamSeq = new Map<string, number>();
  const accountSeq = new Map<string, number>();

  nats.subscribe(ENGINE_SUBJECTS.quote, {
    callback: (error, msg) => {
      if (error) return;
      counters.engineEvents++;
      const instrument = instrumentFromMdSubject(msg.subject);
      if (!instrument) return;
      try {
        const { ts, ...data } = msg.json<QuoteData & { ts: number }>();
        const stream = streamName('quote', instrument);
        const seq = (streamSeq.get(stream) ?? 0) + 1;
        streamSeq.set(stream, seq);
        handlers.onQuote({ stream, type: 'update', seq, ts, data });
      } catch {
        // malformed: dropped
      }
    },
  });

  nats.subscribe(ENGINE_SUBJECTS.order, {
    callback: (error, msg) => {
      if (error) return;
      counters.engineEvents++;
      const account = accountFromSubject(msg.subject);
      if (!account) return;
      try {
        const fields = msg.json<Omit<AccountEvent<'order'>, 'account' | 'seq'>>();
        const seq = (accountSeq.get(account) ?? 0) + 1;
        accountSeq.set(account, seq);
        handlers.onOrder({ ...fields, account, seq });
      } catch {
        // malformed: dropped
      }
    },
  });

  return nats;
}
