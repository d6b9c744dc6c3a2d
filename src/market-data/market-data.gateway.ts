import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { CLIENT_EVENTS, NAMESPACES, type MdResyncResponse, type MdSubscribeResponse, type MdUnsubscribeResponse } from '#libs/contracts';
import { DomainGateway, GatewayRuntime, type GatewayNamespace, type GatewaySocket } from '#libs/realtime';
import { MdResyncDto } from './dto/md-resync.dto.js';
import { MdSubscribeDto } from './dto/md-subscribe.dto.js';
import { MdUnsubscribeDto } from './dto/md-unsubscribe.dto.js';
import { MarketDataService } from './market-data.service.js';

@WebSocketGateway({ namespace: NAMESPACES.marketData })
export class MarketDataGateway extends DomainGateway {
  readonly namespaceName = NAMESPACES.marketData;

  constructor(
    runtime: GatewayRuntime,
    private readonly marketData: MarketDataService,
  ) {
    super(runtime);
  }

  override afterInit(namespace: GatewayNamespace): void {
    super.afterInit(namespace);
    this.marketData.attach(namespace);
  }

  @SubscribeMessage(CLIENT_EVENTS.subscribe)
  subscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: MdSubscribeDto): Promise<MdSubscribeResponse> {
    return this.marketData.subscribe(socket, body);
  }

  @SubscribeMessage(CLIENT_EVENTS.unsubscribe)
  unsubscribe(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: MdUnsubscribeDto): MdUnsubscribeResponse {
    return { unsubscribed: this.marketData.unsubscribe(socket, body.instruments, body.channels) };
  }

  @SubscribeMessage(CLIENT_EVENTS.resync)
  resync(@ConnectedSocket() socket: GatewaySocket, @MessageBody() body: MdResyncDto): MdResyncResponse {
    return this.marketData.resync(socket, body.stream);
  }

  protected override onClientDisconnected(socket: GatewaySocket): void {
    this.marketData.removeSocket(socket);
  }
}
