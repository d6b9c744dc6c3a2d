import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { MD_SUBSCRIBE_CHANNELS, parseStream, type MdSubscribeChannel } from '#libs/contracts';
import { STREAM_KINDS, type GatewaySocket, type StreamKind } from '#libs/realtime';
import { STREAM_KIND_REGISTRY } from '../engine/stream-kinds.js';
import type { MarketDataChannel } from './channels/market-data-channel.js';
import { streamOfKey } from './fanout-keys.js';

/** Every market-data kind of the registry of stream kinds: those with a fan-out mode. */
export const MARKET_DATA_KINDS = STREAM_KIND_REGISTRY.filter((descriptor) => descriptor.fanout !== undefined);

/**
 * The market-data channels of this process, found from the registry of stream kinds (each entry with a `fanout` mode
 * names its channel provider): MarketDataService and the fan-out reach a channel by name or by fan-out key here, so
 * that adding a channel is its file and its registry entry, not a branch in the service.
 */
@Injectable()
export class MarketDataChannels implements OnModuleInit {
  private readonly channels = new Map<string, { channel: MarketDataChannel; fanout: StreamKind }>();

  constructor(private readonly moduleRef: ModuleRef) {}

  onModuleInit(): void {
    for (const descriptor of MARKET_DATA_KINDS) {
      const channel = this.moduleRef.get<MarketDataChannel>(descriptor.handler, { strict: false });
      this.channels.set(descriptor.kind, { channel, fanout: descriptor.fanout ?? STREAM_KINDS.state });
    }
    // The contract's channels (what subscribe accepts) and the registry's market-data kinds are one list.
    const missing = MD_SUBSCRIBE_CHANNELS.filter((name) => !this.channels.has(name));
    if (missing.length > 0) throw new Error(`market-data channels of the contract with no entry in the registry of stream kinds: ${missing.join(', ')}`);
  }

  all(): MarketDataChannel[] {
    return [...this.channels.values()].map((entry) => entry.channel);
  }

  get(name: MdSubscribeChannel): MarketDataChannel {
    const entry = this.channels.get(name);
    if (!entry) throw new Error(`market-data channel ${name} is not in the registry of stream kinds`);
    return entry.channel;
  }

  /**
   * How a subscription's fan-out slot merges and overflows: the registry's mode for realtime data; delayed data goes
   * out as a snapshot per release, conflated, except events that all count (trades).
   */
  fanoutKind(name: MdSubscribeChannel, delayed: boolean): StreamKind {
    const fanout = this.channels.get(name)?.fanout ?? STREAM_KINDS.state;
    if (!delayed) return fanout;
    return fanout === STREAM_KINDS.events ? STREAM_KINDS.events : STREAM_KINDS.state;
  }

  /** A slow client's resync (the fan-out's `resnapshot`): the key's channel queues its snapshot afresh. */
  readonly resnapshot = (socket: GatewaySocket, key: string): void => {
    const parsed = parseStream(streamOfKey(key));
    if (parsed) this.get(parsed.channel).sendSnapshot(socket, key);
  };
}
