import type { EngineEventKind } from '#libs/contracts';

/** Called with each engine event of a kind that its handler applied: the concrete subject and the validated value. */
export type EngineEventObserver = (subject: string, value: unknown) => void;

/**
 * Where a provider observes engine events of kinds it does not handle (a feed-health tracker watching quotes, trades,
 * books and sessions per instrument, say): every route calls its kind's observers after its handler applied the event.
 * Observers run on the hot path, once per event: keep them to a few map writes, and do the rest on a timer.
 */
export class EngineEventTaps {
  private readonly observers = new Map<EngineEventKind, EngineEventObserver[]>();

  observe(kind: EngineEventKind, observer: EngineEventObserver): void {
    this.observersOf(kind).push(observer);
  }

  /** The live list of a kind's observers (the routes keep it, so observers added later are called too). */
  observersOf(kind: EngineEventKind): EngineEventObserver[] {
    let list = this.observers.get(kind);
    if (!list) {
      list = [];
      this.observers.set(kind, list);
    }
    return list;
  }
}
