/**
 * Socket.IO (protocol v5) EVENT packets built from JSON that is already serialized. The fan-out serializes each
 * update once and writes the same bytes to every subscriber through the engine.io connection's public `write`,
 * instead of letting Socket.IO encode the same payload again per client or per batch.
 *
 *   2/market-data,["md",[{...},{...}]]
 *   │└ namespace ┘ └ event name, then the argument(s)
 *   └ packet type EVENT
 */
export function eventPacketPrefix(namespace: string, event: string): string {
  return `2${namespace === '/' ? '' : `${namespace},`}[${JSON.stringify(event)},`;
}

/** A complete EVENT packet with one argument whose JSON is `argumentJson`. */
export function eventPacket(prefix: string, argumentJson: string): string {
  return `${prefix}${argumentJson}]`;
}
