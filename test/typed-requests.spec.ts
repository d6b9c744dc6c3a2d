import type { Socket } from 'socket.io-client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { NAMESPACES, type AckResponse, type MdResyncResponse, type MdSubscribeResponse, type OrderDeadmanResponse, type OrderSubmitResponse, type RequestsOf } from '#libs/contracts';
import { requestHandlerOf, type GatewaySocket } from '#libs/realtime';
import { request, requestRaw, type NamespaceSocket } from './support/gateway.js';

/**
 * The contract's request map (libs/contracts `NamespaceRequests`) types both ends, checked by `npm run typecheck`,
 * which compiles this file: a test's `request` takes the payload of its socket's namespace and answers that request's
 * answer; a gateway's handler must answer what the map says. Each `@ts-expect-error` below is a mistake that must not
 * compile (the directive itself fails the typecheck if it does).
 */
describe('typed requests', () => {
  it('derives the payload and the answer of a test request from the socket and the event', () => {
    const _send = (marketData: NamespaceSocket<'/market-data'>, orders: NamespaceSocket<'/orders'>, positions: NamespaceSocket<'/positions'>, plain: Socket) => ({
      subscribe: request(marketData, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['quote'] }),
      submit: request(orders, 'order:submit', { clientOrderId: 'c-1', account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'market', quantity: '1' }),
      accounts: request(positions, 'subscribe', { accounts: ['ACC-1'] }),
      deadman: request(orders, 'order:deadman', { timeoutMs: 5_000 }),
      // @ts-expect-error the dead-man's switch takes its timeout as a number of milliseconds
      wrongDeadman: request(orders, 'order:deadman', { timeoutMs: '5000' }),
      // @ts-expect-error a market-data subscribe needs instruments and channels, not accounts
      wrongPayload: request(marketData, 'subscribe', { accounts: ['ACC-1'] }),
      // @ts-expect-error no such channel in the contract
      wrongChannel: request(marketData, 'subscribe', { instruments: ['NASDAQ:AAPL'], channels: ['level3'] }),
      // @ts-expect-error /positions has no order commands
      wrongEvent: request(positions, 'order:submit', {}),
      // @ts-expect-error a plain socket.io-client socket has no namespace: connect with connectClient / managerSocket
      untypedSocket: request(plain, 'ping', {}),
      // The escape hatch for bad-input tests: anything goes, on any socket, and the answer is what the caller claims.
      malformed: requestRaw(marketData, 'subscribe', { instruments: 'NASDAQ:AAPL' }),
    });
    expectTypeOf<ReturnType<typeof _send>['subscribe']>().toEqualTypeOf<Promise<AckResponse<MdSubscribeResponse>>>();
    expectTypeOf<ReturnType<typeof _send>['submit']>().toEqualTypeOf<Promise<AckResponse<OrderSubmitResponse>>>();
    expectTypeOf<ReturnType<typeof _send>['deadman']>().toEqualTypeOf<Promise<AckResponse<OrderDeadmanResponse>>>();
    expectTypeOf<ReturnType<typeof _send>['malformed']>().toEqualTypeOf<Promise<AckResponse<unknown>>>();
    const _wrongAnswer = async (orders: NamespaceSocket<'/orders'>) => {
      // @ts-expect-error order:submit answers an OrderSubmitResponse, not a subscribe answer
      const answer: AckResponse<MdSubscribeResponse> = await request(orders, 'order:submit', { clientOrderId: 'c-1', account: 'ACC-1', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'market', quantity: '1' });
      return answer;
    };
    expectTypeOf(_wrongAnswer).returns.toEqualTypeOf<Promise<AckResponse<MdSubscribeResponse>>>();
  });

  it("types a gateway's handlers by its namespace's map: an answer or an event it does not list does not compile", () => {
    const MarketDataRequest = requestHandlerOf<RequestsOf<typeof NAMESPACES.marketData>>();
    class MarketDataHandlers {
      @MarketDataRequest('resync')
      resync(_socket: GatewaySocket, body: { stream: string }): MdResyncResponse {
        return { stream: body.stream, seq: 0 };
      }

      // @ts-expect-error resync answers MdResyncResponse
      @MarketDataRequest('resync')
      resyncAnsweringNumber(_socket: GatewaySocket, _body: { stream: string }): number {
        return 1;
      }

      // @ts-expect-error the payload of resync is { stream }, not accounts
      @MarketDataRequest('resync')
      resyncOfAccounts(_socket: GatewaySocket, _body: { accounts: number }): MdResyncResponse {
        return {} as MdResyncResponse;
      }

      // @ts-expect-error /market-data has no order commands
      @MarketDataRequest('order:submit')
      submit(): OrderSubmitResponse {
        return {} as OrderSubmitResponse;
      }
    }
    expect(new MarketDataHandlers().resync({} as GatewaySocket, { stream: 'book:NASDAQ:AAPL' })).toEqual({ stream: 'book:NASDAQ:AAPL', seq: 0 });
  });
});
