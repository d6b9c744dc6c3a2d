import { describe, expect, it } from 'vitest';
import { ConnectionRegistry } from './connection-registry.js';
import type { GatewayNamespace, GatewaySocket } from './gateway-socket.js';

/** The parts of a Socket.IO socket and namespace the registry reads. */
const namespace = (name: string) => ({ name }) as unknown as GatewayNamespace;
const socket = (id: string, namespaceName: string, userId: string) => ({ id, nsp: { name: namespaceName }, data: { user: { userId } } }) as unknown as GatewaySocket;

describe('ConnectionRegistry stats', () => {
  it('counts a user once over every namespace, until the last of their connections goes', () => {
    const registry = new ConnectionRegistry();
    registry.registerNamespace(namespace('/market-data'));
    registry.registerNamespace(namespace('/orders'));
    const quotes = socket('a', '/market-data', 'u1');
    const orders = socket('b', '/orders', 'u1');
    const second = socket('c', '/market-data', 'u1');
    const other = socket('d', '/orders', 'u2');
    for (const each of [quotes, orders, second, other]) registry.add(each);
    expect(registry.stats()).toMatchObject({
      connections: 4,
      uniqueUsers: 2,
      namespaces: { '/market-data': { connections: 2, uniqueUsers: 1 }, '/orders': { connections: 2, uniqueUsers: 2 } },
    });
    registry.remove(quotes);
    registry.remove(orders);
    expect(registry.stats()).toMatchObject({ connections: 2, uniqueUsers: 2 });
    registry.remove(second);
    // Removing the same socket twice changes nothing.
    expect(registry.remove(second)).toBe(false);
    expect(registry.stats()).toMatchObject({ connections: 1, uniqueUsers: 1, namespaces: { '/market-data': { connections: 0, uniqueUsers: 0 } } });
  });

  it('ignores a socket of a namespace it does not know', () => {
    const registry = new ConnectionRegistry();
    registry.add(socket('a', '/elsewhere', 'u1'));
    expect(registry.stats()).toMatchObject({ connections: 0, uniqueUsers: 0 });
    expect(registry.remove(socket('a', '/elsewhere', 'u1'))).toBe(false);
  });
});
