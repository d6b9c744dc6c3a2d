import type { InProcessEngineTransport } from '#libs/realtime';
import type { PublisherTransport } from '#libs/publisher';

/**
 * The publisher library's transport for the embedded default: events go to the in-process engine transport as objects
 * (no broker, no JSON), after the library has checked them as it does for NATS or Redis.
 */
export function inProcessPublisherTransport(target: InProcessEngineTransport): PublisherTransport {
  return {
    name: 'in-process',
    send: (subject, event) => target.publish(subject, event),
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
