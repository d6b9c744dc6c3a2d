import { Injectable } from '@nestjs/common';
import type { GatewayNamespace, GatewaySocket } from './gateway-socket.js';

export interface NamespaceStats {
  connections: number;
  uniqueUsers: number;
}

/**
 * Every live socket of this process by namespace and user: the source of connection counts for health, of the
 * sockets to notify and disconnect on shutdown, and of per-user lookups (disconnecting a user, live licence changes).
 */
@Injectable()
export class ConnectionRegistry {
  private readonly namespaces = new Map<string, GatewayNamespace>();
  private readonly byNamespace = new Map<string, Map<string, GatewaySocket>>();
  private readonly usersByNamespace = new Map<string, Map<string, number>>();
  /** Connections of each user over every namespace: `uniqueUsers` without a pass over them (a heartbeat asks often). */
  private readonly connectionsByUser = new Map<string, number>();
  private readonly startedAt = Date.now();

  registerNamespace(namespace: GatewayNamespace): void {
    this.namespaces.set(namespace.name, namespace);
    if (!this.byNamespace.has(namespace.name)) this.byNamespace.set(namespace.name, new Map());
    if (!this.usersByNamespace.has(namespace.name)) this.usersByNamespace.set(namespace.name, new Map());
  }

  add(socket: GatewaySocket): void {
    const name = socket.nsp.name;
    const sockets = this.byNamespace.get(name);
    if (!sockets) return;
    sockets.set(socket.id, socket);
    const users = this.usersByNamespace.get(name);
    if (users) users.set(socket.data.user.userId, (users.get(socket.data.user.userId) ?? 0) + 1);
    this.connectionsByUser.set(socket.data.user.userId, (this.connectionsByUser.get(socket.data.user.userId) ?? 0) + 1);
  }

  remove(socket: GatewaySocket): boolean {
    const name = socket.nsp.name;
    const removed = this.byNamespace.get(name)?.delete(socket.id) ?? false;
    if (removed) {
      const users = this.usersByNamespace.get(name);
      const userId = socket.data.user.userId;
      const left = (users?.get(userId) ?? 1) - 1;
      if (left <= 0) users?.delete(userId);
      else users?.set(userId, left);
      const everywhere = (this.connectionsByUser.get(userId) ?? 1) - 1;
      if (everywhere <= 0) this.connectionsByUser.delete(userId);
      else this.connectionsByUser.set(userId, everywhere);
    }
    return removed;
  }

  allNamespaces(): GatewayNamespace[] {
    return [...this.namespaces.values()];
  }

  sockets(namespace?: string): GatewaySocket[] {
    if (namespace) return [...(this.byNamespace.get(namespace)?.values() ?? [])];
    return [...this.byNamespace.values()].flatMap((sockets) => [...sockets.values()]);
  }

  stats(): { namespaces: Record<string, NamespaceStats>; connections: number; uniqueUsers: number; uptimeSeconds: number } {
    const namespaces: Record<string, NamespaceStats> = {};
    let connections = 0;
    for (const [name, sockets] of this.byNamespace) {
      namespaces[name] = { connections: sockets.size, uniqueUsers: this.usersByNamespace.get(name)?.size ?? 0 };
      connections += sockets.size;
    }
    return { namespaces, connections, uniqueUsers: this.connectionsByUser.size, uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000) };
  }
}
