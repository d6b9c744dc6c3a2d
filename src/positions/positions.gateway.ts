import { WebSocketGateway } from '@nestjs/websockets';
import { AccountDirectory } from '#libs/auth';
import { NAMESPACES } from '#libs/contracts';
import { AccountStreamGateway, GatewayRuntime, type AccountStream } from '#libs/realtime';
import { PositionsService } from './positions.service.js';

@WebSocketGateway({ namespace: NAMESPACES.positions })
export class PositionsGateway extends AccountStreamGateway<'position'> {
  readonly namespaceName = NAMESPACES.positions;

  constructor(
    runtime: GatewayRuntime,
    directory: AccountDirectory,
    private readonly positions: PositionsService,
  ) {
    super(runtime, directory);
  }

  protected get stream(): AccountStream<'position'> {
    return this.positions.stream;
  }
}
