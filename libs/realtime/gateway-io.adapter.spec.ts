import 'reflect-metadata';
import { WebSocketsController } from '@nestjs/websockets/web-sockets-controller.js';
import { describe, expect, it } from 'vitest';
import { installSharedSocketBinding, nestGetConnectionHandler } from './gateway-io.adapter.js';

/** A function's source with its whitespace collapsed. */
const text = (fn: unknown) => String(fn).replace(/\s+/g, ' ').trim();

/**
 * installSharedSocketBinding replaces Nest's WebSocketsController#getConnectionHandler for the gateway's adapter and
 * does what Nest's does without binding anything per socket. These pin the Nest code it stands in for: a Nest upgrade
 * that changes what a connection handler does fails here, to be reviewed (the e2e tests run every request through
 * the replacement).
 */
describe('installSharedSocketBinding', () => {
  it("replaces Nest's connection handler once, keeping Nest's for other adapters", () => {
    installSharedSocketBinding();
    const replaced = (WebSocketsController.prototype as unknown as { getConnectionHandler: unknown }).getConnectionHandler;
    installSharedSocketBinding();
    expect((WebSocketsController.prototype as unknown as { getConnectionHandler: unknown }).getConnectionHandler).toBe(replaced);
    expect(nestGetConnectionHandler()).not.toBe(replaced);
  });

  it("stands in for Nest's getConnectionHandler as Nest wrote it", () => {
    installSharedSocketBinding();
    expect(text(nestGetConnectionHandler())).toBe(
      text(`getConnectionHandler(context, instance, subscribersMap, disconnect, connection) {
        const adapter = this.config.getIoAdapter();
        return (...args) => {
            const [client] = args;
            connection.next(args);
            context.subscribeMessages(subscribersMap, client, instance);
            const disconnectHook = adapter.bindClientDisconnect;
            disconnectHook &&
                disconnectHook.call(adapter, client, (reason) => disconnect.next({ client, reason }));
        };
    }`),
    );
  });

  it("calls handlers as Nest's subscribeMessages binds them, with Nest's transform", () => {
    expect(text(WebSocketsController.prototype.subscribeMessages)).toBe(
      text(`subscribeMessages(subscribersMap, client, instance) {
        const adapter = this.config.getIoAdapter();
        const handlers = subscribersMap.map(({ callback, message, isAckHandledManually }) => ({
            message,
            callback: callback.bind(instance, client),
            isAckHandledManually,
        }));
        adapter.bindMessageHandlers(client, handlers, data => fromPromise(this.pickResult(data)).pipe(mergeAll()));
    }`),
    );
  });
});
