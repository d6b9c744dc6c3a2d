import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AuditTrail } from '#libs/audit';
import { LicenceResolver } from '#libs/licensing';

/**
 * Records every licence change this replica applies (a `licence.changed` engine event, a `LICENCE_REGISTRY` file or
 * Redis change): one `licence.changed` record per user or tenant named, with the entry now in effect. What each live
 * connection got of it is recorded by the gateways (`licence.applied`).
 */
@Injectable()
export class LicenceAudit implements OnModuleInit, OnApplicationShutdown {
  private stopListening?: () => void;

  constructor(
    private readonly trail: AuditTrail,
    private readonly licences: LicenceResolver,
  ) {}

  onModuleInit(): void {
    this.stopListening = this.licences.onChange((change) => {
      for (const scope of change.scopes) {
        this.trail.licenceChanged({ source: change.source, scope: scope.kind, id: scope.id, licence: this.licences.entryOf(scope) ?? null });
      }
    });
  }

  /** After the drain (GracefulShutdown): a change applied while clients drain is recorded too. */
  onApplicationShutdown(): void {
    this.stopListening?.();
  }
}
