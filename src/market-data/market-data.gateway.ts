import { ConnectedSocket, MessageBody, WebSocketGateway } from '@nestjs/websockets';
import { CLIENT_EVENTS, NAMESPACES, type MdResyncResponse, type RequestsOf, type MdSubscribeResponse, type MdUnsubscribeResponse } from '#libs/contracts';
import { ComplianceScreen, RequiresEntitlement } from '#libs/licensing';
import { DomainGateway, GatewayRuntime, requestHandlerOf, type GatewayNamespace, type GatewaySocket } from '#libs/realtime';
import { MdResyncDto } from './dto/md-resync.dto.js';
import { MdSubscribeDto } from './dto/md-subscribe.dto.js';
import { MdUnsubscribeDto } from './dto/md-unsubscribe.dto.js';
import { MarketDataService } from './market-data.service.js';

/** `/market-data`'s requests, typed by the contract's map: an event or an answer it does not list does not compile. */
const MarketDataRequest = requestHandlerOf<RequestsOf<typeof NAMESPACES.marketData>>();

@WebSocketGateway({ namespace: NAMESPACES.marketData })
export class MarketDataGateway extends DomainGateway {
  readonly namespaceName = NAMESPACES.marketData;

  constructor(
    runtime: GatewayRuntime,
    private readonly marketData: MarketDataService,
    private readonly compliance: ComplianceScreen,
  ) {
    super(runtime);
  }

  override afterInit(namespace: GatewayNamespace): void {
    super.afterInit(namespace);
    this.marketData.attach(namespace);
    // A screen change re-checks the live streams of this replica's screened clients: what turned non-compliant stops.
    this.compliance.onEvent((event) => {
      if (event.type !== 'changed' || event.instruments.length === 0) return;
      for (const socket of namespace.sockets.values()) if (socket.data.user.compliance?.islamic) this.marketData.reentitle(socket);
    });
  }

  @MarketDataRequest(CLIENT_EVENTS.subscribe)
  @RequiresEntitlement()
  async subscribe(@ConnectedSocket() socket: GatewaySocket<typeof NAMESPACES.marketData>, @MessageBody() body: MdSubscribeDto): Promise<MdSubscribeResponse> {
    const answer = await this.marketData.subscribe(socket, body);
    for (const code of ['NOT_ENTITLED', 'SUBSCRIPTION_LIMIT'] as const) {
      this.runtime.metrics.licenceRefusal(this.namespaceName, code, 'subscribe', answer.rejected.filter((item) => item.code === code).length);
    }
    return answer;
  }

  @MarketDataRequest(CLIENT_EVENTS.unsubscribe)
  unsubscribe(@ConnectedSocket() socket: GatewaySocket<typeof NAMESPACES.marketData>, @MessageBody() body: MdUnsubscribeDto): MdUnsubscribeResponse {
    return { unsubscribed: this.marketData.unsubscribe(socket, body.instruments, body.channels) };
  }

  @MarketDataRequest(CLIENT_EVENTS.resync)
  @RequiresEntitlement()
  resync(@ConnectedSocket() socket: GatewaySocket<typeof NAMESPACES.marketData>, @MessageBody() body: MdResyncDto): MdResyncResponse {
    return this.marketData.resync(socket, body.stream);
  }

  protected override onClientDisconnected(socket: GatewaySocket): void {
    this.marketData.removeSocket(socket);
  }

  protected override onCredentialsChanged(socket: GatewaySocket): void {
    this.marketData.reentitle(socket);
  }
}
