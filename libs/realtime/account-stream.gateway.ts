import { ConnectedSocket, MessageBody } from '@nestjs/websockets';
import type { AccountDirectory } from '#libs/auth';
import { RequiresEntitlement } from '#libs/licensing';
import { CLIENT_EVENTS, GatewayError, type AccountKind, type AccountStreamRequests, type AccountSubscribeResponse, type AccountUnsubscribeResponse } from '#libs/contracts';
import { AccountSubscribeDto, AccountUnsubscribeDto } from './account-subscribe.dto.js';
import type { AccountStream } from './account-stream.js';
import { DomainGateway } from './domain-gateway.js';
import type { GatewayRuntime } from './gateway-runtime.js';
import type { GatewaySocket } from './gateway-socket.js';
import { requestHandlerOf } from './request-handler.js';

/** The requests of every account namespace, typed by the contract's map. */
const AccountStreamRequest = requestHandlerOf<AccountStreamRequests>();

/**
 * `/orders`, `/positions` and `/portfolio`: subscribe to the token's accounts (a supervisor: its tenant's), get a
 * snapshot or a replay, then live events. Each subclass names its namespace and hands over its domain's stream.
 */
export abstract class AccountStreamGateway<K extends AccountKind> extends DomainGateway {
  protected constructor(
    runtime: GatewayRuntime,
    private readonly directory: AccountDirectory,
  ) {
    super(runtime);
  }

  protected abstract get stream(): AccountStream<K>;

  @AccountStreamRequest(CLIENT_EVENTS.subscribe)
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
    if (hydrations.length > 0) {
      // The socket's next subscription request waits for this answer (see DomainGateway), so nothing changes what
      // this one asked for in the meantime except a disconnect or a refreshed token.
      await Promise.all(hydrations);
      if (socket.disconnected) return { accounts: [] };
      const revoked = requested.filter((account) => !this.directory.canSee(socket.data.user, account));
      if (revoked.length > 0) throw new GatewayError('FORBIDDEN', `not permitted to see account(s) ${revoked.join(', ')}`, { details: { accounts: revoked } });
    }
    return { accounts: requested.map((account) => this.stream.watch(socket, account, since[account])) };
  }

  @AccountStreamRequest(CLIENT_EVENTS.unsubscribe)
  unsubscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: AccountUnsubscribeDto): AccountUnsubscribeResponse {
    const accounts = body.accounts ?? this.stream.watchedBy(socket);
    return { accounts: accounts.filter((account) => this.stream.unwatch(socket, account)) };
  }

  protected override onClientDisconnected(socket: GatewaySocket): void {
    this.stream.removeSocket(socket);
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
