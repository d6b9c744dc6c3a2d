import { describe, expectTypeOf, it } from 'vitest';
import type { MdSubscribeResponse, OrderSubmitResponse } from '#libs/contracts';
import type { NamespaceChannel } from './connection.js';

/**
 * The SDK's requests are typed by the same contract map as the gateway's handlers and the tests' `request`
 * (libs/contracts `NamespaceRequests`), checked by `npm run typecheck`: a wrong event, payload or answer does not compile.
 */
describe('SDK requests typed by the contract', () => {
  it("derives a namespace channel's payload and answer from the map", () => {
    const _send = (marketData: NamespaceChannel<'/market-data'>, orders: NamespaceChannel<'/orders'>, positions: NamespaceChannel<'/positions'>) => ({
      subscribe: marketData.request('subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'] }),
      submit: orders.request('order:submit', { clientOrderId: 'c-1', account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'market', quantity: '1' }),
      // @ts-expect-error a market-data subscribe needs instruments and channels
      wrongPayload: marketData.request('subscribe', { accounts: ['ACC-1'] }),
      // @ts-expect-error /positions has no order commands
      wrongEvent: positions.request('order:submit', {}),
    });
    expectTypeOf<ReturnType<typeof _send>['subscribe']>().toEqualTypeOf<Promise<MdSubscribeResponse>>();
    expectTypeOf<ReturnType<typeof _send>['submit']>().toEqualTypeOf<Promise<OrderSubmitResponse>>();
  });
});
