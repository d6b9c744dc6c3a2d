import { memo } from 'react';
import { formatDecimal, formatTime } from '../format.js';
import { useFlashOnChange } from '../flash.js';

export interface OrderView {
  account: string;
  orderId: string;
  clientOrderId: string;
  symbol: string;
  side: string;
  type: string;
  status: string;
  quantity: string;
  filledQuantity: string;
  price?: string;
  avgPrice?: string;
  reason?: string;
  ts: number;
}

const OPEN_STATUSES = new Set(['pending_new', 'new', 'partially_filled']);
const BLOTTER_MAX = 200;

export const isOpenOrder = (order: OrderView): boolean => OPEN_STATUSES.has(order.status);

function OrderRow({ order, onCancel }: { order: OrderView; onCancel?: (order: OrderView) => void }) {
  const ref = useFlashOnChange<HTMLTableRowElement>(order);
  return (
    <tr ref={ref} data-order-id={order.orderId} title={order.reason ? `reason: ${order.reason}` : `clientOrderId ${order.clientOrderId || '—'}`}>
      <td className="l">{formatTime(order.ts)}</td>
      <td className="l">{order.account}</td>
      <td className="l">{order.orderId}</td>
      <td className="l">{order.symbol}</td>
      <td className={`l side ${order.side === 'sell' ? 'down' : 'up'}`}>{order.side}</td>
      <td className="l">{order.type}</td>
      <td>{formatDecimal(order.quantity)}</td>
      <td>{formatDecimal(order.filledQuantity)}</td>
      <td>{order.price === undefined ? 'MKT' : formatDecimal(order.price)}</td>
      <td>{formatDecimal(order.avgPrice)}</td>
      <td className="l">
        <span className={`status ${order.status}`}>{order.status.replace(/_/g, ' ')}</span>
      </td>
      <td className="x">
        {onCancel && isOpenOrder(order) ? (
          <button className="icon-btn" type="button" title="Cancel order" aria-label={`Cancel ${order.orderId}`} onClick={() => onCancel(order)}>
            ×
          </button>
        ) : null}
      </td>
    </tr>
  );
}

/** Every order of the token's accounts, open and done, newest first; open ones can be canceled when trading is allowed. */
export const BlotterPanel = memo(function BlotterPanel({ orders, stale, onCancel }: { orders: readonly OrderView[]; stale: boolean; onCancel?: (order: OrderView) => void }) {
  const sorted = [...orders].sort((a, b) => b.ts - a.ts);
  const open = sorted.filter(isOpenOrder).length;
  return (
    <section className={`panel orders${stale ? ' stale' : ''}`}>
      <div className="panel-head">
        <h2>Orders</h2>
        <span className="sub">
          {sorted.length} orders · {open} open
        </span>
      </div>
      <div className="scroll">
        <table className="blotter" id="blotter">
          <thead>
            <tr>
              <th className="l">Time</th>
              <th className="l">Account</th>
              <th className="l">Order</th>
              <th className="l">Instrument</th>
              <th className="l">Side</th>
              <th className="l">Type</th>
              <th>Qty</th>
              <th>Filled</th>
              <th>Price</th>
              <th>Avg</th>
              <th className="l">Status</th>
              <th className="x"></th>
            </tr>
          </thead>
          <tbody>
            {sorted.length > 0 ? (
              sorted.slice(0, BLOTTER_MAX).map((o) => <OrderRow key={`${o.account}|${o.orderId}`} order={o} onCancel={onCancel} />)
            ) : (
              <tr>
                <td className="l muted" colSpan={12}>
                  No orders yet
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
});
