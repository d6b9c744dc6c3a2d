/** What the page keeps in the browser: the token for this tab, the watch list for this browser. */

const TOKEN_KEY = 'tradewire.token';
const WATCHLIST_KEY = 'tradewire.watchlist';
const INSTRUMENT_PATTERN = /^[A-Z0-9_]{1,16}:[A-Z0-9._-]{1,32}$/;

export const DEFAULT_WATCHLIST: readonly string[] = [
  'NASDAQ:AAPL',
  'NASDAQ:MSFT',
  'NASDAQ:NVDA',
  'NASDAQ:AMZN',
  'NYSE:IBM',
  'NYSE:JPM',
  'LSE:VOD',
  'LSE:HSBA',
  'EGX:COMI',
  'ADX:FAB',
  'BINANCE:BTCUSDT',
];

export function isInstrument(value: string): boolean {
  return INSTRUMENT_PATTERN.test(value);
}

function read(store: () => Storage, key: string): string | null {
  try {
    return store().getItem(key);
  } catch {
    return null;
  }
}

function write(store: () => Storage, key: string, value: string): void {
  try {
    store().setItem(key, value);
  } catch {
    // Storage can be disabled (private mode, policies); the page still works, it only forgets on reload.
  }
}

/**
 * The token from `?token=` (the address the gateway prints), else from this tab's session storage. A token in the
 * address is moved to session storage and taken out of the address bar, history and screenshots.
 */
export function takeToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    saveToken(fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return read(() => window.sessionStorage, TOKEN_KEY);
}

export function saveToken(token: string): void {
  write(() => window.sessionStorage, TOKEN_KEY, token);
}

export function loadWatchlist(): string[] {
  const raw = read(() => window.localStorage, WATCHLIST_KEY);
  if (raw) {
    try {
      const list: unknown = JSON.parse(raw);
      if (Array.isArray(list) && list.length > 0 && list.every((s): s is string => typeof s === 'string' && isInstrument(s))) return list;
    } catch {
      // a damaged entry: the default list
    }
  }
  return DEFAULT_WATCHLIST.slice();
}

export function saveWatchlist(list: readonly string[]): void {
  write(() => window.localStorage, WATCHLIST_KEY, JSON.stringify(list));
}
