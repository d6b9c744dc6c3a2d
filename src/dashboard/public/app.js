/*
 * Tradewire demo dashboard: plain browser JavaScript, no build step and no dependencies apart from the Socket.IO
 * client that the gateway serves at /socket.io/socket.io.js. It follows docs/protocol.md (wire protocol v1).
 */
(() => {
  'use strict';

  // ------------------------------------------------------------------ settings

  const DEFAULT_WATCHLIST = [
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
  const MD_CHANNELS = ['quote', 'trade'];
  const THROTTLE_MS = 100;
  const BOOK_DEPTH = 10;
  const CHECKSUM_LEVELS = 10;
  const TAPE_MAX = 80;
  const BLOTTER_MAX = 200;
  const LOG_MAX = 200;
  const PING_EVERY_MS = 2000;
  const REQUEST_TIMEOUT_MS = 10000;
  const RESYNC_RETRY_MS = 3000;
  const INSTRUMENT_PATTERN = /^[A-Z0-9_]{1,16}:[A-Z0-9._-]{1,32}$/;
  const OPEN_ORDER_STATUSES = new Set(['pending_new', 'new', 'partially_filled']);
  const WATCHLIST_KEY = 'tradewire.watchlist';
  const TOKEN_KEY = 'tradewire.token';
  const NS = { md: '/market-data', orders: '/orders', positions: '/positions', portfolio: '/portfolio' };
  const ACCOUNT_NAMESPACES = [NS.orders, NS.positions, NS.portfolio];

  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ small helpers

  /** Builds an element; text always goes through textContent, so nothing from the wire is parsed as HTML. */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === 'className') el.className = value;
        else if (key === 'text') el.textContent = value;
        else if (key === 'style') el.style.cssText = value;
        else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
        else el.setAttribute(key, value === true ? '' : String(value));
      }
    }
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const pad = (n, width = 2) => String(n).padStart(width, '0');

  function fmtTime(ts) {
    if (typeof ts !== 'number' || !Number.isFinite(ts)) return '—';
    const d = new Date(ts);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function fmtClock(ts) {
    if (typeof ts !== 'number' || !Number.isFinite(ts)) return '—';
    const d = new Date(ts);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  /** Groups the integer part of a decimal string ("18422310.5" → "18,422,310.5") without turning it into a float. */
  function fmtDec(value) {
    if (value === undefined || value === null || value === '') return '—';
    const s = String(value);
    const m = /^([-+]?)(\d+)(\.\d+)?$/.exec(s);
    if (!m) return s;
    return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (m[3] || '');
  }

  const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });
  function fmtCompact(value) {
    const n = Number(value);
    return value === undefined || value === null || !Number.isFinite(n) ? '—' : compact.format(n);
  }

  /** Only for comparisons and derived display values; the strings themselves are shown as they arrived. */
  function num(value) {
    const n = Number(value);
    return Number.isFinite(n) ? n : NaN;
  }

  function signClass(value) {
    const n = num(value);
    return n > 0 ? 'up' : n < 0 ? 'down' : '';
  }

  function decimalsOf(s) {
    const dot = String(s).indexOf('.');
    return dot < 0 ? 0 : String(s).length - dot - 1;
  }

  function flash(el, direction) {
    if (typeof el.animate !== 'function') return;
    const colour = direction === 'up' ? 'rgba(47, 208, 143, 0.3)' : 'rgba(255, 95, 109, 0.3)';
    el.animate([{ backgroundColor: colour }, { backgroundColor: 'rgba(0, 0, 0, 0)' }], { duration: 550, easing: 'ease-out' });
  }

  function newClientOrderId() {
    const bytes = new Uint8Array(8);
    crypto.getRandomValues(bytes);
    return `web-${Date.now().toString(36)}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  }

  function storageGet(store, key) {
    try {
      return store.getItem(key);
    } catch {
      return null;
    }
  }

  function storageSet(store, key, value) {
    try {
      store.setItem(key, value);
    } catch {
      // Storage can be disabled (private mode, policies); the page still works, it only forgets on reload.
    }
  }

  // ------------------------------------------------------------------ CRC32 and the book checksum (docs §5.8)

  const CRC_TABLE = (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    return table;
  })();

  function crc32(str) {
    let c = 0xffffffff;
    for (let i = 0; i < str.length; i++) c = CRC_TABLE[(c ^ str.charCodeAt(i)) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  }

  const checksumPart = (s) => String(s).replace('.', '').replace(/^0+/, '');

  /** Kraken v2 style: top 10 asks low→high, then top 10 bids high→low; price+size, '.' removed, leading zeros stripped. */
  function bookChecksum(bidsHighToLow, asksLowToHigh) {
    let s = '';
    for (const [p, q] of asksLowToHigh.slice(0, CHECKSUM_LEVELS)) s += checksumPart(p) + checksumPart(q);
    for (const [p, q] of bidsHighToLow.slice(0, CHECKSUM_LEVELS)) s += checksumPart(p) + checksumPart(q);
    return crc32(s);
  }

  // ------------------------------------------------------------------ page state

  const state = {
    token: null,
    sockets: {},
    welcome: null,
    trading: false,
    tokenExpired: false,
    shutdownReconnectMs: null,
    bannerClearsOnConnect: false,
    lastSystem: null,
    expiringNotifiedFor: null,
    clockOffsetMs: 0,
    rtts: [],
    msgCount: 0,
    ages: [],
  };

  const md = {
    watchlist: loadWatchlist(),
    rows: new Map(), // instrument → row state
    dirtyRows: new Set(),
    tapeQueue: [],
    tradeSeen: new Set(),
    tradeSeenOrder: [],
    sessions: new Map(),
    selected: null,
  };

  const book = {
    instrument: null,
    bids: new Map(),
    asks: new Map(),
    depth: BOOK_DEPTH,
    seq: null,
    awaiting: false,
    lastResyncAt: 0,
    dirty: false,
  };

  const accounts = {
    lastSeq: { [NS.orders]: {}, [NS.positions]: {}, [NS.portfolio]: {} },
    list: [],
    orders: new Map(),
    positions: new Map(),
    portfolios: new Map(),
    changedOrders: new Set(),
    changedPositions: new Set(),
    changedPortfolios: new Set(),
    dirty: { orders: false, positions: false, portfolio: false },
  };

  // ------------------------------------------------------------------ rendering scheduler

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      renderQuotes();
      renderTape();
      if (book.dirty) renderBook();
      if (accounts.dirty.orders) renderBlotter();
      if (accounts.dirty.positions) renderPositions();
      if (accounts.dirty.portfolio) renderPortfolio();
    });
  }

  // ------------------------------------------------------------------ event log, banner, status

  function log(level, kind, message) {
    const list = $('log');
    list.prepend(h('li', { className: level }, h('time', { text: fmtClock(Date.now()) }), h('span', { className: 'kind', text: kind }), h('span', { className: 'msg', text: message })));
    while (list.childElementCount > LOG_MAX) list.lastElementChild.remove();
  }

  function describeError(error) {
    if (!error || typeof error !== 'object') return 'unknown error';
    const retry = typeof error.retryAfterMs === 'number' ? ` (retry in ${error.retryAfterMs} ms)` : '';
    return `${error.code || 'ERROR'}${error.status ? ` ${error.status}` : ''}: ${error.message || ''}${retry}`;
  }

  let bannerAction = null;
  function setBanner(text, level, actionLabel, action) {
    state.bannerClearsOnConnect = false;
    $('banner').className = `banner${level === 'error' ? ' error' : ''}`;
    $('bannerText').textContent = text;
    const button = $('bannerAction');
    bannerAction = action || null;
    button.textContent = actionLabel || '';
    button.classList.toggle('hidden', !action);
  }
  function clearBanner() {
    state.bannerClearsOnConnect = false;
    $('banner').classList.add('hidden');
    bannerAction = null;
  }
  $('bannerAction').addEventListener('click', () => {
    const action = bannerAction;
    clearBanner();
    if (action) action();
  });

  function setStatus(ns, status, detail) {
    const pill = document.querySelector(`.pill[data-ns="${ns}"]`);
    if (!pill) return;
    pill.className = `pill ${status}`;
    pill.title = detail ? `${ns}: ${detail}` : `${ns}: ${status}`;
  }

  // ------------------------------------------------------------------ token

  function readToken() {
    const url = new URL(window.location.href);
    const fromUrl = url.searchParams.get('token');
    if (fromUrl) {
      storageSet(sessionStorage, TOKEN_KEY, fromUrl);
      // Keep the token out of the address bar, history and screenshots; a reload finds it in sessionStorage.
      url.searchParams.delete('token');
      window.history.replaceState(null, '', url.pathname + url.search + url.hash);
      return fromUrl;
    }
    return storageGet(sessionStorage, TOKEN_KEY);
  }

  function askToken(reason) {
    const dialog = $('tokenDialog');
    $('tokenReason').textContent = reason;
    $('tokenInput').value = '';
    dialog.returnValue = '';
    if (!dialog.open) {
      if (typeof dialog.showModal === 'function') dialog.showModal();
      else dialog.setAttribute('open', '');
    }
    $('tokenInput').focus();
  }

  $('tokenDialog').addEventListener('close', () => {
    const dialog = $('tokenDialog');
    const token = $('tokenInput').value.trim();
    if (dialog.returnValue === 'ok' && token) applyToken(token);
  });

  function applyToken(token) {
    state.token = token;
    state.tokenExpired = false;
    storageSet(sessionStorage, TOKEN_KEY, token);
    clearBanner();
    if (Object.keys(state.sockets).length === 0) {
      connectAll();
      return;
    }
    for (const [ns, socket] of Object.entries(state.sockets)) {
      socket.auth = { token };
      if (socket.connected) {
        void request(socket, 'auth:refresh', { token }).then((res) => {
          if (res.ok) log('ok', 'auth', `${ns}: token refreshed, valid until ${fmtClock(res.data.expiresAt)}`);
          else log('error', 'auth', `${ns}: refresh refused, ${describeError(res.error)}`);
        });
      } else {
        setStatus(ns, 'connecting');
        socket.connect();
      }
    }
  }

  // ------------------------------------------------------------------ requests

  /** Emits a request with an ack; resolves with the ack envelope, or a local TIMEOUT error when no answer comes. */
  function request(socket, event, payload, timeoutMs = REQUEST_TIMEOUT_MS) {
    return new Promise((resolve) => {
      socket.timeout(timeoutMs).emit(event, payload, (err, res) => {
        if (err) resolve({ ok: false, error: { code: 'TIMEOUT', status: 0, message: `no answer to ${event} within ${timeoutMs} ms` } });
        else if (!res || typeof res !== 'object') resolve({ ok: false, error: { code: 'INTERNAL', status: 0, message: `malformed answer to ${event}` } });
        else resolve(res);
      });
    });
  }

  /**
   * A subscription request that waits out RATE_LIMITED and tries again (a few times, while connected): adding
   * instruments faster than the licence's subscribe rate only delays them. Orders are never retried this way.
   */
  async function requestWithBackoff(socket, event, payload, attempts = 4) {
    let res = await request(socket, event, payload);
    for (let attempt = 1; attempt < attempts && !res.ok && res.error.code === 'RATE_LIMITED' && socket.connected; attempt++) {
      const waitMs = Math.min(typeof res.error.retryAfterMs === 'number' ? res.error.retryAfterMs : 1000, 60000);
      log('warn', event, `rate limited; trying again in ${Math.ceil(waitMs / 1000)} s`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      if (!socket.connected) break;
      res = await request(socket, event, payload);
    }
    return res;
  }

  // ------------------------------------------------------------------ connections

  function connectAll() {
    if (typeof window.io !== 'function') {
      setBanner('The Socket.IO client did not load from /socket.io/socket.io.js: is the gateway serving it?', 'error');
      return;
    }
    for (const ns of Object.values(NS)) {
      const socket = window.io(ns, { auth: { token: state.token } });
      state.sockets[ns] = socket;
      setStatus(ns, 'connecting');
      bindCommon(ns, socket);
    }
    bindMarketData(state.sockets[NS.md]);
    for (const ns of ACCOUNT_NAMESPACES) bindAccountStream(ns, state.sockets[ns]);
  }

  function bindCommon(ns, socket) {
    socket.on('connect', () => {
      setStatus(ns, 'live');
      state.shutdownReconnectMs = null;
      if (state.bannerClearsOnConnect && Object.values(state.sockets).every((s) => s.connected)) {
        state.bannerClearsOnConnect = false;
        clearBanner();
      }
    });

    socket.on('welcome', (w) => onWelcome(ns, w));

    socket.on('connect_error', (err) => {
      const data = err && err.data;
      if (data && data.code) {
        // Refused by the gateway: socket.io-client will not retry by itself.
        setStatus(ns, 'refused', data.code);
        log('error', 'refused', `${ns}: ${describeError(data)}`);
        if (data.code === 'UNAUTHORIZED' || data.code === 'TOKEN_EXPIRED') {
          askToken(data.code === 'TOKEN_EXPIRED' ? 'Your token has expired. Paste a fresh one to reconnect.' : `The gateway refused the token (${data.message || data.code}). Paste a valid one.`);
        } else if (data.code === 'CONNECTION_LIMIT' || data.code === 'RATE_LIMITED') {
          const delay = typeof data.retryAfterMs === 'number' ? data.retryAfterMs : 15000;
          setTimeout(() => socket.connect(), delay);
        } else {
          setBanner(`${ns} refused the connection: ${data.code}`, 'error', 'Retry', () => socket.connect());
        }
      } else {
        setStatus(ns, 'connecting', err && err.message);
      }
    });

    socket.on('disconnect', (reason) => {
      setStatus(ns, 'down', reason);
      if (ns === NS.md) onMarketDataDisconnect();
      if (reason === 'io client disconnect') return;
      if (reason !== 'io server disconnect') {
        // Transport loss: socket.io-client reconnects on its own; the `connect` handlers resubscribe.
        setStatus(ns, 'connecting', reason);
        return;
      }
      if (state.shutdownReconnectMs !== null) {
        const delay = state.shutdownReconnectMs + Math.floor(Math.random() * 500);
        setStatus(ns, 'connecting', `reconnecting in ${delay} ms`);
        setTimeout(() => socket.connect(), delay);
      } else if (state.tokenExpired) {
        askToken('Your token expired and the gateway closed the connection. Paste a fresh token to reconnect.');
      } else {
        setBanner(`The gateway closed ${ns}.`, 'error', 'Reconnect', reconnectClosed);
        state.bannerClearsOnConnect = true;
      }
    });

    socket.on('error', (e) => {
      log(e && e.code === 'SLOW_CLIENT' ? 'warn' : 'error', 'error', `${ns}: ${describeError(e)}`);
      if (e && e.code === 'TOKEN_EXPIRED') state.tokenExpired = true;
    });

    socket.on('system', (p) => {
      if (!p || typeof p !== 'object') return;
      // A notice is usually sent on every namespace: show it once.
      const key = `${p.type}|${p.message}`;
      if (state.lastSystem && state.lastSystem.key === key && Date.now() - state.lastSystem.at < 5000) return;
      state.lastSystem = { key, at: Date.now() };
      const when = typeof p.reconnectInMs === 'number' ? ` (reconnect in ${p.reconnectInMs} ms)` : '';
      log('system', p.type || 'system', `${p.message || ''}${when}`);
      if (p.type === 'shutdown') {
        state.shutdownReconnectMs = typeof p.reconnectInMs === 'number' ? p.reconnectInMs : 1000;
        setBanner(`Gateway notice: ${p.message || 'shutting down'}${when}`, 'warn');
        state.bannerClearsOnConnect = true;
      }
    });

    socket.on('auth:expiring', (p) => {
      if (!p || typeof p.expiresAt !== 'number' || state.expiringNotifiedFor === p.expiresAt) return;
      state.expiringNotifiedFor = p.expiresAt;
      log('warn', 'auth', `token expires at ${fmtClock(p.expiresAt)}`);
      setBanner(`Your access token expires at ${fmtClock(p.expiresAt)}.`, 'warn', 'Refresh token', () => askToken('Paste a fresh token: it is sent with auth:refresh on every open connection.'));
    });
  }

  function reconnectClosed() {
    for (const [ns, socket] of Object.entries(state.sockets)) {
      if (!socket.connected) {
        setStatus(ns, 'connecting');
        socket.connect();
      }
    }
  }

  function onWelcome(ns, w) {
    if (!w || typeof w !== 'object') return;
    const first = state.welcome === null;
    state.welcome = w;
    const ent = w.entitlements || {};
    state.trading = Array.isArray(ent.features) && ent.features.includes('trading');
    $('user').textContent = w.userId || '—';
    const meta = $('meta');
    meta.replaceChildren(h('span', { className: 'tier', text: ent.tier || '—' }), ` · node ${w.node || '—'} · v${w.serverVersion || '?'}`);
    const limits = w.limits || {};
    $('who').title = `max subscriptions ${limits.maxSubscriptions}, max connections ${limits.maxConnections}, min throttle ${limits.minThrottleMs} ms, max frame ${limits.maxFrameBytes} bytes`;
    if (typeof w.serverTime === 'number' && first) state.clockOffsetMs = w.serverTime - Date.now();
    updateTicketAvailability();
    if (first || ns === NS.md) log('ok', 'welcome', `${ns}: ${w.userId} on ${w.node}, tier ${ent.tier}, connection ${w.connectionId}`);
  }

  // ------------------------------------------------------------------ market data: watch list

  function loadWatchlist() {
    const raw = storageGet(localStorage, WATCHLIST_KEY);
    if (raw) {
      try {
        const list = JSON.parse(raw);
        if (Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === 'string' && INSTRUMENT_PATTERN.test(s))) return list;
      } catch {
        // fall through to the default list
      }
    }
    return DEFAULT_WATCHLIST.slice();
  }

  function saveWatchlist() {
    storageSet(localStorage, WATCHLIST_KEY, JSON.stringify(md.watchlist));
  }

  function createRow(instrument) {
    const [exchange, symbol] = [instrument.slice(0, instrument.indexOf(':')), instrument.slice(instrument.indexOf(':') + 1)];
    const badge = h('span', { className: 'badge hidden' });
    const cells = {
      sym: h('td', { className: 'l sym' }, h('span', { className: 'ex', text: `${exchange}:` }), symbol, badge),
      bid: h('td', { className: 'bid', text: '—' }),
      ask: h('td', { className: 'ask', text: '—' }),
      last: h('td', { className: 'last', text: '—' }),
      chg: h('td', { className: 'chg', text: '—' }),
      vol: h('td', { className: 'vol', text: '—' }),
      time: h('td', { className: 'time', text: '—' }),
    };
    const remove = h('button', { className: 'icon-btn', type: 'button', title: `Remove ${instrument}`, 'aria-label': `Remove ${instrument}`, text: '×' });
    const tr = h('tr', { 'data-instrument': instrument }, ...Object.values(cells), h('td', { className: 'x' }, remove));
    remove.addEventListener('click', (event) => {
      event.stopPropagation();
      removeInstrument(instrument);
    });
    tr.addEventListener('click', () => selectInstrument(instrument));
    const row = { instrument, tr, cells, badge, quote: null, shown: {}, ts: null, delayed: false, accepted: new Set(), rejected: null };
    md.rows.set(instrument, row);
    $('quotes').tBodies[0].append(tr);
    return row;
  }

  function setRowBadge(row) {
    if (row.rejected && row.accepted.size === 0) {
      row.badge.className = 'badge err';
      row.badge.textContent = row.rejected;
      row.badge.title = 'rejected by the gateway';
      row.tr.classList.add('inactive');
    } else if (row.delayed) {
      row.badge.className = 'badge';
      row.badge.textContent = 'DELAYED';
      row.badge.title = `delayed by ${Math.round((row.delayMs || 0) / 60000)} min`;
      row.tr.classList.remove('inactive');
    } else {
      row.badge.className = 'badge hidden';
      row.tr.classList.remove('inactive');
    }
  }

  function showRejections(items) {
    const list = $('rejections');
    list.replaceChildren(
      ...items.map((r) => h('li', null, h('code', { text: r.instrument }), r.channel ? ` ${r.channel}` : '', ` — ${r.code}`, r.message ? `: ${r.message}` : '')),
    );
    clearTimeout(showRejections.timer);
    if (items.length > 0) showRejections.timer = setTimeout(() => list.replaceChildren(), 20000);
  }

  /** Subscribes instruments on quote+trade; applies the ack's subscribed/rejected lists to the rows. */
  async function subscribeInstruments(instruments, createRows) {
    const socket = state.sockets[NS.md];
    const res = await requestWithBackoff(socket, 'subscribe', { instruments, channels: MD_CHANNELS, throttleMs: THROTTLE_MS });
    if (!res.ok) {
      log('error', 'subscribe', describeError(res.error));
      showRejections(instruments.map((instrument) => ({ instrument, code: res.error && res.error.code, message: res.error && res.error.message })));
      return new Set();
    }
    const data = res.data || {};
    const accepted = new Set();
    for (const s of data.subscribed || []) {
      const colon = s.stream.indexOf(':');
      const channel = s.stream.slice(0, colon);
      const instrument = s.stream.slice(colon + 1);
      accepted.add(instrument);
      const row = md.rows.get(instrument) || (createRows || md.watchlist.includes(instrument) ? createRow(instrument) : null);
      if (!row) continue;
      row.accepted.add(channel);
      row.rejected = null;
      row.delayed = Boolean(s.delayed);
      row.delayMs = s.delayMs;
      setRowBadge(row);
    }
    const rejected = data.rejected || [];
    for (const r of rejected) {
      const row = md.rows.get(r.instrument);
      if (row && !row.accepted.has(r.channel)) {
        row.rejected = r.code;
        setRowBadge(row);
      }
    }
    if (rejected.length > 0) {
      showRejections(rejected);
      log('warn', 'subscribe', `${rejected.length} rejected: ${rejected.map((r) => `${r.instrument} ${r.channel} ${r.code}`).join(', ')}`);
    }
    log('ok', 'subscribe', `${(data.subscribed || []).length} streams subscribed at ${THROTTLE_MS} ms`);
    return accepted;
  }

  async function addInstrument(raw) {
    const instrument = raw.trim().toUpperCase();
    if (!instrument) return;
    if (!INSTRUMENT_PATTERN.test(instrument)) {
      showRejections([{ instrument, code: 'INVALID_REQUEST', message: 'use EXCHANGE:SYMBOL, e.g. NASDAQ:TSLA' }]);
      return;
    }
    if (md.rows.has(instrument)) {
      selectInstrument(instrument);
      return;
    }
    const socket = state.sockets[NS.md];
    if (!socket || !socket.connected) {
      showRejections([{ instrument, code: 'OFFLINE', message: 'not connected to /market-data' }]);
      return;
    }
    const accepted = await subscribeInstruments([instrument], true);
    if (accepted.has(instrument) && !md.watchlist.includes(instrument)) {
      md.watchlist.push(instrument);
      saveWatchlist();
      $('addInput').value = '';
    }
  }

  function removeInstrument(instrument) {
    const row = md.rows.get(instrument);
    if (row) row.tr.remove();
    md.rows.delete(instrument);
    md.dirtyRows.delete(row);
    md.watchlist = md.watchlist.filter((s) => s !== instrument);
    saveWatchlist();
    if (book.instrument === instrument) clearBook();
    const socket = state.sockets[NS.md];
    if (socket && socket.connected) {
      void request(socket, 'unsubscribe', { instruments: [instrument] }).then((res) => {
        if (res.ok) log('info', 'unsubscribe', (res.data.unsubscribed || []).join(', ') || instrument);
        else log('error', 'unsubscribe', describeError(res.error));
      });
    }
  }

  $('addForm').addEventListener('submit', (event) => {
    event.preventDefault();
    void addInstrument($('addInput').value);
  });

  // ------------------------------------------------------------------ market data: frames

  function bindMarketData(socket) {
    socket.on('connect', () => {
      // Subscriptions belong to the connection: a reconnected socket starts empty.
      for (const row of md.rows.values()) {
        row.accepted.clear();
        row.rejected = null;
      }
      void subscribeInstruments(md.watchlist.slice()).then(() => {
        if (!md.selected && md.watchlist.length > 0) selectInstrument(md.watchlist[0]);
      });
      if (book.instrument) subscribeBook(book.instrument);
    });

    socket.on('md', onMd);
    socket.on('session', onSession);
  }

  function onMarketDataDisconnect() {
    if (book.instrument) {
      book.awaiting = true;
      setBookStatus('disconnected', 'bad');
    }
  }

  function onMd(messages) {
    if (!Array.isArray(messages)) return;
    const now = Date.now();
    for (const m of messages) {
      if (!m || typeof m.stream !== 'string') continue;
      const colon = m.stream.indexOf(':');
      if (colon < 0) continue;
      const channel = m.stream.slice(0, colon);
      const instrument = m.stream.slice(colon + 1);
      state.msgCount++;
      if (!m.delayed && typeof m.ts === 'number' && state.ages.length < 5000) state.ages.push(now + state.clockOffsetMs - m.ts);
      if (channel === 'quote') onQuote(instrument, m);
      else if (channel === 'trade') onTrades(instrument, m);
      else if (channel === 'book') onBook(instrument, m);
    }
    scheduleRender();
  }

  function onQuote(instrument, m) {
    const row = md.rows.get(instrument);
    if (!row || !m.data || typeof m.data !== 'object') return;
    row.quote = m.data;
    row.ts = m.ts;
    if (m.delayed !== undefined && Boolean(m.delayed) !== row.delayed) {
      row.delayed = Boolean(m.delayed);
      setRowBadge(row);
    }
    md.dirtyRows.add(row);
  }

  function renderQuotes() {
    for (const row of md.dirtyRows) {
      const q = row.quote;
      if (!q) continue;
      for (const field of ['bid', 'ask', 'last']) {
        const value = q[field];
        const before = row.shown[field];
        if (value === before) continue;
        const cell = row.cells[field];
        cell.textContent = fmtDec(value);
        if (before !== undefined) {
          const direction = num(value) >= num(before) ? 'up' : 'down';
          flash(cell, direction);
          if (field === 'last') {
            cell.classList.toggle('up', direction === 'up');
            cell.classList.toggle('down', direction === 'down');
          }
        }
        row.shown[field] = value;
      }
      const last = num(q.last);
      const prevClose = num(q.prevClose);
      if (Number.isFinite(last) && Number.isFinite(prevClose) && prevClose !== 0) {
        const pct = ((last - prevClose) / prevClose) * 100;
        row.cells.chg.textContent = `${pct > 0 ? '+' : ''}${pct.toFixed(2)}%`;
        row.cells.chg.className = `chg ${signClass(pct)}`;
      } else {
        row.cells.chg.textContent = '—';
      }
      row.cells.vol.textContent = fmtCompact(q.volume);
      row.cells.vol.title = fmtDec(q.volume);
      row.cells.time.textContent = fmtTime(row.ts);
    }
    md.dirtyRows.clear();
  }

  function onTrades(instrument, m) {
    // One trade per message; a frame batches as many messages as arrived since the last flush.
    const trades = Array.isArray(m.data) ? m.data : [m.data];
    for (const t of trades) {
      if (!t || typeof t !== 'object') continue;
      const key = `${instrument}|${t.tradeId}`;
      if (md.tradeSeen.has(key)) continue;
      md.tradeSeen.add(key);
      md.tradeSeenOrder.push(key);
      md.tapeQueue.push({ instrument, ts: m.ts, price: t.price, size: t.size, side: t.side, delayed: Boolean(m.delayed) });
    }
    if (md.tradeSeenOrder.length > 4000) {
      for (const key of md.tradeSeenOrder.splice(0, 2000)) md.tradeSeen.delete(key);
    }
  }

  let tapeTotal = 0;
  function renderTape() {
    if (md.tapeQueue.length === 0) return;
    const fresh = md.tapeQueue.splice(0).slice(-TAPE_MAX);
    tapeTotal += fresh.length;
    const body = $('trades').tBodies[0];
    const fragment = document.createDocumentFragment();
    for (let i = fresh.length - 1; i >= 0; i--) {
      const t = fresh[i];
      const side = t.side === 'sell' ? 'down' : 'up';
      fragment.append(
        h(
          'tr',
          { className: 'fresh', title: `${t.side || ''}${t.delayed ? ' · delayed' : ''}` },
          h('td', { className: 'l time', text: fmtClock(t.ts) }),
          h('td', { className: 'l sym', text: t.instrument }),
          h('td', { className: side, text: `${t.side === 'sell' ? '▼' : '▲'} ${fmtDec(t.price)}` }),
          h('td', { text: fmtDec(t.size) }),
        ),
      );
    }
    body.prepend(fragment);
    while (body.rows.length > TAPE_MAX) body.lastElementChild.remove();
    $('tapeCount').textContent = `${tapeTotal.toLocaleString('en')} seen`;
  }

  function onSession(p) {
    if (!p || typeof p.exchange !== 'string') return;
    const previous = md.sessions.get(p.exchange);
    md.sessions.set(p.exchange, p);
    const container = $('sessions');
    container.replaceChildren(
      ...Array.from(md.sessions.values())
        .sort((a, b) => a.exchange.localeCompare(b.exchange))
        .map((s) =>
          h(
            'span',
            { className: `session ${s.status}`, title: `since ${fmtClock(s.since)}${typeof s.nextChange === 'number' ? `, next change ${fmtClock(s.nextChange)}` : ''}` },
            s.exchange,
            h('b', { text: s.status }),
          ),
        ),
    );
    if (!previous || previous.status !== p.status) log('info', 'session', `${p.exchange} ${p.status}`);
  }

  // ------------------------------------------------------------------ market data: order book

  function selectInstrument(instrument) {
    md.selected = instrument;
    for (const row of md.rows.values()) row.tr.classList.toggle('selected', row.instrument === instrument);
    setTicketInstrument(instrument);
    if (book.instrument === instrument) return;
    const previous = book.instrument;
    resetBook(instrument);
    const socket = state.sockets[NS.md];
    if (!socket || !socket.connected) return;
    if (previous) void request(socket, 'unsubscribe', { instruments: [previous], channels: ['book'] });
    subscribeBook(instrument);
  }

  function resetBook(instrument) {
    book.instrument = instrument;
    book.bids = new Map();
    book.asks = new Map();
    book.depth = BOOK_DEPTH;
    book.seq = null;
    book.awaiting = true;
    book.dirty = true;
    $('bookTitle').textContent = instrument || '—';
    setBookStatus(instrument ? 'subscribing…' : 'select a row');
    scheduleRender();
  }

  function clearBook() {
    const socket = state.sockets[NS.md];
    if (book.instrument && socket && socket.connected) void request(socket, 'unsubscribe', { instruments: [book.instrument], channels: ['book'] });
    md.selected = null;
    resetBook(null);
  }

  function subscribeBook(instrument) {
    const socket = state.sockets[NS.md];
    book.awaiting = true;
    book.lastResyncAt = Date.now();
    void requestWithBackoff(socket, 'subscribe', { instruments: [instrument], channels: ['book'], depth: BOOK_DEPTH, throttleMs: THROTTLE_MS }).then((res) => {
      if (book.instrument !== instrument) return;
      if (!res.ok) {
        setBookStatus(res.error.code, 'bad');
        log('error', 'book', `${instrument}: ${describeError(res.error)}`);
      } else if ((res.data.rejected || []).length > 0) {
        const r = res.data.rejected[0];
        setBookStatus(r.code, 'bad');
        log('warn', 'book', `${instrument}: ${r.code}${r.message ? `: ${r.message}` : ''}`);
      } else if (book.awaiting) {
        setBookStatus('waiting for snapshot');
      }
    });
  }

  function setBookStatus(text, level) {
    const chip = $('bookStatus');
    chip.textContent = text;
    chip.className = `chip${level ? ` ${level}` : ''}`;
  }

  const sortedBids = () => Array.from(book.bids).sort((a, b) => num(b[0]) - num(a[0]));
  const sortedAsks = () => Array.from(book.asks).sort((a, b) => num(a[0]) - num(b[0]));

  function applyLevels(side, levels) {
    for (const level of levels) {
      if (!Array.isArray(level) || level.length < 2) continue;
      const [price, size] = level;
      if (num(size) === 0) side.delete(String(price));
      else side.set(String(price), String(size));
    }
  }

  function onBook(instrument, m) {
    if (instrument !== book.instrument) return;
    const d = m.data;
    if (!d || !Array.isArray(d.bids) || !Array.isArray(d.asks)) return;
    if (m.type === 'snapshot') {
      book.bids = new Map();
      book.asks = new Map();
      applyLevels(book.bids, d.bids);
      applyLevels(book.asks, d.asks);
      book.depth = Math.max(BOOK_DEPTH, d.bids.length, d.asks.length);
      book.awaiting = false;
    } else {
      if (book.awaiting) {
        // Updates are useless until the snapshot comes; ask again if it is taking too long.
        if (Date.now() - book.lastResyncAt > RESYNC_RETRY_MS) resyncBook('no snapshot yet');
        return;
      }
      if (typeof m.prevSeq === 'number' && book.seq !== null && m.prevSeq !== book.seq) {
        resyncBook(`gap: had seq ${book.seq}, update follows ${m.prevSeq}`);
        return;
      }
      applyLevels(book.bids, d.bids);
      applyLevels(book.asks, d.asks);
    }
    // Keep only the subscribed depth: levels that fall out of range are not removed explicitly.
    book.bids = new Map(sortedBids().slice(0, book.depth));
    book.asks = new Map(sortedAsks().slice(0, book.depth));
    book.seq = m.seq;
    book.dirty = true;
    if (typeof d.checksum === 'number') {
      const mine = bookChecksum(sortedBids(), sortedAsks());
      if (mine !== d.checksum) {
        resyncBook(`checksum mismatch (${mine} ≠ ${d.checksum})`);
        return;
      }
      setBookStatus(`seq ${m.seq} · checksum ✓${m.delayed ? ' · delayed' : ''}`, 'ok');
    } else {
      setBookStatus(`seq ${m.seq}${m.delayed ? ' · delayed' : ''}`);
    }
  }

  function resyncBook(reason) {
    const socket = state.sockets[NS.md];
    const stream = `book:${book.instrument}`;
    book.awaiting = true;
    book.lastResyncAt = Date.now();
    setBookStatus('resyncing…', 'bad');
    log('warn', 'resync', `${stream}: ${reason}`);
    if (!socket || !socket.connected) return;
    void requestWithBackoff(socket, 'resync', { stream }).then((res) => {
      if (!res.ok) log('error', 'resync', `${stream}: ${describeError(res.error)}`);
    });
  }

  function renderBook() {
    book.dirty = false;
    const body = $('ladder').tBodies[0];
    if (!book.instrument) {
      body.replaceChildren();
      return;
    }
    const asks = sortedAsks().slice(0, BOOK_DEPTH);
    const bids = sortedBids().slice(0, BOOK_DEPTH);
    const maxSize = Math.max(1, ...asks.map((l) => num(l[1]) || 0), ...bids.map((l) => num(l[1]) || 0));
    const width = (size) => `--w:${Math.max(2, Math.round(((num(size) || 0) / maxSize) * 100))}%`;
    const rows = [];
    for (let i = asks.length - 1; i >= 0; i--) {
      const [price, size] = asks[i];
      rows.push(h('tr', { className: 'ask' }, h('td', { className: 'bs' }), h('td', { className: 'px', text: fmtDec(price) }), h('td', { className: 'as', style: width(size), text: fmtDec(size) })));
    }
    if (asks.length > 0 && bids.length > 0) {
      const places = Math.max(decimalsOf(asks[0][0]), decimalsOf(bids[0][0]));
      const spread = num(asks[0][0]) - num(bids[0][0]);
      const mid = (num(asks[0][0]) + num(bids[0][0])) / 2;
      const bpsValue = mid > 0 ? (spread / mid) * 10000 : NaN;
      const bps = Number.isFinite(bpsValue) ? ` · ${bpsValue.toFixed(bpsValue < 1 ? 3 : 1)} bps` : '';
      rows.push(h('tr', { className: 'spread' }, h('td', { colspan: 3, text: `spread ${spread.toFixed(places)}${bps}` })));
    } else if (asks.length === 0 && bids.length === 0) {
      rows.push(h('tr', { className: 'spread' }, h('td', { colspan: 3, text: book.awaiting ? 'waiting for snapshot…' : 'empty book' })));
    }
    for (const [price, size] of bids) {
      rows.push(h('tr', { className: 'bid' }, h('td', { className: 'bs', style: width(size), text: fmtDec(size) }), h('td', { className: 'px', text: fmtDec(price) }), h('td', { className: 'as' })));
    }
    body.replaceChildren(...rows);
  }

  // ------------------------------------------------------------------ account streams

  function bindAccountStream(ns, socket) {
    socket.on('connect', () => {
      const since = accounts.lastSeq[ns];
      // First time: `{}` (every account in the token, snapshots follow). After a reconnect: replay from where we were.
      const payload = Object.keys(since).length > 0 ? { since: { ...since } } : {};
      void requestWithBackoff(socket, 'subscribe', payload).then((res) => {
        if (!res.ok) {
          log('error', 'subscribe', `${ns}: ${describeError(res.error)}`);
          return;
        }
        const list = (res.data && res.data.accounts) || [];
        for (const a of list) if (!accounts.list.includes(a.account)) accounts.list.push(a.account);
        updateTicketAccounts();
        const details = list.map((a) => `${a.account}@${a.seq}${a.replayed ? ` +${a.replayed} replayed` : ''}${a.resetRequired ? ' (reset)' : ''}`).join(', ');
        log('ok', 'subscribe', `${ns}: ${details || 'no accounts'}`);
      });
    });

    if (ns === NS.orders) {
      socket.on('orders:snapshot', (p) => onSnapshot(ns, p, (items) => replaceAccountItems(accounts.orders, p.account, items, (o) => o.orderId, 'orders')));
      socket.on('order', (e) => onLive(ns, e, () => upsert(accounts.orders, e.orderId, e, accounts.changedOrders, 'orders')));
    } else if (ns === NS.positions) {
      socket.on('positions:snapshot', (p) => onSnapshot(ns, p, (items) => replaceAccountItems(accounts.positions, p.account, items, (x) => `${x.account}|${x.symbol}`, 'positions')));
      socket.on('position', (e) => onLive(ns, e, () => upsert(accounts.positions, `${e.account}|${e.symbol}`, e, accounts.changedPositions, 'positions')));
    } else {
      socket.on('portfolio:snapshot', (p) =>
        onSnapshot(ns, p, () => {
          if (p.portfolio && typeof p.portfolio === 'object') accounts.portfolios.set(p.account, { ...p.portfolio, account: p.account });
          else accounts.portfolios.delete(p.account);
          accounts.dirty.portfolio = true;
        }),
      );
      socket.on('portfolio', (e) => onLive(ns, e, () => upsert(accounts.portfolios, e.account, e, accounts.changedPortfolios, 'portfolio')));
    }
  }

  function onSnapshot(ns, p, apply) {
    if (!p || typeof p.account !== 'string') return;
    apply(Array.isArray(p.items) ? p.items.filter((x) => x && typeof x === 'object') : []);
    if (typeof p.seq === 'number') accounts.lastSeq[ns][p.account] = p.seq;
    scheduleRender();
  }

  function onLive(ns, e, apply) {
    if (!e || typeof e.account !== 'string') return;
    const last = accounts.lastSeq[ns][e.account];
    // A replay after reconnect can overlap what we already applied; seq tells duplicates apart.
    if (typeof e.seq === 'number' && typeof last === 'number' && e.seq <= last) return;
    apply();
    if (typeof e.seq === 'number') accounts.lastSeq[ns][e.account] = e.seq;
    scheduleRender();
  }

  function replaceAccountItems(map, account, items, keyOf, dirtyKey) {
    for (const [key, value] of map) if (value.account === account) map.delete(key);
    for (const item of items) map.set(keyOf({ ...item, account: item.account || account }), { ...item, account: item.account || account });
    accounts.dirty[dirtyKey] = true;
  }

  function upsert(map, key, value, changed, dirtyKey) {
    map.set(key, value);
    changed.add(key);
    accounts.dirty[dirtyKey] = true;
  }

  function renderBlotter() {
    accounts.dirty.orders = false;
    const all = Array.from(accounts.orders.values()).sort((a, b) => (b.ts || 0) - (a.ts || 0));
    const open = all.filter((o) => OPEN_ORDER_STATUSES.has(o.status)).length;
    $('orderCount').textContent = `${all.length} orders · ${open} open`;
    const rows = all.slice(0, BLOTTER_MAX).map((o) => {
      const cancel =
        state.trading && OPEN_ORDER_STATUSES.has(o.status)
          ? h('button', { className: 'icon-btn', type: 'button', title: 'Cancel order', 'aria-label': `Cancel ${o.orderId}`, text: '×', onclick: () => void cancelOrder(o) })
          : null;
      return h(
        'tr',
        { className: accounts.changedOrders.has(o.orderId) ? 'changed' : '', title: o.reason ? `reason: ${o.reason}` : `clientOrderId ${o.clientOrderId || '—'}` },
        h('td', { className: 'l', text: fmtTime(o.ts) }),
        h('td', { className: 'l', text: o.account }),
        h('td', { className: 'l', text: o.orderId }),
        h('td', { className: 'l', text: o.symbol }),
        h('td', { className: `l side ${o.side === 'sell' ? 'down' : 'up'}`, text: o.side }),
        h('td', { className: 'l', text: o.type }),
        h('td', { text: fmtDec(o.quantity) }),
        h('td', { text: fmtDec(o.filledQuantity) }),
        h('td', { text: o.price === undefined ? 'MKT' : fmtDec(o.price) }),
        h('td', { text: fmtDec(o.avgPrice) }),
        h('td', { className: 'l' }, h('span', { className: `status ${o.status}`, text: String(o.status || '').replace(/_/g, ' ') })),
        h('td', { className: 'x' }, cancel),
      );
    });
    accounts.changedOrders.clear();
    $('blotter').tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(12, 'No orders yet')]));
  }

  function renderPositions() {
    accounts.dirty.positions = false;
    const all = Array.from(accounts.positions.values()).sort((a, b) => a.account.localeCompare(b.account) || String(a.symbol).localeCompare(String(b.symbol)));
    $('posCount').textContent = `${all.length} positions`;
    const rows = all.map((p) => {
      const key = `${p.account}|${p.symbol}`;
      return h(
        'tr',
        { className: accounts.changedPositions.has(key) ? 'changed' : '' },
        h('td', { className: 'l', text: p.account }),
        h('td', { className: 'l', text: p.symbol }),
        h('td', { className: signClass(p.quantity), text: fmtDec(p.quantity) }),
        h('td', { text: fmtDec(p.avgPrice) }),
        h('td', { text: fmtDec(p.marketPrice) }),
        h('td', { text: fmtDec(p.marketValue) }),
        h('td', { className: signClass(p.unrealizedPnl), text: fmtDec(p.unrealizedPnl) }),
        h('td', { className: signClass(p.realizedPnl), text: fmtDec(p.realizedPnl) }),
        h('td', { className: signClass(p.dayPnl), text: fmtDec(p.dayPnl) }),
      );
    });
    accounts.changedPositions.clear();
    $('positions').tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(9, 'No positions')]));
  }

  function renderPortfolio() {
    accounts.dirty.portfolio = false;
    const all = Array.from(accounts.portfolios.values()).sort((a, b) => a.account.localeCompare(b.account));
    const cards = all.map((p) => {
      const field = (label, value, coloured) => h('div', null, h('dt', { text: label }), h('dd', { className: coloured ? signClass(value) : '', text: fmtDec(value) }));
      return h(
        'article',
        { className: `card${accounts.changedPortfolios.has(p.account) ? ' changed' : ''}` },
        h('header', null, h('b', { text: p.account }), h('span', { text: `updated ${fmtTime(p.ts)}` })),
        h('div', { className: 'equity' }, fmtDec(p.equity), h('small', { text: `${p.currency || ''} equity` })),
        h(
          'dl',
          null,
          field('Cash', p.cash),
          field('Buying power', p.buyingPower),
          field('Market value', p.marketValue),
          field('Day P&L', p.dayPnl, true),
          field('Total P&L', p.totalPnl, true),
        ),
      );
    });
    accounts.changedPortfolios.clear();
    $('portfolio').replaceChildren(...(cards.length ? cards : [h('p', { className: 'empty', text: 'No portfolio yet' })]));
  }

  function emptyRow(span, text) {
    return h('tr', null, h('td', { className: 'l muted', colspan: span, text }));
  }

  // ------------------------------------------------------------------ order commands

  function bindOrderCommands() {
    $('ticket').addEventListener('submit', (event) => {
      event.preventDefault();
      void submitOrder();
    });
    $('tType').addEventListener('change', () => {
      $('tPrice').disabled = $('tType').value === 'market';
    });
    for (const id of ['sideBuy', 'sideSell']) $(id).addEventListener('change', () => setTicketInstrument($('tInstrument').value.trim().toUpperCase()));
    updateTicketAvailability();
  }

  function setTicketMessage(text, level) {
    const el = $('ticketMsg');
    el.textContent = text;
    el.className = `ticket-msg${level ? ` ${level}` : ''}`;
  }

  function updateTicketAvailability() {
    const panel = document.querySelector('.panel.ticket');
    panel.classList.toggle('disabled', !state.trading);
    if (state.welcome && !state.trading) setTicketMessage('Your licence has no "trading" feature.', 'err');
    accounts.dirty.orders = true;
    scheduleRender();
  }

  function updateTicketAccounts() {
    const select = $('tAccount');
    const current = select.value;
    select.replaceChildren(...accounts.list.map((a) => h('option', { value: a, text: a })));
    if (accounts.list.includes(current)) select.value = current;
  }

  function setTicketInstrument(instrument) {
    if (!instrument) return;
    $('tInstrument').value = instrument;
    const row = md.rows.get(instrument);
    if (row && row.quote) {
      const side = $('sideSell').checked ? 'sell' : 'buy';
      const price = side === 'buy' ? row.quote.ask : row.quote.bid;
      if (price) $('tPrice').value = price;
    }
  }

  async function submitOrder() {
    const socket = state.sockets[NS.orders];
    if (!socket || !socket.connected) {
      setTicketMessage('Not connected to /orders.', 'err');
      return;
    }
    const type = $('tType').value;
    const payload = {
      clientOrderId: newClientOrderId(),
      account: $('tAccount').value,
      instrument: $('tInstrument').value.trim().toUpperCase(),
      side: $('sideSell').checked ? 'sell' : 'buy',
      type,
      quantity: $('tQty').value.trim(),
      timeInForce: $('tTif').value,
    };
    if (type !== 'market') payload.price = $('tPrice').value.trim();
    if (!payload.account) return setTicketMessage('No account available.', 'err');
    if (!INSTRUMENT_PATTERN.test(payload.instrument)) return setTicketMessage('Instrument must be EXCHANGE:SYMBOL.', 'err');
    if (!/^\d+(\.\d+)?$/.test(payload.quantity) || num(payload.quantity) <= 0) return setTicketMessage('Quantity must be a positive decimal.', 'err');
    if (type !== 'market' && (!/^\d+(\.\d+)?$/.test(payload.price) || num(payload.price) <= 0)) return setTicketMessage('Price must be a positive decimal.', 'err');

    $('tSubmit').disabled = true;
    setTicketMessage('Sending…');
    try {
      let res = await request(socket, 'order:submit', payload);
      // The clientOrderId makes a retry safe: the gateway answers it with the first answer and sends the order once.
      if (!res.ok && res.error.code === 'TIMEOUT' && socket.connected) res = await request(socket, 'order:submit', payload);
      if (res.ok) {
        setTicketMessage(`Accepted: ${res.data.orderId} (${res.data.status})`, 'ok');
        log('ok', 'order', `${payload.side} ${payload.quantity} ${payload.instrument} → ${res.data.orderId} ${res.data.status}`);
      } else {
        setTicketMessage(describeError(res.error), 'err');
        log('error', 'order', describeError(res.error));
      }
    } finally {
      $('tSubmit').disabled = false;
    }
  }

  async function cancelOrder(order) {
    const socket = state.sockets[NS.orders];
    if (!socket || !socket.connected) return;
    const res = await request(socket, 'order:cancel', { account: order.account, orderId: order.orderId });
    if (res.ok) log('ok', 'cancel', `${order.orderId}: ${res.data.status}`);
    else log('error', 'cancel', `${order.orderId}: ${describeError(res.error)}`);
  }

  // ------------------------------------------------------------------ latency, data age and rates

  function drawSparkline() {
    const points = state.rtts;
    const max = Math.max(5, ...points);
    const step = points.length > 1 ? 80 / (points.length - 1) : 0;
    const coords = points.map((v, i) => `${(i * step).toFixed(1)},${(19 - (v / max) * 18).toFixed(1)}`).join(' ');
    $('spark').firstElementChild.setAttribute('points', coords);
  }

  let pingFailures = 0;
  function pingOnce() {
    const socket = state.sockets[NS.md];
    if (!socket || !socket.connected) {
      $('latency').textContent = '—';
      return;
    }
    const t0 = performance.now();
    const sentAt = Date.now();
    void request(socket, 'ping', {}, 5000).then((res) => {
      if (!res.ok) {
        if (pingFailures++ === 0) log('warn', 'ping', describeError(res.error));
        $('latency').textContent = '—';
        return;
      }
      pingFailures = 0;
      const rtt = performance.now() - t0;
      if (typeof res.data.serverTime === 'number') {
        const offset = res.data.serverTime - (sentAt + rtt / 2);
        state.clockOffsetMs = state.rtts.length === 0 ? offset : state.clockOffsetMs * 0.8 + offset * 0.2;
      }
      state.rtts.push(rtt);
      if (state.rtts.length > 40) state.rtts.shift();
      $('latency').textContent = `${rtt < 10 ? rtt.toFixed(1) : Math.round(rtt)} ms`;
      drawSparkline();
    });
  }

  function tickStats() {
    $('rate').textContent = state.msgCount.toLocaleString('en');
    state.msgCount = 0;
    if (state.ages.length > 0) {
      const sorted = state.ages.sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      $('age').textContent = `${Math.max(0, Math.round(median))} ms`;
      state.ages = [];
    }
  }

  // ------------------------------------------------------------------ start

  $('clearLog').addEventListener('click', () => $('log').replaceChildren());

  function start() {
    state.token = readToken();
    setInterval(pingOnce, PING_EVERY_MS);
    setInterval(tickStats, 1000);
    for (const instrument of md.watchlist) if (!md.rows.has(instrument)) createRow(instrument);
    bindOrderCommands();
    renderBlotter();
    renderPositions();
    if (!state.token) {
      setBanner('No access token: open the address the gateway printed at startup (…/?token=…).', 'error', 'Paste a token', () =>
        askToken('Paste the development token the gateway printed at startup, or any token it accepts.'),
      );
      for (const ns of Object.values(NS)) setStatus(ns, 'down', 'no token');
      return;
    }
    connectAll();
  }

  start();
})();
