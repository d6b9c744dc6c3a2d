import { Injectable } from '@nestjs/common';

/** Subscribing to engine subjects on demand (NATS); transports that deliver everything need none. */
export interface EngineInterest {
  want(subject: string): Promise<void>;
  release(subject: string): void;
}

/**
 * Where domain services declare which engine subjects their local clients need. The engine transport that supports
 * it (InterestNatsServer) is attached at start; until then, and for transports that deliver everything, it does
 * nothing.
 */
@Injectable()
export class EngineInterestRegistry implements EngineInterest {
  private readonly transports: EngineInterest[] = [];

  attach(transport: EngineInterest): void {
    this.transports.push(transport);
  }

  get isSelective(): boolean {
    return this.transports.length > 0;
  }

  async want(subject: string): Promise<void> {
    await Promise.all(this.transports.map((transport) => transport.want(subject)));
  }

  release(subject: string): void {
    for (const transport of this.transports) transport.release(subject);
  }
}
