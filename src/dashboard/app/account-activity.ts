import { useEffect, useState } from 'react';
import type { AccountReplayInfo, AccountSnapshotInfo, TradewireClient, TradewireError } from '@tradewire/client';
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
    /** The listeners of one account stream: replays still arriving are tracked by the seq each account must reach. */
    const tracker = (kind: Kind, seqs: () => Record<string, number>) => {
      const targets = new Map<string, number>();
      const settle = () => {
        const now = seqs();
        for (const [account, target] of targets) if ((now[account] ?? 0) >= target) targets.delete(account);
        setPending((previous) => {
          const next = new Map([...previous].filter(([key]) => !key.startsWith(`${kind}|`)));
          for (const [account, target] of targets) next.set(`${kind}|${account}`, target - (now[account] ?? 0));
          return next;
        });
      };
      return {
        snapshot: (info: AccountSnapshotInfo) => {
          setAccounts((previous) => (previous.includes(info.account) ? previous : [...previous, info.account].sort()));
          setSnapshots((previous) => (previous.has(kind) ? previous : new Set([...previous, kind])));
          targets.delete(info.account);
          if (info.resetRequired) log.add('warn', kind, `${info.account}: the gateway could not replay what was missed; state reloaded from a snapshot at seq ${info.seq}`);
          settle();
        },
        replay: (info: AccountReplayInfo) => {
          log.add(info.replayed > 0 ? 'ok' : 'info', kind, `${info.account}: resumed after seq ${info.since}, ${info.replayed} missed event${info.replayed === 1 ? '' : 's'} replayed`);
          if (info.replayed > 0) targets.set(info.account, info.since + info.replayed);
          settle();
        },
        event: () => {
          if (targets.size > 0) settle();
        },
        error: (error: TradewireError) => log.add('error', kind, error.message),
      };
    };

    const orders = client.orders.subscribe();
    const onOrders = tracker('orders', () => client.orders.seqs());
    orders.on('snapshot', onOrders.snapshot);
    orders.on('replay', onOrders.replay);
    orders.on('event', onOrders.event);
    orders.on('error', onOrders.error);

    const positions = client.positions.subscribe();
    const onPositions = tracker('positions', () => client.positions.seqs());
    positions.on('snapshot', onPositions.snapshot);
    positions.on('replay', onPositions.replay);
    positions.on('event', onPositions.event);
    positions.on('error', onPositions.error);

    const portfolio = client.portfolio.subscribe();
    const onPortfolio = tracker('portfolio', () => client.portfolio.seqs());
    portfolio.on('snapshot', onPortfolio.snapshot);
    portfolio.on('replay', onPortfolio.replay);
    portfolio.on('event', onPortfolio.event);
    portfolio.on('error', onPortfolio.error);

    return () => {
      orders.unsubscribe();
      positions.unsubscribe();
      portfolio.unsubscribe();
    };
  }, [client, log]);

  let replaying = 0;
  for (const remaining of pending.values()) replaying += Math.max(0, remaining);
  return { accounts, replaying, loading: snapshots.size < KINDS.length };
}
