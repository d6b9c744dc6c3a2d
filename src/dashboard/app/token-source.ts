import { formatClock } from './format.js';
import { saveToken } from './storage.js';

/** A token this close to its end is not handed out as it is (it would be refused, or warned of, at once). */
const EXPIRED_MARGIN_MS = 2_000;
/**
 * The SDK asks for a token again only when it needs a fresh one: the gateway warned of the expiry (`auth:expiring`),
 * or refused the token. One that ends within this window is then asked for from the person in front of the page.
 */
const FRESH_WINDOW_MS = 5 * 60_000;

/** The `exp` of a JWT in epoch ms, or null when it has none or is not a JWT the page can read (then it is not judged). */
export function tokenExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json: unknown = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    const exp = json && typeof json === 'object' ? (json as { exp?: unknown }).exp : undefined;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * The SDK's `getToken()` for a page whose token comes from its address or from the person in front of it: it answers
 * at once with a token that is still valid, else asks (the token dialog) and answers when one is given. So an expired
 * token ends in a dialog, not in a refused connection, and the SDK reconnects by itself once a new one is pasted.
 */
export class TokenSource {
  private waiting: ((token: string) => void)[] = [];
  private readonly listeners = new Set<() => void>();
  /** Why the dialog is open; null when it is closed. */
  private askingFor: string | null = null;
  private lastAsked: string | null = null;
  /** The current token went to the SDK already: asked again, the SDK wants a fresh one. */
  private handedOut = false;

  constructor(private token: string | null) {}

  readonly get = (): Promise<string> => {
    const token = this.token;
    const expiresAt = token === null ? null : tokenExpiry(token);
    const now = Date.now();
    if (token === null) {
      this.ask('Open the dashboard address the gateway printed at startup (it ends in ?token=…), or paste a token here.');
    } else if (expiresAt !== null && expiresAt - EXPIRED_MARGIN_MS <= now) {
      this.ask('Your token has expired. Paste a fresh one to reconnect.');
    } else if (this.handedOut && expiresAt !== null && expiresAt - now < FRESH_WINDOW_MS) {
      this.ask(`Your token expires at ${formatClock(expiresAt)}. Paste a fresh one to stay connected.`);
    } else {
      this.handedOut = true;
      return Promise.resolve(token);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  };

  /** The current token, whatever its state (null before one was given). */
  get current(): string | null {
    return this.token;
  }

  get reason(): string | null {
    return this.askingFor;
  }

  /** Why a token was last asked for: the banner repeats it while the dialog is closed. */
  get lastReason(): string | null {
    return this.lastAsked;
  }

  /** Opens the token dialog with `reason`. */
  ask(reason: string): void {
    this.askingFor = reason;
    this.lastAsked = reason;
    this.notify();
  }

  /** The dialog was closed without a token: the SDK keeps waiting; the banner offers the dialog again. */
  dismiss(): void {
    this.askingFor = null;
    this.notify();
  }

  provide(token: string): void {
    this.token = token;
    this.handedOut = true;
    saveToken(token);
    this.askingFor = null;
    for (const resolve of this.waiting.splice(0)) resolve(token);
    this.notify();
  }

  /** True while the SDK waits for a token nobody has given yet. */
  get isWaiting(): boolean {
    return this.waiting.length > 0;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
