import type { Socket } from 'socket.io-client';
import { describe, expectTypeOf, it } from 'vitest';
import type { AckResponse, MdSubscribeResponse, OrderDeadmanResponse, OrderSubmitResponse } from '#libs/contracts';
import { typedRequest } from './support/gateway.js';

/**
 * The contract's request map types the test helper (checked by `npm run typecheck`, which compiles this file): each
 * namespace's event takes its payload and answers its response, and a wrong one is a compile error.
 */
describe('typed requests', () => {
  it('derives payload and answer from the namespace and the event', () => {
    const _send = (socket: Socket) => ({
      subscribe: typedRequest(socket, '/market-data', 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'] }),
      submit: typedRequest(socket, '/orders', 'order:submit', { clientOrderId: 'c-1', account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'market', quantity: '1' }),
      deadman: typedRequest(socket, '/orders', 'order:deadman', { timeoutMs: 5_000 }),
      // @ts-expect-error the dead-man's switch takes its timeout as a number of milliseconds
      wrongDeadman: typedRequest(socket, '/orders', 'order:deadman', { timeoutMs: '5000' }),
      // @ts-expect-error a market-data subscribe needs instruments and channels
      wrongPayload: typedRequest(socket, '/market-data', 'subscribe', { accounts: ['ACC-1'] }),
      // @ts-expect-error /positions has no order commands
      wrongEvent: typedRequest(socket, '/positions', 'order:submit', {}),
    });
    expectTypeOf<ReturnType<typeof _send>['subscribe']>().toEqualTypeOf<Promise<AckResponse<MdSubscribeResponse>>>();
    expectTypeOf<ReturnType<typeof _send>['submit']>().toEqualTypeOf<Promise<AckResponse<OrderSubmitResponse>>>();
    expectTypeOf<ReturnType<typeof _send>['deadman']>().toEqualTypeOf<Promise<AckResponse<OrderDeadmanResponse>>>();
  });
});
