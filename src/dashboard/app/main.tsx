/**
 * Tradewire demo dashboard: React on @tradewire/client, which owns the protocol (reconnect, replay, verified books,
 * token refresh). Bundled at build time by ../build-dashboard.ts; served by the gateway at `/`.
 */
import { StrictMode, useCallback, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { TradewireClient } from '@tradewire/client';
import { TradewireProvider } from '@tradewire/client/react';
import { App } from './App.js';
import { EventLog } from './event-log.js';
import { takeToken } from './storage.js';
import { TokenSource } from './token-source.js';

/** Pings every 10 s per tab: 6 of the 100 requests a minute a user may make, with latency shown at a useful rate. */
const PING_INTERVAL_MS = 10_000;

const tokens = new TokenSource(takeToken());
const log = new EventLog();

function newClient(): TradewireClient {
  return new TradewireClient({
    // The gateway that served the page; its namespaces share one connection.
    url: window.location.origin,
    getToken: tokens.get,
    pingIntervalMs: PING_INTERVAL_MS,
    logger: { warn: (message, fields) => console.warn(`tradewire: ${message}`, fields ?? {}) },
  });
}

function Root() {
  const [session, setSession] = useState(() => ({ id: 1, client: newClient() }));
  // A client refused for good (e.g. a token the gateway does not accept) is replaced by a new one, not revived; the
  // App under it starts afresh with it.
  const restart = useCallback(() => {
    setSession((previous) => {
      previous.client.close();
      log.add('info', 'client', 'starting a new connection');
      return { id: previous.id + 1, client: newClient() };
    });
  }, []);
  return (
    <TradewireProvider client={session.client}>
      <App key={session.id} client={session.client} tokens={tokens} log={log} restart={restart} />
    </TradewireProvider>
  );
}

const container = document.getElementById('root');
if (container) {
  createRoot(container).render(
    <StrictMode>
      <Root />
    </StrictMode>,
  );
}
