import { WebSocketGateway } from '@nestjs/websockets';
import { AccountDirectory } from '#libs/auth';
import { NAMESPACES } from '#libs/contracts';
import { AccountStreamGateway, GatewayRuntime, type AccountStream } from '#libs/realtime';
import { PortfolioService } from './portfolio.service.js';

@WebSocketGateway({ namespace: NAMESPACES.portfolio })
export class PortfolioGateway extends AccountStreamGateway<'portfolio'> {
  readonly namespaceName = NAMESPACES.portfolio;

  constructor(
    runtime: GatewayRuntime,
    directory: AccountDirectory,
    private readonly portfolio: PortfolioService,
  ) {
    super(runtime, directory);
  }

  protected get stream(): AccountStream<'portfolio'> {
    return this.portfolio.stream;
  }
}
