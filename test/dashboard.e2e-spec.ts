import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountSubject, type EngineOrderSubmitRequest } from '#libs/contracts';
import { GatewayProcess } from './support/gateway.js';
import { freePort, ManagedProcess, NatsServer } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

/**
 * The dashboard the gateway serves, in a real browser (Debian's Chromium driven by playwright-core), against a real
 * gateway on NATS fed by the project's simulator: quotes tick, the book is verified, an order fills in the blotter, and
 * after the gateway restarts on the same port the page recovers by itself. A screenshot is kept in test-artifacts/.
 */

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const artifacts = join(repoRoot, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ACCOUNT = 'ACC-1001';
const INSTRUMENT = 'NASDAQ:AAPL';

/**
 * The order side of the engine: answers `engine.order.submit` with a new order, publishes its `new` event and, a
 * moment later, its fill and the position it makes. (The simulator feeds market data and the first portfolio.)
 */
class FillingEngine {
  private nextOrder = 1;

  private constructor(private readonly nc: NatsConnection) {}

  static async start(url: string): Promise<FillingEngine> {
    const engine = new FillingEngine(await connect({ servers: url }));
    engine.nc.subscribe('engine.order.submit', { callback: (_error, msg) => engine.onSubmit(msg) });
    await engine.nc.flush();
    return engine;
  }

  /** An order placed elsewhere (another desk, the engine itself): only its `new` event, on the account's stream. */
  async publishOutsideOrder(account: string, orderId: string): Promise<void> {
    this.nc.publish(
      accountSubject(account, 'order'),
      JSON.stringify({ orderId, clientOrderId: `desk-${orderId}`, symbol: 'NYSE:IBM', side: 'sell', type: 'limit', status: 'new', execType: 'new', quantity: '40', filledQuantity: '0', leavesQuantity: '40', price: '171.50', ts: Date.now() }),
    );
    await this.nc.flush();
  }

  async close(): Promise<void> {
    await this.nc.close();
  }

  private onSubmit(msg: Msg): void {
    const request = msg.json<EngineOrderSubmitRequest>();
    const orderId = `E-${this.nextOrder++}`;
    const price = request.price ?? '189.50';
    const order = {
      orderId,
      clientOrderId: request.clientOrderId,
      symbol: request.instrument,
      side: request.side,
      type: request.type,
      quantity: request.quantity,
      ...(request.price === undefined ? {} : { price: request.price }),
    };
    msg.respond(JSON.stringify({ orderId, status: 'new' }));
    const subject = accountSubject(request.account, 'order');
    this.nc.publish(subject, JSON.stringify({ ...order, status: 'new', execType: 'new', filledQuantity: '0', leavesQuantity: request.quantity, ts: Date.now() }));
    setTimeout(() => {
      this.nc.publish(
        subject,
        JSON.stringify({
          ...order,
          status: 'filled',
          execType: 'trade',
          filledQuantity: request.quantity,
          leavesQuantity: '0',
          avgPrice: price,
          lastFillPrice: price,
          lastFillQuantity: request.quantity,
          ts: Date.now(),
        }),
      );
      const value = (Number(price) * Number(request.quantity)).toFixed(2);
      const quantity = request.side === 'buy' ? request.quantity : `-${request.quantity}`;
      this.nc.publish(
        accountSubject(request.account, 'position'),
        JSON.stringify({ symbol: request.instrument, quantity, avgPrice: price, marketPrice: price, marketValue: value, unrealizedPnl: '0.00', realizedPnl: '0.00', dayPnl: '0.00', ts: Date.now() }),
      );
    }, 300);
  }
}

/** The text of the watch list's "updated" cell of one instrument: it changes with every quote. */
const quoteTime = (page: Page, instrument: string) => page.locator(`#quotes tr[data-instrument="${instrument}"] td.time`).textContent();

async function expectQuotesTicking(page: Page): Promise<void> {
  await page.locator(`#quotes tr[data-instrument="${INSTRUMENT}"] td.last`).filter({ hasNotText: '—' }).waitFor();
  const first = await quoteTime(page, INSTRUMENT);
  await expect.poll(() => quoteTime(page, INSTRUMENT), { timeout: 10_000 }).not.toBe(first);
}

async function expectBookVerified(page: Page): Promise<void> {
  await expect.poll(() => page.locator('#bookTitle').textContent(), { timeout: 10_000 }).toBe(INSTRUMENT);
  await expect.poll(async () => (await page.locator('#bookStatus.ok').textContent()) ?? '', { timeout: 15_000 }).toContain('checksum ✓');
  expect(await page.locator('#ladder tbody tr.bid').count()).toBeGreaterThan(0);
  expect(await page.locator('#ladder tbody tr.ask').count()).toBeGreaterThan(0);
}

/** A cell's drawn opacity, run in the page (the tests' types have no DOM, hence the window's one function declared here). */
const CELL_OPACITY = (cell: unknown): string => (globalThis as unknown as { getComputedStyle: (element: unknown) => { opacity: string } }).getComputedStyle(cell).opacity;

/** The whole page from its top (the sticky top bar stays where a scroll left it otherwise). */
async function screenshot(page: Page, name: string): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(artifacts, name), fullPage: true });
}

