import { WebSocketGateway } from '@nestjs/websockets';
import { AccountDirectory } from '#libs/auth';
import { NAMESPACES } from '#libs/contracts';
import { AccountStreamGateway, GatewayRuntime, type AccountStream } from '#libs/realtime';
import { OrdersService } from './orders.service.js';

@WebSocketGateway({ namespace: NAMESPACES.orders })
export class OrdersGateway extends AccountStreamGateway<'order'> {
  readonly namespaceName = NAMESPACES.orders;

  constructor(
    runtime: GatewayRuntime,
    directory: AccountDirectory,
    private readonly orders: OrdersService,
  ) {
    super(runtime, directory);
  }

  protected get stream(): AccountStream<'order'> {
    return this.orders.stream;
  }
}
