import { GatewayError } from '#libs/contracts';
import type { OrderCommand, OrderEngineChannel, OrderEngineRequests } from '../engine/order-engine.channel.js';
import type { MarketSimulator } from './market-simulator.js';

/** The embedded default's order engine: the built-in simulator answers in process, as an engine would over NATS. */
export class SimulatorOrderChannel implements OrderEngineChannel {
  readonly name = 'simulator';

  constructor(private readonly simulator: MarketSimulator) {}

  request<C extends OrderCommand>(command: C, body: OrderEngineRequests[C]): Promise<unknown> {
    if (!this.simulator.running) return Promise.reject(new GatewayError('ENGINE_UNAVAILABLE', 'the simulator is stopped'));
    // A copy through JSON, as over the wire: the simulator keeps nothing of the gateway's objects.
    const request = JSON.parse(JSON.stringify(body)) as OrderEngineRequests[C];
    return Promise.resolve(this.answer(command, request));
  }

  private answer<C extends OrderCommand>(command: C, request: OrderEngineRequests[C]): unknown {
    // The casts follow the command: OrderEngineRequests maps each command to its body.
    switch (command) {
      case 'submit':
        return this.simulator.submitOrder(request as OrderEngineRequests['submit']);
      case 'cancel':
        return this.simulator.cancelOrder(request);
      case 'cancel-all':
        return this.simulator.cancelAllOrders(request as OrderEngineRequests['cancel-all']);
      case 'amend':
        return this.simulator.amendOrder(request as OrderEngineRequests['amend']);
      default:
        return { code: 'INVALID_REQUEST', message: `unknown order command ${String(command)}` };
    }
  }
}
