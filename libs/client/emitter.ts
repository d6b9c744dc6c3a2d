/** The arguments of a listener type (never for a member that is not a function). */
export type ListenerArgs<T> = T extends (...args: infer A) => void ? A : never;
/** A listener of an event map's member. */
export type Listener<T> = (...args: ListenerArgs<T>) => void;

/**
 * A small typed event emitter that works the same in browsers and Node: `Events` is an interface of listener
 * signatures by event name, so a misspelt event or a wrong listener is a type error. A listener that throws never
 * breaks the SDK or the other listeners: the error goes to `onListenerError`.
 */
export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<Events[keyof Events]>>>();

  constructor(private readonly onListenerError: (error: unknown, event: string) => void = () => undefined) {}

  /** Adds a listener; returns the function that removes it. */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    const wrapper: Listener<Events[E]> = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): void {
    this.listeners.get(event)?.delete(listener);
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  protected emit<E extends keyof Events>(event: E, ...args: ListenerArgs<Events[E]>): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[E]>)(...args);
      } catch (error) {
        this.onListenerError(error, String(event));
      }
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
