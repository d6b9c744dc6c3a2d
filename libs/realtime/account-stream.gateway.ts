import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import type { AccountDirectory } from '#libs/auth';
import { RequiresEntitlement } from '#libs/licensing';
import { CLIENT_EVENTS, GatewayError, type AccountKind, type AccountSubscribeResponse, type AccountUnsubscribeResponse } from '#libs/contracts';
import { AccountSubscribeDto, AccountUnsubscribeDto } from './account-subscribe.dto.js';
import type { AccountStream } from './account-stream.js';
import { DomainGateway } from './domain-gateway.js';
import type { GatewayRuntime } from './gateway-runtime.js';
import type { GatewaySocket } from './gateway-socket.js';

/**
 * `/orders`, `/positions` and `/portfolio`: subscribe to the token's accounts (a supervisor: its tenant's), get a
 * snapshot or a replay, then live events. Each subclass names its namespace and hands over its domain's stream.
 */
export abstract class AccountStreamGateway<K extends AccountKind> extends DomainGateway {
  /** Per socket, the accounts of each subscribe still waiting for a hydration; an unsubscribe meanwhile takes them out. */
  private readonly waitingBySocket = new Map<string, Set<Set<string>>>();

  protected constructor(
    runtime: GatewayRuntime,
    private readonly directory: AccountDirectory,
  ) {
    super(runtime);
  }

  protected abstract get stream(): AccountStream<K>;

  @SubscribeMessage(CLIENT_EVENTS.subscribe)
  @RequiresEntitlement()
  async subscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: AccountSubscribeDto): Promise<AccountSubscribeResponse> {
    const user = socket.data.user;
    const requested = body.accounts ? [...new Set(body.accounts)] : this.directory.visibleAccounts(user);
    const forbidden = requested.filter((account) => !this.directory.canSee(user, account));
    if (forbidden.length > 0) throw new GatewayError('FORBIDDEN', `not permitted to see account(s) ${forbidden.join(', ')}`, { details: { accounts: forbidden } });
    const since = body.since ?? {};
    for (const [account, seq] of Object.entries(since)) {
      if (!Number.isSafeInteger(seq) || seq < 0) throw new GatewayError('INVALID_REQUEST', `since.${account} must be a non-negative integer`);
    }
    // With a durable account log, an account this replica holds no state for is first rebuilt from it (bounded; a
    // failure leaves the replica's own state). Watching then happens in one synchronous step, as without a log.
    const hydrations = requested.map((account) => this.stream.prepare(account)).filter((hydration) => hydration !== null);
    if (hydrations.length === 0) return { accounts: requested.map((account) => this.stream.watch(socket, account, since[account])) };
    const waiting = new Set(requested);
    let waitingOfSocket = this.waitingBySocket.get(socket.id);
    if (!waitingOfSocket) {
      waitingOfSocket = new Set();
      this.waitingBySocket.set(socket.id, waitingOfSocket);
    }
    waitingOfSocket.add(waiting);
    try {
      await Promise.all(hydrations);
    } finally {
      waitingOfSocket.delete(waiting);
      if (waitingOfSocket.size === 0 && this.waitingBySocket.get(socket.id) === waitingOfSocket) this.waitingBySocket.delete(socket.id);
    }
    if (socket.disconnected) return { accounts: [] };
    const revoked = requested.filter((account) => !this.directory.canSee(socket.data.user, account));
    if (revoked.length > 0) throw new GatewayError('FORBIDDEN', `not permitted to see account(s) ${revoked.join(', ')}`, { details: { accounts: revoked } });
    // Accounts unsubscribed while this request waited are not watched: the later request wins.
    return { accounts: requested.filter((account) => waiting.has(account)).map((account) => this.stream.watch(socket, account, since[account])) };
  }

  @SubscribeMessage(CLIENT_EVENTS.unsubscribe)
  unsubscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: AccountUnsubscribeDto): AccountUnsubscribeResponse {
    const cancelled = new Set<string>();
    for (const waiting of this.waitingBySocket.get(socket.id) ?? []) {
      for (const account of body.accounts ?? [...waiting]) if (waiting.delete(account)) cancelled.add(account);
    }
    const accounts = body.accounts ?? this.stream.watchedBy(socket);
    const unwatched = accounts.filter((account) => this.stream.unwatch(socket, account));
    return { accounts: [...new Set([...unwatched, ...cancelled])] };
  }

  protected override onClientDisconnected(socket: GatewaySocket): void {
    this.stream.removeSocket(socket);
    this.waitingBySocket.delete(socket.id);
  }

  /** A refreshed token may list fewer accounts: stop what it no longer allows. */
  protected override onCredentialsChanged(socket: GatewaySocket): void {
    for (const account of this.stream.watchedBy(socket)) {
      if (this.directory.canSee(socket.data.user, account)) continue;
      this.stream.unwatch(socket, account);
      socket.emit('error', new GatewayError('FORBIDDEN', `account ${account} is no longer permitted`, { details: { account } }).toWire());
    }
  }
}
