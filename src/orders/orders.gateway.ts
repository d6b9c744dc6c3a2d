import { Inject } from '@nestjs/common';
import { ConnectedSocket, MessageBody, WebSocketGateway } from '@nestjs/websockets';
import { AccountDirectory } from '#libs/auth';
import { CLIENT_EVENTS, NAMESPACES, type OrderAmendResponse, type OrderCancelAllResponse, type OrderCancelResponse, type OrderDeadmanResponse, type OrderSubmitResponse, type RequestsOf } from '#libs/contracts';
import { AccountStreamGateway, GatewayRuntime, requestHandlerOf, type AccountStream, type GatewaySocket } from '#libs/realtime';
import { DeadmanSwitchService } from './deadman/deadman-switch.service.js';
import { OrderDeadmanDto } from './deadman/order-deadman.dto.js';
import { OrderAmendDto } from './dto/order-amend.dto.js';
import { OrderCancelAllDto } from './dto/order-cancel-all.dto.js';
import { OrderCancelDto } from './dto/order-cancel.dto.js';
import { OrderSubmitDto } from './dto/order-submit.dto.js';
import { OrderCommandsService } from './order-commands.service.js';
import { accountStreamToken } from '../account-streams/account-stream-events.js';
import { TradingCommand } from './trading-command.decorator.js';

/** `/orders`' commands, typed by the contract's map: an event or an answer it does not list does not compile. */
const OrdersRequest = requestHandlerOf<RequestsOf<typeof NAMESPACES.orders>>();

/** `/orders`: the account stream of orders (AccountStreamModule.forKind('order')) plus the order commands. */
@WebSocketGateway({ namespace: NAMESPACES.orders })
export class OrdersGateway extends AccountStreamGateway<'order'> {
  readonly namespaceName = NAMESPACES.orders;

  constructor(
    runtime: GatewayRuntime,
    directory: AccountDirectory,
    @Inject(accountStreamToken('order')) private readonly orders: AccountStream<'order'>,
    private readonly commands: OrderCommandsService,
    private readonly deadman: DeadmanSwitchService,
  ) {
    super(runtime, directory);
  }

  protected get stream(): AccountStream<'order'> {
    return this.orders;
  }

  @OrdersRequest(CLIENT_EVENTS.orderSubmit)
  @TradingCommand()
  submitOrder(@ConnectedSocket() socket: GatewaySocket<typeof NAMESPACES.orders>, @MessageBody() body: OrderSubmitDto): Promise<OrderSubmitResponse> {
    // The dead-man's switch covers what is submitted through the connection.
    return this.deadman.submitted(socket, body, () => this.commands.submit(socket.data.user, body));
  }

  @OrdersRequest(CLIENT_EVENTS.orderCancel)
  @TradingCommand()
  cancelOrder(@ConnectedSocket() socket: GatewaySocket<typeof NAMESPACES.orders>, @MessageBody() body: OrderCancelDto): Promise<OrderCancelResponse> {
    return this.commands.cancel(socket.data.user, body);
  }

  @OrdersRequest(CLIENT_EVENTS.orderCancelAll)
  @TradingCommand()
  cancelAllOrders(@ConnectedSocket() socket: GatewaySocket<typeof NAMESPACES.orders>, @MessageBody() body: OrderCancelAllDto): Promise<OrderCancelAllResponse> {
    return this.commands.cancelAll(socket.data.user, body);
  }

  @OrdersRequest(CLIENT_EVENTS.orderAmend)
  @TradingCommand()
  amendOrder(@ConnectedSocket() socket: GatewaySocket<typeof NAMESPACES.orders>, @MessageBody() body: OrderAmendDto): Promise<OrderAmendResponse> {
    return this.commands.amend(socket.data.user, body);
  }

  @OrdersRequest(CLIENT_EVENTS.orderDeadman)
  @TradingCommand()
  deadmanSwitch(@ConnectedSocket() socket: GatewaySocket<typeof NAMESPACES.orders>, @MessageBody() body: OrderDeadmanDto): Promise<OrderDeadmanResponse> {
    return this.deadman.command(socket, body);
  }
}
