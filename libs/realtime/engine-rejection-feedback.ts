import { ENGINE_REJECTION_EXCERPT_CHARS, engineRejectionSubject, type EngineEventKind, type EngineRejection, type EngineRejectionReason } from '#libs/contracts';

export interface EngineRejectionFeedbackOptions {
  /** This replica's name, in every report. */
  nodeId: string;
  /** Reports per kind per second; the rest are counted into the next report's `suppressed`. */
  perKindPerSecond: number;
  /** Sends one report (fire and forget; must not throw). */
  send: (subject: string, text: string) => void;
  /** Told of every drop's outcome, for the operators' metric: its report was sent, or held back by the rate limit. */
  counted: (kind: EngineEventKind, outcome: EngineFeedbackOutcome) => void;
}

export type EngineFeedbackOutcome = 'sent' | 'suppressed';

interface KindWindow {
  startedAt: number;
  sent: number;
  suppressed: number;
}

/**
 * Tells publishers about the engine events this replica drops, on `gateway.rejected.<kind>`. Rate limited per kind in
 * fixed one-second windows, so a flood of junk on one subject costs at most `perKindPerSecond` small messages a second
 * and never hides another kind's reports; what is held back is counted in the next report that goes out.
 */
export class EngineRejectionFeedback {
  private readonly windows = new Map<EngineEventKind, KindWindow>();

  constructor(private readonly options: EngineRejectionFeedbackOptions) {}

  report(kind: EngineEventKind, subject: string, reason: EngineRejectionReason, detail: string | undefined, excerpt: string | undefined, now = Date.now()): void {
    let window = this.windows.get(kind);
    if (!window || now - window.startedAt >= 1_000) {
      window = { startedAt: now, sent: 0, suppressed: window?.suppressed ?? 0 };
      this.windows.set(kind, window);
    }
    if (window.sent >= this.options.perKindPerSecond) {
      window.suppressed++;
      this.options.counted(kind, 'suppressed');
      return;
    }
    window.sent++;
    this.options.counted(kind, 'sent');
    const rejection: EngineRejection = { kind, subject, reason, node: this.options.nodeId, ts: now };
    if (detail !== undefined) rejection.detail = detail;
    if (excerpt !== undefined) rejection.excerpt = excerpt.slice(0, ENGINE_REJECTION_EXCERPT_CHARS);
    if (window.suppressed > 0) {
      rejection.suppressed = window.suppressed;
      window.suppressed = 0;
    }
    this.options.send(engineRejectionSubject(kind), JSON.stringify(rejection));
  }
}

/** The start of a dropped event, as text: what it was received as, or its JSON once parsed. */
export function excerptOf(payload: unknown): string | undefined {
  if (payload === undefined) return undefined;
  if (typeof payload === 'string') return payload.slice(0, ENGINE_REJECTION_EXCERPT_CHARS);
  try {
    // A parsed event is small by then (the size and depth limits were checked on its text); cut after stringifying.
    return JSON.stringify(payload)?.slice(0, ENGINE_REJECTION_EXCERPT_CHARS);
  } catch {
    return undefined;
  }
}
