import { runSocketIoBaseline } from './socketio-baseline.js';

/**
 * Baseline (b): plain Socket.IO rooms. One room per stream and per account; every engine event is one
 * `io.to(room).emit(...)`, which Socket.IO encodes once and writes to each member — no batching, no conflation.
 */
await runSocketIoBaseline({
  addStreams: (socket, streams) => void socket.join(streams),
  addAccounts: (socket, accounts) => void socket.join(accounts.map((account) => `acct:${account}`)),
  deliverQuote: (namespace, message) => namespace.to(message.stream).emit('md', [message]),
  deliverOrder: (namespace, event) => namespace.to(`acct:${event.account}`).emit('order', event),
});
