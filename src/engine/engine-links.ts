import { Injectable } from '@nestjs/common';
import type { Observable, Subscription } from 'rxjs';
import type { Redis } from 'ioredis';

/**
 * The live links to the outside this process depends on: the engine transports' status (from Nest's microservice
 * `status` streams) and the engine's Redis clients. Health reads the status; EngineTransports closes the clients at
 * shutdown. (The fleet's Redis connections are its own: src/fleet/fleet-redis.ts.)
 */
@Injectable()
export class EngineLinks {
  private readonly transportStatus = new Map<string, string>();
  private readonly subscriptions: Subscription[] = [];
  private readonly redisClients: Redis[] = [];

  trackTransport(name: string, status$: Observable<string>): void {
    this.transportStatus.set(name, 'connecting');
    this.subscriptions.push(status$.subscribe((status) => this.transportStatus.set(name, status)));
  }

  transports(): Record<string, string> {
    return Object.fromEntries(this.transportStatus);
  }

  addRedisClient(client: Redis): void {
    this.redisClients.push(client);
  }

  async close(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    await Promise.allSettled(this.redisClients.map((client) => client.quit()));
  }
}
