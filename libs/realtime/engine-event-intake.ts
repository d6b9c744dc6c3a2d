import { Inject, Injectable } from '@nestjs/common';
import type { BaseRpcContext } from '@nestjs/microservices';
import type { EngineEventKind } from '#libs/contracts';
import { GatewayMetrics, OncePerKeyLogger, PINO_LOGGER, type Logger } from '#libs/observability';
import { engineSubjectOf, engineTransportOf } from './engine-context.js';
import { MalformedEnginePayload } from './engine-message.deserializer.js';
import type { Validated } from '#libs/contracts';
import { excerptOf, type EngineRejectionFeedback } from './engine-rejection-feedback.js';

export type MalformedReason = MalformedEnginePayload['reason'] | 'invalid_fields' | 'bad_subject' | 'unknown_instrument' | 'unknown_account' | 'stale_seq';

/**
 * The front door of every engine event: counts it, validates it, and drops what is malformed (counted by kind and
 * reason, logged once per kind) so that one bad event never stops the stream.
 */
@Injectable()
export class EngineEventIntake {
  private readonly onceLogger: OncePerKeyLogger;
  /** Where drops are reported to publishers (`gateway.rejected.<kind>`), once the engine transport is up. */
  private feedback?: EngineRejectionFeedback;

  constructor(
    private readonly metrics: GatewayMetrics,
    @Inject(PINO_LOGGER) logger: Logger,
  ) {
    this.onceLogger = new OncePerKeyLogger(logger);
  }

  accept<T>(kind: EngineEventKind, context: BaseRpcContext<unknown>, payload: unknown, validate: (payload: unknown) => Validated<T>): { subject: string; value: T } | null {
    this.metrics.engineEvent(kind, engineTransportOf(context));
    const subject = engineSubjectOf(context);
    if (payload instanceof MalformedEnginePayload) {
      this.drop(kind, subject, payload.reason, undefined, payload.excerpt);
      return null;
    }
    const result = validate(payload);
    if (!result.ok) {
      this.drop(kind, subject, 'invalid_fields', result.reason, payload);
      return null;
    }
    return { subject, value: result.value };
  }

  /** `payload`: the event as received or parsed, for the excerpt in the publisher's feedback. */
  drop(kind: EngineEventKind, subject: string, reason: MalformedReason, detail?: string, payload?: unknown): void {
    this.metrics.malformedEngineEvent(kind, reason);
    this.onceLogger.warn(`${kind}:${reason}`, { kind, subject, reason, detail }, 'malformed engine event dropped');
    this.feedback?.report(kind, subject, reason, detail, excerptOf(payload));
  }

  attachFeedback(feedback: EngineRejectionFeedback): void {
    this.feedback = feedback;
  }
}