describe('the dashboard in a browser', () => {
  let nats: NatsServer;
  let engine: FillingEngine;
  let simulator: ManagedProcess;
  let gateway: GatewayProcess;
  let port: number;
  let profileDir: string;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  // The expiry warning comes 68 s before a token's end: a 76 s token is warned of 8 s after it was made (second test).
  // BINANCE (always open) gets a short feed cadence: the feed-health test makes one of its instruments go quiet.
  const startGateway = () => GatewayProcess.start({ NATS_URL: nats.url, TOKEN_EXPIRY_WARNING_MS: '68000', FEED_STALE_AFTER_MS_BY_EXCHANGE: 'BINANCE=1500', FEED_HEALTH_CHECK_MS: '200' }, { port });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (install Debian's chromium, or set CHROMIUM_PATH)`);
    nats = await NatsServer.start();
    engine = await FillingEngine.start(nats.url);
    port = await freePort();
    gateway = await startGateway();
    // The project's simulator as the market-data engine: quotes, trades, book snapshots and deltas, first portfolios.
    simulator = new ManagedProcess(
      spawn(process.execPath, ['dist/src/simulator/simulate.cli.js', '--transport', 'nats', '--url', nats.url, '--rate', '300', '--accounts', '1', '--order-rate', '0', '--tick-ms', '20', '--control'], {
        cwd: repoRoot,
        stdio: 'pipe',
      }),
    );
    profileDir = mkdtempSync(join(tmpdir(), 'tradewire-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1480, height: 1000 },
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu', '--disable-quic'],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // The page must run under a strict Content-Security-Policy (no inline script or style): a violation is an error.
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await simulator?.stop();
    await gateway?.stop();
    await engine?.close();
    await nats?.stop();
  });

  it('streams, trades and recovers from a gateway restart by itself', async () => {
    const token = await hsToken({ sub: 'dashboard-user', accounts: [ACCOUNT], lic: FULL_LICENCE }, { expiresIn: 600 });
    await page.goto(`${gateway.url}/?token=${encodeURIComponent(token)}`);
    // The token leaves the address bar at once.
    expect(page.url()).toBe(`${gateway.url}/`);
    await page.locator('header[data-connection="connected"]').waitFor();

    await expectQuotesTicking(page);
    // The first row of the watch list is selected: its book is subscribed and checked against every checksum.
    await expectBookVerified(page);

    // An order from the ticket: accepted, then filled in the blotter.
    await page.locator('#tAccount').selectOption(ACCOUNT);
    await page.locator('#tInstrument').fill(INSTRUMENT);
    await page.locator('#tType').selectOption('limit');
    await page.locator('#tQty').fill('25');
    await page.locator('#tPrice').fill('189.50');
    await page.locator('#ticket button[type="submit"]').click();
    await expect.poll(() => page.locator('#ticketMsg').textContent()).toMatch(/^Accepted: E-1/);
    const filled = page.locator('#blotter tr[data-order-id="E-1"] .status');
    await expect.poll(() => filled.textContent(), { timeout: 10_000 }).toBe('filled');
    await expect.poll(() => page.locator(`#positions tr[data-symbol="${INSTRUMENT}"] td.qty`).textContent()).toBe('25');

    // The gateway goes away (a graceful stop: its shutdown notice asks clients to come back) and comes back.
    await gateway.stop();
    await page.locator('header[data-connection="reconnecting"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#banner').isVisible()).toBe(true);
    expect(await page.locator(`#quotes tr[data-instrument="${INSTRUMENT}"].stale`).count()).toBe(1);
    mkdirSync(artifacts, { recursive: true });
    await screenshot(page, 'dashboard-reconnecting.png');
    // While no gateway runs, the engine goes on: the account log keeps the event for the page to replay.
    await engine.publishOutsideOrder(ACCOUNT, 'D-7');
    gateway = await startGateway();

    // Nothing clicked: the page reconnects, resubscribes, verifies its book again and replays the account streams.
    await page.locator('header[data-connection="connected"]').waitFor({ timeout: 20_000 });
    await expect.poll(() => page.locator('#banner').isVisible(), { timeout: 10_000 }).toBe(false);
    await expectQuotesTicking(page);
    await expectBookVerified(page);
    // Every row gets a fresh quote after the reconnect, and loses its stale mark with it.
    await expect.poll(() => page.locator('#quotes tr.stale').count(), { timeout: 15_000 }).toBe(0);
    expect(await filled.textContent()).toBe('filled');
    // The order placed while the page was away came with the replay (`since`), not with a reload.
    await expect.poll(() => page.locator('#blotter tr[data-order-id="D-7"] .status').textContent(), { timeout: 10_000 }).toBe('new');
    expect(await page.locator('#log li', { hasText: 'ACC-1001: resumed after seq 2, 1 missed event replayed' }).count()).toBe(1);
    // The SDK's diagnostics, shown in the top bar, counted the reconnect.
    await expect.poll(() => page.locator('.stat', { has: page.locator('#rate') }).getAttribute('title')).toMatch(/reconnects [1-9]/);

    await screenshot(page, 'dashboard.png');
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('greys the row of an instrument whose feed went quiet, and shows it live again when it resumes', async () => {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    await tab.goto(`${gateway.url}/?token=${encodeURIComponent(await hsToken({ sub: 'feed-watcher', accounts: [ACCOUNT], lic: FULL_LICENCE }, { expiresIn: 600 }))}`);
    await tab.locator('header[data-connection="connected"]').waitFor();
    const row = tab.locator('#quotes tr[data-instrument="BINANCE:BTCUSDT"]');
    await expect.poll(() => row.getAttribute('data-feed'), { timeout: 10_000 }).toBe('live');
    const simulatorSays = async (command: string) => {
      const before = simulator.output.length;
      simulator.child.stdin?.write(`${command}\n`);
      await expect.poll(() => simulator.output.slice(before).includes(`ok ${command}`), { timeout: 5_000 }).toBe(true);
    };

    await simulatorSays('quiet BINANCE:BTCUSDT');
    await expect.poll(() => row.getAttribute('data-feed'), { timeout: 10_000 }).toBe('stale');
    expect(await row.getAttribute('class')).toContain('feed-stale');
    expect(await row.locator('.badge.feed').textContent()).toBe('STALE');
    expect(await row.getAttribute('title')).toMatch(/^feed stale since .*: no engine event within the expected cadence/);
    // Greyed: its cells are drawn faded; the other rows are not.
    expect(Number(await row.locator('td.bid').evaluate(CELL_OPACITY))).toBeLessThan(1);
    expect(Number(await tab.locator('#quotes tr[data-instrument="NASDAQ:MSFT"] td.bid').evaluate(CELL_OPACITY))).toBe(1);
    expect(await tab.locator('#log li', { hasText: 'BINANCE:BTCUSDT stale (no_events)' }).count()).toBe(1);
    mkdirSync(artifacts, { recursive: true });
    await screenshot(tab, 'dashboard-feed-stale.png');

    await simulatorSays('resume BINANCE:BTCUSDT');
    await expect.poll(() => row.getAttribute('data-feed'), { timeout: 10_000 }).toBe('live');
    expect(await row.locator('.badge.feed').count()).toBe(0);
    expect(await tab.locator('#log li', { hasText: 'BINANCE:BTCUSDT live again' }).count()).toBe(1);
    await tab.close();
    expect(errors).toEqual([]);
  }, 60_000);

  it('asks for a fresh token when the gateway warns of the expiry, and refreshes it without reconnecting', async () => {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    const shortLived = await hsToken({ sub: 'dashboard-user', accounts: [ACCOUNT], lic: FULL_LICENCE }, { expiresIn: 76 });
    await tab.goto(`${gateway.url}/?token=${encodeURIComponent(shortLived)}`);
    await tab.locator('header[data-connection="connected"]').waitFor();

    // auth:expiring → the SDK asks the page for a token → the page asks the person in front of it.
    const dialog = tab.locator('#tokenDialog[open]');
    await dialog.waitFor({ timeout: 20_000 });
    expect(await tab.locator('#tokenReason').textContent()).toMatch(/^Your token expires at/);
    await tab.locator('#tokenInput').fill(await hsToken({ sub: 'dashboard-user', accounts: [ACCOUNT], lic: FULL_LICENCE }, { expiresIn: 600 }));
    await tab.locator('#tokenOk').click();

    await expect.poll(() => tab.locator('#log li', { hasText: 'token refreshed' }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await dialog.count()).toBe(0);
    // The same connection went on: the log has one `connected` and no reconnect.
    expect(await tab.locator('#log li', { hasText: 'reconnecting' }).count()).toBe(0);
    expect(await tab.locator('header.topbar').getAttribute('data-connection')).toBe('connected');
    await expectQuotesTicking(tab);
    await tab.close();
    expect(errors).toEqual([]);
  }, 60_000);

  it('says why a token was refused, and connects with the one pasted instead', async () => {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    const wrongSecret = await hsToken({ sub: 'dashboard-user', accounts: [ACCOUNT], lic: FULL_LICENCE }, { secret: 'a-secret-this-gateway-does-not-know-at-all' });
    await tab.goto(`${gateway.url}/?token=${encodeURIComponent(wrongSecret)}`);

    // Refused, tried once more with getToken() (the SDK's rule for UNAUTHORIZED), refused for good: the banner says so.
    await tab.locator('header[data-connection="disconnected"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => tab.locator('#bannerText').textContent(), { timeout: 5_000 }).toMatch(/^The gateway refused the connection: UNAUTHORIZED/);
    await tab.locator('#bannerAction').click();
    await tab.locator('#tokenDialog[open]').waitFor();
    await tab.locator('#tokenInput').fill(await hsToken({ sub: 'dashboard-user', accounts: [ACCOUNT], lic: FULL_LICENCE }, { expiresIn: 600 }));
    await tab.locator('#tokenOk').click();

    await tab.locator('header[data-connection="connected"]').waitFor({ timeout: 15_000 });
    await expectQuotesTicking(tab);
    await expect.poll(() => tab.locator('#banner').isVisible()).toBe(false);
    await tab.close();
    expect(errors).toEqual([]);
  }, 60_000);
});
