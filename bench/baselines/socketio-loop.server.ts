import { runSocketIoBaseline } from './socketio-baseline.js';

/**
 * Baseline (c): the common tutorial design. Each socket keeps its own subscription set; every engine event walks every
 * connected socket, tests the set and emits to the matches one by one, so each match re-encodes the same packet.
 */
await runSocketIoBaseline({
  addStreams: (socket, streams) => streams.forEach((stream) => socket.data.streams.add(stream)),
  addAccounts: (socket, accounts) => accounts.forEach((account) => socket.data.accounts.add(account)),
  deliverQuote: (namespace, message) => {
    for (const socket of namespace.sockets.values()) {
      if (socket.data.streams.has(message.stream)) socket.emit('md', [message]);
    }
  },
  deliverOrder: (namespace, event) => {
    for (const socket of namespace.sockets.values()) {
      if (socket.data.accounts.has(event.account)) socket.emit('order', event);
    }
  },
});
