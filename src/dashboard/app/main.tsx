/**
 * Tradewire demo dashboard: React on @tradewire/client, which owns the protocol (reconnect, replay, verified books,
 * token refresh). Bundled at build time by ../build-dashboard.ts; served by the gateway at `/`.
 */
import { StrictMode } from 'react';
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

const client = new TradewireClient({
  // The gateway that served the page; its namespaces share one connection.
  url: window.location.origin,
  getToken: tokens.get,
  pingIntervalMs: PING_INTERVAL_MS,
  logger: { warn: (message, fields) => console.warn(`tradewire: ${message}`, fields ?? {}) },
});

const container = document.getElementById('root');
if (container) {
  createRoot(container).render(
    <StrictMode>
      <TradewireProvider client={client}>
        <App client={client} tokens={tokens} log={log} />
      </TradewireProvider>
    </StrictMode>,
  );
}
