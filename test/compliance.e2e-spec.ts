import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMESPACES, type MdMessage, type WireError, type MdChannel } from '#libs/contracts';
import { collect, connectClient, GatewayProcess, nextEvent, request, type NamespaceSocket } from './support/gateway.js';
import { NatsServer, waitFor } from './support/processes.js';
import { FULL_LICENCE, hsToken } from './support/tokens.js';

const SHIPPED_SCREEN = fileURLToPath(new URL('../data/compliance.json', import.meta.url));

interface ScreenDocument {
  metadata: { version: string };
  instruments: Record<string, { screens: Record<string, { status: string; reasons: string[] }> }>;
}

const quote = (last: string) => ({ bid: last, ask: last, bidSize: '100', askSize: '100', last, lastSize: '1', volume: '1000', ts: Date.now() });
const trade = (price: string, tradeId: string) => ({ price, size: '10', side: 'buy', tradeId, ts: Date.now() });

/** Every market-data message a socket receives from now on, flattened out of its `md` frames. */
function mdMessages(socket: NamespaceSocket<'/market-data'>): () => MdMessage[] {
  const frames = collect<MdMessage[]>(socket, 'md');
  return () => frames.flat();
}

describe('Sharia compliance screening on /market-data', () => {
  let nats: NatsServer;
  let gateway: GatewayProcess;
  let publisher: NatsConnection;
  let dir: string;
  let screenPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tradewire-compliance-'));
    screenPath = join(dir, 'compliance.json');
    copyFileSync(SHIPPED_SCREEN, screenPath);
    nats = await NatsServer.start();
    gateway = await GatewayProcess.start({ ENGINE_TRANSPORT: 'nats', NATS_URL: nats.url, COMPLIANCE_FILE: screenPath });
    publisher = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await publisher?.close();
    await gateway?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const publish = async (subject: string, payload: unknown) => {
    publisher.publish(subject, JSON.stringify(payload));
    await publisher.flush();
  };
  const client = async (sub: string, compliance?: { islamic: boolean; board?: string }) =>
    connectClient(gateway.url, NAMESPACES.marketData, { auth: { token: await hsToken({ sub, lic: FULL_LICENCE, ...(compliance ? { compliance } : {}) }) } });
  const subscribe = async (socket: NamespaceSocket<'/market-data'>, instruments: string[], channels: MdChannel[]) => {
    const answer = await request(socket, 'subscribe', { instruments, channels });
    if (!answer.ok) throw new Error(`subscribe failed: ${answer.error.code}`);
    return answer.data;
  };
  /** Rewrites the screen copy the gateway follows, as an operator should: a new file renamed over the old one. */
  const rewriteScreen = (change: (doc: ScreenDocument) => void, from = screenPath) => {
    const doc = JSON.parse(readFileSync(from, 'utf8')) as ScreenDocument;
    change(doc);
    const staged = `${screenPath}.next`;
    writeFileSync(staged, JSON.stringify(doc, null, 1));
    renameSync(staged, screenPath);
    return doc.metadata.version;
  };

  it('refuses non-compliant instruments to an Islamic user on every channel, serves compliant ones, and leaves other users alone', async () => {
    const islamic = await client('aisha', { islamic: true });
    const plain = await client('paul');
    const islamicData = mdMessages(islamic.socket);
    const plainData = mdMessages(plain.socket);
    const refusedBefore = await gateway.metric('tradewire_compliance_refusals_total', { board: 'AAOIFI', reason: 'prohibited_business' });

    const screened = await subscribe(islamic.socket, ['NASDAQ:AAPL', 'NYSE:JPM'], ['quote', 'trade', 'book']);
    expect(screened.subscribed.map((s) => s.stream).sort()).toEqual(['book:NASDAQ:AAPL', 'quote:NASDAQ:AAPL', 'trade:NASDAQ:AAPL']);
    expect(screened.rejected).toHaveLength(3);
    for (const channel of ['quote', 'trade', 'book']) {
      expect(screened.rejected).toContainEqual({ instrument: 'NYSE:JPM', channel, code: 'NOT_COMPLIANT', message: expect.stringContaining('AAOIFI') as string });
    }
    const unscreened = await subscribe(plain.socket, ['NASDAQ:AAPL', 'NYSE:JPM'], ['quote', 'trade', 'book']);
    expect(unscreened.subscribed).toHaveLength(6);
    expect(unscreened.rejected).toEqual([]);

    await publish('md.quote.NASDAQ.AAPL', quote('189.50'));
    await publish('md.quote.NYSE.JPM', quote('198.40'));
    await publish('md.trade.NYSE.JPM', trade('198.41', 'j-1'));
    await waitFor('the plain user gets both', () => (plainData().filter((m) => m.stream.includes('NYSE:JPM')).length >= 2 && plainData().some((m) => m.stream === 'quote:NASDAQ:AAPL') ? true : undefined));
    await waitFor('the Islamic user gets AAPL', () => (islamicData().some((m) => m.stream === 'quote:NASDAQ:AAPL') ? true : undefined));
    expect(islamicData().filter((m) => m.stream.includes('NYSE:JPM'))).toEqual([]);
    expect(await gateway.metric('tradewire_compliance_refusals_total', { board: 'AAOIFI', reason: 'prohibited_business' })).toBe(refusedBefore + 3);
    islamic.socket.close();
    plain.socket.close();
  });

  it("applies the board the token names, and fails closed for a board the screen does not have", async () => {
    const msci = await client('mariam', { islamic: true, board: 'MSCI_ISLAMIC' });
    const answer = await subscribe(msci.socket, ['NASDAQ:AAPL', 'NASDAQ:MSFT', 'NYSE:KO', 'LSE:BP'], ['quote']);
    // AAPL and KO pass AAOIFI but fail MSCI's total-assets ratios; BP is the other way round.
    expect(answer.subscribed.map((s) => s.stream).sort()).toEqual(['quote:LSE:BP', 'quote:NASDAQ:MSFT']);
    expect(answer.rejected.map((r) => [r.instrument, r.code])).toEqual([
      ['NASDAQ:AAPL', 'NOT_COMPLIANT'],
      ['NYSE:KO', 'NOT_COMPLIANT'],
    ]);
    const unknownBoard = await client('umar', { islamic: true, board: 'SOME_OTHER_BOARD' });
    const none = await subscribe(unknownBoard.socket, ['NASDAQ:MSFT'], ['quote']);
    expect(none.subscribed).toEqual([]);
    expect(none.rejected).toEqual([expect.objectContaining({ code: 'NOT_COMPLIANT' })]);
    expect(await gateway.metric('tradewire_compliance_refusals_total', { board: 'unknown', reason: 'unknown_board' })).toBe(1);
    msci.socket.close();
    unknownBoard.socket.close();
  });

  it('stops a live stream with NOT_COMPLIANT when the screen file turns its instrument non-compliant; other streams go on', async () => {
    const islamic = await client('amina', { islamic: true });
    const djim = await client('dawud', { islamic: true, board: 'DJIM' });
    const plain = await client('peter');
    await subscribe(islamic.socket, ['NASDAQ:MSFT', 'NYSE:XOM'], ['quote']);
    await subscribe(djim.socket, ['NASDAQ:MSFT'], ['quote']);
    await subscribe(plain.socket, ['NASDAQ:MSFT'], ['quote']);
    const islamicData = mdMessages(islamic.socket);
    const djimData = mdMessages(djim.socket);
    const plainData = mdMessages(plain.socket);
    const islamicErrors = collect<WireError>(islamic.socket, 'error');
    const djimErrors = collect<WireError>(djim.socket, 'error');

    await publish('md.quote.NASDAQ.MSFT', quote('415.20'));
    await waitFor('MSFT for everyone', () => (islamicData().length >= 1 && djimData().length >= 1 && plainData().length >= 1 ? true : undefined));

    const stopped = nextEvent<WireError>(islamic.socket, 'error');
    const version = rewriteScreen((doc) => {
      doc.metadata.version = 'test-msft-out';
      doc.instruments['NASDAQ:MSFT'].screens.AAOIFI = { status: 'non_compliant', reasons: ['debt'] };
    });
    expect(await stopped).toEqual({
      code: 'NOT_COMPLIANT',
      status: 451,
      message: expect.stringContaining('quote:NASDAQ:MSFT') as string,
      details: { stream: 'quote:NASDAQ:MSFT' },
    });

    const received = islamicData().length;
    await publish('md.quote.NASDAQ.MSFT', quote('415.30'));
    await publish('md.quote.NYSE.XOM', quote('113.50'));
    await waitFor('the others still get MSFT, and XOM still flows', () =>
      plainData().some((m) => m.data && 'last' in m.data && m.data.last === '415.30') &&
      djimData().some((m) => m.data && 'last' in m.data && m.data.last === '415.30') &&
      islamicData().some((m) => m.stream === 'quote:NYSE:XOM')
        ? true
        : undefined,
    );
    expect(islamicData().slice(received).filter((m) => m.stream === 'quote:NASDAQ:MSFT')).toEqual([]);
    expect(djimErrors).toEqual([]); // another board's verdict did not change
    expect(islamicErrors).toHaveLength(1);
    expect(await gateway.metric('tradewire_compliance_streams_stopped_total', { board: 'AAOIFI', reason: 'debt' })).toBe(1);
    expect(await gateway.metric('tradewire_compliance_screen_changes_total', { source: 'file' })).toBeGreaterThanOrEqual(1);
    expect(await gateway.metric('tradewire_compliance_screen_info', { version })).toBe(1);
    const refused = await request(islamic.socket, 'subscribe', { instruments: ['NASDAQ:MSFT'], channels: ['quote'] });
    expect(refused).toMatchObject({ ok: true, data: { subscribed: [], rejected: [{ code: 'NOT_COMPLIANT' }] } });

    // Compliant again: it can be subscribed again.
    rewriteScreen((doc) => {
      doc.metadata.version = 'test-msft-back';
      doc.instruments['NASDAQ:MSFT'].screens.AAOIFI = { status: 'compliant', reasons: [] };
    });
    await waitFor('the screen is back', async () => ((await gateway.metric('tradewire_compliance_screen_info', { version: 'test-msft-back' })) === 1 ? true : undefined));
    const again = await subscribe(islamic.socket, ['NASDAQ:MSFT'], ['quote']);
    expect(again.subscribed.map((s) => s.stream)).toEqual(['quote:NASDAQ:MSFT']);
    for (const c of [islamic, djim, plain]) c.socket.close();
  });

  it('screens a user whose refreshed token gains the Islamic claim: its non-compliant streams stop', async () => {
    const user = await client('farid');
    await subscribe(user.socket, ['NYSE:JPM', 'NYSE:XOM'], ['quote']);
    const errors = collect<WireError>(user.socket, 'error');
    const refreshed = await request(user.socket, 'auth:refresh', { token: await hsToken({ sub: 'farid', lic: FULL_LICENCE, compliance: { islamic: true } }) });
    expect(refreshed.ok).toBe(true);
    await waitFor('the JPM stream stopped', () => (errors.length > 0 ? true : undefined));
    expect(errors).toEqual([expect.objectContaining({ code: 'NOT_COMPLIANT', details: { stream: 'quote:NYSE:JPM' } })]);
    const data = mdMessages(user.socket);
    await publish('md.quote.NYSE.JPM', quote('198.50'));
    await publish('md.quote.NYSE.XOM', quote('113.60'));
    await waitFor('XOM still flows', () => (data().some((m) => m.stream === 'quote:NYSE:XOM') ? true : undefined));
    expect(data().filter((m) => m.stream === 'quote:NYSE:JPM')).toEqual([]);
    user.socket.close();
  });

  it('keeps the last good screen when the file is rewritten with something malformed', async () => {
    const failuresBefore = await gateway.metric('tradewire_compliance_screen_reload_failures_total');
    const inForce = readFileSync(screenPath, 'utf8');
    expect(await gateway.metric('tradewire_compliance_screen_file_rejected')).toBe(0);
    writeFileSync(screenPath, '{ "metadata": { "version": "broken" }, "boards": ');
    await waitFor('the reload is rejected', async () => ((await gateway.metric('tradewire_compliance_screen_reload_failures_total')) > failuresBefore ? true : undefined));
    expect(await gateway.metric('tradewire_compliance_screen_file_rejected')).toBe(1);
    const islamic = await client('bilal', { islamic: true });
    const answer = await subscribe(islamic.socket, ['NASDAQ:MSFT', 'NYSE:JPM'], ['quote']);
    expect(answer.subscribed.map((s) => s.stream)).toEqual(['quote:NASDAQ:MSFT']);
    expect(answer.rejected.map((r) => [r.instrument, r.code])).toEqual([['NYSE:JPM', 'NOT_COMPLIANT']]);
    expect(await gateway.metric('tradewire_compliance_screen_info', { version: 'test-msft-back' })).toBe(1);
    islamic.socket.close();
    // Putting back the version in force changes no verdict, and clears the rejection.
    writeFileSync(screenPath, inForce);
    await waitFor('the file reads well again', async () => ((await gateway.metric('tradewire_compliance_screen_file_rejected')) === 0 ? true : undefined));
    expect(await gateway.metric('tradewire_compliance_screen_info', { version: 'test-msft-back' })).toBe(1);
    writeFileSync(screenPath, '{ "metadata": ');
    await waitFor('rejected again', async () => ((await gateway.metric('tradewire_compliance_screen_file_rejected')) === 1 ? true : undefined));
    const shipped = rewriteScreen((doc) => {
      doc.metadata.version = 'test-restored';
    }, SHIPPED_SCREEN);
    await waitFor('the restored screen', async () => ((await gateway.metric('tradewire_compliance_screen_info', { version: shipped })) === 1 ? true : undefined));
    expect(await gateway.metric('tradewire_compliance_screen_file_rejected')).toBe(0);
  });

  it('stops a live stream when the engine sends a compliance.screen change, and lets it back when it turns compliant', async () => {
    const islamic = await client('khadija', { islamic: true });
    const plain = await client('pat');
    await subscribe(islamic.socket, ['NASDAQ:AMZN'], ['trade']);
    await subscribe(islamic.socket, ['NYSE:KO'], ['quote']);
    await subscribe(plain.socket, ['NASDAQ:AMZN'], ['trade']);
    const islamicData = mdMessages(islamic.socket);
    const plainData = mdMessages(plain.socket);
    await publish('md.trade.NASDAQ.AMZN', trade('182.10', 'a-1'));
    await waitFor('the first AMZN trade', () => (islamicData().length >= 1 && plainData().length >= 1 ? true : undefined));

    const stopped = nextEvent<WireError>(islamic.socket, 'error');
    await publish('compliance.screen', { instrument: 'NASDAQ:AMZN', board: 'AAOIFI', status: 'non_compliant', reasons: ['non_permissible_revenue'], version: 'engine-amzn-out', ts: Date.now() });
    expect(await stopped).toMatchObject({ code: 'NOT_COMPLIANT', details: { stream: 'trade:NASDAQ:AMZN' } });

    const received = islamicData().length;
    await publish('md.trade.NASDAQ.AMZN', trade('182.20', 'a-2'));
    await publish('md.quote.NYSE.KO', quote('62.80'));
    await waitFor('AMZN for the plain user, KO for the Islamic one', () =>
      plainData().some((m) => m.data && 'tradeId' in m.data && m.data.tradeId === 'a-2') && islamicData().some((m) => m.stream === 'quote:NYSE:KO') ? true : undefined,
    );
    expect(islamicData().slice(received).filter((m) => m.stream === 'trade:NASDAQ:AMZN')).toEqual([]);
    expect(await gateway.metric('tradewire_compliance_streams_stopped_total', { board: 'AAOIFI', reason: 'non_permissible_revenue' })).toBe(1);
    expect(await gateway.metric('tradewire_compliance_screen_changes_total', { source: 'engine' })).toBe(1);

    // A malformed change is counted and dropped like any malformed engine event; the screen stays as it was.
    await publish('compliance.screen', { instrument: 'NASDAQ:AMZN', board: 'AAOIFI', status: 'probably_fine', ts: Date.now() });
    await waitFor('malformed counted', async () => ((await gateway.metric('tradewire_engine_events_malformed_total', { kind: 'compliance', reason: 'invalid_fields' })) === 1 ? true : undefined));

    await publish('compliance.screen', { instrument: 'NASDAQ:AMZN', board: 'AAOIFI', status: 'compliant', ts: Date.now() });
    await waitFor('the second engine change', async () => ((await gateway.metric('tradewire_compliance_screen_changes_total', { source: 'engine' })) === 2 ? true : undefined));
    const again = await subscribe(islamic.socket, ['NASDAQ:AMZN'], ['trade']);
    expect(again.subscribed.map((s) => s.stream)).toEqual(['trade:NASDAQ:AMZN']);
    islamic.socket.close();
    plain.socket.close();
  });
});

describe('a malformed COMPLIANCE_FILE at start', () => {
  it('stops the gateway with a message naming the file and the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tradewire-compliance-bad-'));
    const path = join(dir, 'compliance.json');
    writeFileSync(path, JSON.stringify({ metadata: { version: 'x' }, boards: { AAOIFI: { name: 'AAOIFI' } }, instruments: { 'NASDAQ:AAPL': { screens: { AAOIFI: { status: 'halal' } } } } }));
    const gateway = await GatewayProcess.start({ COMPLIANCE_FILE: path }, { waitReady: false });
    try {
      const exit = await gateway.process.exited;
      expect(exit.code).not.toBe(0);
      expect(gateway.process.output).toContain(`COMPLIANCE_FILE ${path}`);
      expect(gateway.process.output).toContain('ComplianceFileError');
      expect(gateway.process.output).toContain('.screens.AAOIFI.status must be');
    } finally {
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
