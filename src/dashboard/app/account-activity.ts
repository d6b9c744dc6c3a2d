import { useEffect, useState } from 'react';
import type { TradewireClient } from '@tradewire/client';
import type { EventLog } from './event-log.js';

export interface AccountActivity {
  /** The token's accounts, as the account streams' snapshots name them. */
  accounts: readonly string[];
  /** Events the gateway is replaying after a reconnect and that have not all arrived yet (0: up to date). */
  replaying: number;
  /** Account streams whose first snapshot has not come yet. */
  loading: boolean;
}

type Kind = 'orders' | 'positions' | 'portfolio';
const KINDS: readonly Kind[] = ['orders', 'positions', 'portfolio'];

/**
 * Listens beside the hooks (the SDK shares one server subscription among them) for what the page tells the trader
 * about its account streams: which accounts, a replay in progress after a reconnect, a reset that reloaded a snapshot.
 */
export function useAccountActivity(client: TradewireClient, log: EventLog): AccountActivity {
  const [accounts, setAccounts] = useState<readonly string[]>([]);
  const [pending, setPending] = useState<ReadonlyMap<string, number>>(new Map());
  const [snapshots, setSnapshots] = useState<ReadonlySet<Kind>>(new Set());

  useEffect(() => {
    const streams = { orders: client.orders, positions: client.positions, portfolio: client.portfolio };
    const subscriptions = KINDS.map((kind) => {
      const stream = streams[kind];
      const subscription = stream.subscribe();
      /** Replays still arriving: the seq each account's stream must reach, by `kind|account`. */
      const targets = new Map<string, number>();
      const settle = () => {
        const seqs = stream.seqs();
        for (const [key, target] of targets) if ((seqs[key.slice(key.indexOf('|') + 1)] ?? 0) >= target) targets.delete(key);
        setPending((previous) => {
          const next = new Map([...previous].filter(([key]) => !key.startsWith(`${kind}|`)));
          for (const [key] of targets) next.set(key, (targets.get(key) ?? 0) - (seqs[key.slice(key.indexOf('|') + 1)] ?? 0));
          return next;
        });
      };
      subscription.on('snapshot', (info) => {
        setAccounts((previous) => (previous.includes(info.account) ? previous : [...previous, info.account].sort()));
        setSnapshots((previous) => (previous.has(kind) ? previous : new Set([...previous, kind])));
        targets.delete(`${kind}|${info.account}`);
        if (info.resetRequired) log.add('warn', kind, `${info.account}: the gateway could not replay what was missed; state reloaded from a snapshot at seq ${info.seq}`);
        settle();
      });
      subscription.on('replay', (info) => {
        log.add(info.replayed > 0 ? 'ok' : 'info', kind, `${info.account}: resumed after seq ${info.since}, ${info.replayed} missed event${info.replayed === 1 ? '' : 's'} replayed`);
        if (info.replayed > 0) targets.set(`${kind}|${info.account}`, info.since + info.replayed);
        settle();
      });
      subscription.on('event', () => {
        if (targets.size > 0) settle();
      });
      subscription.on('error', (error) => log.add('error', kind, error.message));
      return subscription;
    });
    return () => {
      for (const subscription of subscriptions) subscription.unsubscribe();
    };
  }, [client, log]);

  let replaying = 0;
  for (const remaining of pending.values()) replaying += Math.max(0, remaining);
  return { accounts, replaying, loading: snapshots.size < KINDS.length };
}
