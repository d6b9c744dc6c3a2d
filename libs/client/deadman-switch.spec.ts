import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NAMESPACES, type DeadmanFired, type OrderDeadmanRequest, type OrderDeadmanResponse } from '#libs/contracts';
import { ScriptedGateway, until } from './spec-support/scripted-gateway.js';
import { TradewireClient, type DeadmanSwitchState, type TradewireError } from './index.js';

const ORDERS = NAMESPACES.orders;

/**
 * The SDK's dead-man's switch against a scripted gateway that answers `order:deadman` as the gateway does (its rules
 * are tested end to end in test/deadman.e2e-spec.ts): how often it refreshes, that it re-attaches by id after a
 * reconnect, and what it tells the application.
 */
describe('client.orders.deadman', () => {
  let gateway: ScriptedGateway;
  let client: TradewireClient | null;
  let errors: TradewireError[];
  let armedSwitches: number;
  /** Switch ids the scripted gateway has "fired": naming one arms a new switch, with `fired`. */
  let firedSwitches: Map<string, DeadmanFired>;

  const start = () => {
    client = new TradewireClient({ url: gateway.url, getToken: () => 'token', transports: ['websocket'], pingIntervalMs: 0, backoff: { minDelayMs: 20, maxDelayMs: 100 } });
    client.on('error', (error) => errors.push(error));
    return client;
  };
  const sent = () => gateway.requestsOf(ORDERS, 'order:deadman').map((r) => r.payload as OrderDeadmanRequest);

  beforeEach(async () => {
    gateway = await ScriptedGateway.start();
    client = null;
    errors = [];
    armedSwitches = 0;
    firedSwitches = new Map();
    gateway.on(ORDERS, 'order:deadman', (_socket, payload) => {
      const { timeoutMs, switchId } = payload as OrderDeadmanRequest;
      if (timeoutMs === 0) return { ok: true, data: { armed: false, ...(switchId ? { switchId } : {}) } };
      const fired = switchId ? firedSwitches.get(switchId) : undefined;
      const resumed = switchId !== undefined && !fired;
      const data: OrderDeadmanResponse = { armed: true, switchId: resumed ? switchId : `switch-${++armedSwitches}`, timeoutMs, deadline: Date.now() + timeoutMs, resumed, orders: 0, ...(fired ? { fired } : {}) };
      return { ok: true, data };
    });
  });
  afterEach(async () => {
    client?.close();
    await gateway.close();
  });

  it('arms, refreshes three times per timeout with its id, and stops when disarmed', async () => {
    const c = start();
    const state = await c.orders.deadman.arm(1_000);
    expect(state).toMatchObject({ armed: true, switchId: 'switch-1', timeoutMs: 1_000, orders: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const refreshes = sent().slice(1);
    expect(refreshes.length).toBeGreaterThanOrEqual(2);
    expect(refreshes.length).toBeLessThanOrEqual(4);
    expect(refreshes.every((request) => request.timeoutMs === 1_000 && request.switchId === 'switch-1')).toBe(true);

    await c.orders.deadman.disarm();
    expect(sent().at(-1)).toEqual({ timeoutMs: 0, switchId: 'switch-1' });
    const count = sent().length;
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(sent()).toHaveLength(count);
    expect(c.orders.deadman.state).toEqual({ armed: false, switchId: null, timeoutMs: null, deadline: null, orders: 0 });
    expect(errors).toEqual([]);
  });

  it('re-attaches its switch by id at once after a reconnect', async () => {
    const c = start();
    await c.orders.deadman.arm(60_000);
    const armed: { state: DeadmanSwitchState; resumed: boolean }[] = [];
    c.orders.deadman.on('armed', (state, info) => armed.push({ state, resumed: info.resumed }));
    gateway.dropAll();
    await until('re-attached', () => armed.length > 0);
    expect(sent().at(-1)).toEqual({ timeoutMs: 60_000, switchId: 'switch-1' });
    expect(armed[0]).toMatchObject({ resumed: true, state: { armed: true, switchId: 'switch-1' } });
  });

  it("tells the application once when its switch fired (the gateway's event, then an answer saying so), and stays armed with a new switch", async () => {
    const c = start();
    await c.orders.deadman.arm(1_000);
    const fired: DeadmanFired[] = [];
    c.orders.deadman.on('fired', (event) => fired.push(event));
    const event: DeadmanFired = { switchId: 'switch-1', reason: 'timeout', firedAt: Date.now(), orders: 2 };
    firedSwitches.set('switch-1', event);
    gateway.emit(ORDERS, 'deadman', { state: 'fired', ...event });
    await until('the fired event', () => fired.length > 0);
    expect(c.orders.deadman.state.armed).toBe(false);
    // The next refresh names the fired switch: the gateway arms a new one and says the old one fired.
    await until('a new switch', () => c.orders.deadman.state.switchId === 'switch-2');
    expect(fired).toEqual([event]);
    expect(c.orders.deadman.state).toMatchObject({ armed: true, switchId: 'switch-2' });
  });

  it('refuses a timeout out of bounds at once, before anything is sent', async () => {
    const c = start();
    for (const bad of [0, 999, 3_600_001, 1500.5, Number.NaN]) expect(() => c.orders.deadman.arm(bad)).toThrow(/timeoutMs/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sent()).toEqual([]);
  });

  it('reports a malformed deadman event and goes on', async () => {
    const c = start();
    await c.orders.deadman.arm(60_000);
    gateway.emit(ORDERS, 'deadman', { state: 'fired', switchId: 42 });
    await until('the bad frame reported', () => errors.some((error) => error.code === 'BAD_FRAME'));
    expect(c.orders.deadman.state.armed).toBe(true);
  });
});
