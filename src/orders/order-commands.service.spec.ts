import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayContext, unitUser } from '../../test/support/app-context.js';
import { OrderEngine } from '../engine/order-engine.channel.js';
import { DeadmanSwitchService } from './deadman/deadman-switch.service.js';
import { OrderCommandsService } from './order-commands.service.js';

/**
 * The order command service in the gateway's real module graph, on the order channel the engine module chose: the
 * built-in simulator's (the embedded default), which accepts, works and cancels orders as an engine would.
 */
describe('OrderCommandsService', () => {
  let app: INestApplicationContext;
  let commands: OrderCommandsService;
  const trader = unitUser();

  beforeAll(async () => {
    app = await gatewayContext({ SIMULATOR: 'on', SIMULATOR_RATE: '1', SIMULATOR_ORDER_RATE: '0' });
    commands = app.get(OrderCommandsService);
  });
  afterAll(async () => {
    await app.close();
  });

  it('goes to the channel the engine module attached', () => {
    expect(app.get(OrderEngine).channel?.name).toBe('simulator');
  });

  it('submits, answers a repeated clientOrderId with the first answer, and cancels', async () => {
    const order = { clientOrderId: 'unit-1', account: 'ACC-1001', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '10', price: '1.5' } as const;
    const first = await commands.submit(trader, order);
    expect(first).toEqual({ orderId: expect.any(String) as string, status: expect.stringMatching(/^(pending_new|new)$/) as string });
    expect(await commands.submit(trader, order)).toEqual(first);
    await expect(commands.submit(trader, { ...order, quantity: '11' })).rejects.toMatchObject({ code: 'DUPLICATE_ORDER' });
    const cancelled = await commands.cancel(trader, { account: 'ACC-1001', orderId: first.orderId });
    expect(cancelled.status).toMatch(/^(pending_cancel|canceled)$/);
  });

  it('refuses an account the user may not trade and a zero quantity, before the engine sees them', async () => {
    await expect(commands.submit(trader, { clientOrderId: 'unit-2', account: 'ACC-2001', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'market', quantity: '1' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(commands.submit(trader, { clientOrderId: 'unit-3', account: 'ACC-1001', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'market', quantity: '0' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it("cancels on its owner's behalf by clientOrderId (the dead-man's switch's cancel, with the switch in the same graph), and the engine refuses a second", async () => {
    expect(app.get(DeadmanSwitchService)).toBeInstanceOf(DeadmanSwitchService);
    await commands.submit(trader, { clientOrderId: 'unit-4', account: 'ACC-1001', instrument: 'NASDAQ:AAPL', side: 'buy', type: 'limit', quantity: '10', price: '1.5' });
    const owner = { userId: trader.userId, tenant: trader.tenant };
    expect(await commands.cancelOnBehalf(owner, { account: 'ACC-1001', clientOrderId: 'unit-4' })).toEqual({ status: 'canceled' });
    await expect(commands.cancelOnBehalf(owner, { account: 'ACC-1001', clientOrderId: 'unit-4' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});
