import { useEffect, useState, type FormEvent } from 'react';
import { describeError } from '../format.js';
import { isInstrument } from '../storage.js';

export interface TicketOrder {
  account: string;
  instrument: string;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  quantity: string;
  price?: string;
  timeInForce: 'day' | 'gtc' | 'ioc';
}

interface Props {
  accounts: readonly string[];
  /** The instrument selected in the watch list and its best bid and ask: the ticket follows the selection. */
  instrument: string | null;
  bestBid?: string;
  bestAsk?: string;
  /** The licence has the `trading` feature (known once connected). */
  trading: boolean | null;
  submit: (order: TicketOrder) => Promise<string>;
}

const DECIMAL = /^\d+(\.\d+)?$/;

export function OrderTicket({ accounts, instrument, bestBid, bestAsk, trading, submit }: Props) {
  const [account, setAccount] = useState('');
  const [side, setSide] = useState<'buy' | 'sell'>('buy');
  const [symbol, setSymbol] = useState('');
  const [type, setType] = useState<'limit' | 'market'>('limit');
  const [timeInForce, setTimeInForce] = useState<'day' | 'gtc' | 'ioc'>('day');
  const [quantity, setQuantity] = useState('100');
  const [price, setPrice] = useState('');
  const [message, setMessage] = useState<{ text: string; level?: 'ok' | 'err' }>({ text: '' });
  const [sending, setSending] = useState(false);

  // The first account until the trader picks one; a vanished account falls back too.
  const chosenAccount = accounts.includes(account) ? account : (accounts[0] ?? '');

  // A new selection in the watch list (or a new side) fills the instrument and the price a marketable order would
  // take; the quotes that follow do not move what the trader sees in the ticket.
  const touch = side === 'buy' ? bestAsk : bestBid;
  const [filledFor, setFilledFor] = useState('');
  useEffect(() => {
    if (!instrument || filledFor === `${instrument}|${side}`) return;
    setSymbol(instrument);
    if (touch) {
      setPrice(touch);
      setFilledFor(`${instrument}|${side}`);
    }
  }, [instrument, side, touch, filledFor]);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const order: TicketOrder = { account: chosenAccount, instrument: symbol.trim().toUpperCase(), side, type, quantity: quantity.trim(), timeInForce };
    if (type === 'limit') order.price = price.trim();
    if (!order.account) return setMessage({ text: 'No account available.', level: 'err' });
    if (!isInstrument(order.instrument)) return setMessage({ text: 'Instrument must be EXCHANGE:SYMBOL.', level: 'err' });
    if (!DECIMAL.test(order.quantity) || Number(order.quantity) <= 0) return setMessage({ text: 'Quantity must be a positive decimal.', level: 'err' });
    if (order.price !== undefined && (!DECIMAL.test(order.price) || Number(order.price) <= 0)) return setMessage({ text: 'Price must be a positive decimal.', level: 'err' });
    setSending(true);
    setMessage({ text: 'Sending…' });
    submit(order).then(
      (text) => setMessage({ text, level: 'ok' }),
      (error: unknown) => setMessage({ text: describeError(error), level: 'err' }),
    ).finally(() => setSending(false));
  };

  const disabled = trading === false;
  return (
    <section className={`panel ticket${disabled ? ' disabled' : ''}`}>
      <div className="panel-head">
        <h2>Order ticket</h2>
      </div>
      <form id="ticket" autoComplete="off" onSubmit={onSubmit}>
        <div className="sides">
          <input type="radio" name="side" id="sideBuy" value="buy" checked={side === 'buy'} onChange={() => setSide('buy')} />
          <label htmlFor="sideBuy" className="buy">
            Buy
          </label>
          <input type="radio" name="side" id="sideSell" value="sell" checked={side === 'sell'} onChange={() => setSide('sell')} />
          <label htmlFor="sideSell" className="sell">
            Sell
          </label>
        </div>
        <label>
          Account
          <select id="tAccount" required value={chosenAccount} onChange={(e) => setAccount(e.target.value)}>
            {accounts.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          Instrument <input id="tInstrument" type="text" spellCheck={false} required value={symbol} onChange={(e) => setSymbol(e.target.value)} />
        </label>
        <div className="row2">
          <label>
            Type
            <select id="tType" value={type} onChange={(e) => setType(e.target.value === 'market' ? 'market' : 'limit')}>
              <option value="limit">Limit</option>
              <option value="market">Market</option>
            </select>
          </label>
          <label>
            Time in force
            <select id="tTif" value={timeInForce} onChange={(e) => setTimeInForce(e.target.value as 'day' | 'gtc' | 'ioc')}>
              <option value="day">Day</option>
              <option value="gtc">GTC</option>
              <option value="ioc">IOC</option>
            </select>
          </label>
        </div>
        <div className="row2">
          <label>
            Quantity <input id="tQty" type="text" inputMode="decimal" required value={quantity} onChange={(e) => setQuantity(e.target.value)} />
          </label>
          <label>
            Price <input id="tPrice" type="text" inputMode="decimal" disabled={type === 'market'} value={price} onChange={(e) => setPrice(e.target.value)} />
          </label>
        </div>
        <button className="btn primary" type="submit" id="tSubmit" disabled={sending || disabled}>
          Submit order
        </button>
        <p className={`ticket-msg${message.level ? ` ${message.level}` : ''}`} id="ticketMsg" aria-live="polite">
          {disabled ? 'Your licence has no "trading" feature.' : message.text}
        </p>
      </form>
    </section>
  );
}
