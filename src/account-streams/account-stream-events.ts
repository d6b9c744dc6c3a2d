import type { InjectionToken } from '@nestjs/common';
import { accountFromSubject, type AccountFieldsByKind, type AccountKind } from '#libs/contracts';
import type { AccountStream, EngineStamp } from '#libs/realtime';

/** The DI token of an account kind's stream (AccountStreamModule.forKind provides it). */
export function accountStreamToken(kind: AccountKind): InjectionToken<AccountStream<AccountKind>> {
  return `AccountStream:${kind}`;
}

/** The DI token of an account kind's engine-event handler (the registry of stream kinds routes to it). */
export function accountEventsToken(kind: AccountKind): InjectionToken<AccountStreamEvents<AccountKind>> {
  return `AccountStreamEvents:${kind}`;
}

type EngineAccountEvent<K extends AccountKind> = EngineStamp & { fields: AccountFieldsByKind[K] };

/** Engine `acct.{ACCOUNT}.<kind>` events in, validated by the route: sequenced and fanned out by the kind's stream. */
export class AccountStreamEvents<K extends AccountKind> {
  constructor(private readonly stream: AccountStream<K>) {}

  onEngineEvent(subject: string, value: EngineAccountEvent<K>): { drop: 'bad_subject' | 'stale_seq' } | undefined {
    const account = accountFromSubject(subject);
    if (!account) return { drop: 'bad_subject' };
    if (this.stream.apply(account, value.ts, value.seq, value.fields) === 'stale') return { drop: 'stale_seq' };
    return undefined;
  }
}

