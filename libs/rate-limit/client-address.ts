import { BlockList, isIP } from 'node:net';

/** Thrown for a `TRUSTED_PROXIES` entry that is neither an IP address nor a CIDR block. */
export class TrustedProxySyntaxError extends Error {}

/**
 * An address as a key: IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as plain IPv4, IPv6 in lower case, brackets and an
 * IPv4 `:port` removed. Undefined for anything that is not an IP address.
 */
export function normalizeAddress(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let address = raw.trim();
  if (address.startsWith('[')) address = address.slice(1, address.indexOf(']') > 0 ? address.indexOf(']') : undefined);
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  const zone = address.indexOf('%');
  if (zone > 0) address = address.slice(0, zone);
  address = address.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped?.[1]) address = mapped[1];
  return isIP(address) === 0 ? undefined : address;
}

/**
 * The proxies whose `X-Forwarded-For` is believed: addresses and CIDR blocks, IPv4 and IPv6. An IPv4 entry also
 * matches its IPv4-mapped IPv6 form, which is how a dual-stack server sees IPv4 peers.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address = '', bits, extra] = entry.trim().split('/');
      const normalized = normalizeAddress(address);
      const family = normalized ? (isIP(normalized) === 6 ? 'ipv6' : 'ipv4') : undefined;
      const prefix = bits === undefined ? undefined : Number(bits);
      const maxBits = family === 'ipv6' ? 128 : 32;
      if (!normalized || !family || extra !== undefined || (prefix !== undefined && (!/^\d{1,3}$/.test(bits ?? '') || prefix > maxBits))) {
        throw new TrustedProxySyntaxError(`"${entry.trim()}" is not an IP address or CIDR block`);
      }
      if (prefix === undefined) this.list.addAddress(normalized, family);
      else this.list.addSubnet(normalized, prefix, family);
    }
    this.size = entries.length;
  }

  static parse(text: string | undefined): TrustedProxies {
    return new TrustedProxies((text ?? '').split(',').filter((entry) => entry.trim() !== ''));
  }

  has(address: string): boolean {
    if (this.size === 0) return false;
    const normalized = normalizeAddress(address);
    if (!normalized) return false;
    return this.list.check(normalized, isIP(normalized) === 6 ? 'ipv6' : 'ipv4');
  }
}

/**
 * The client's address for per-IP limits. The peer's own address, unless that peer is a trusted proxy: then the
 * `X-Forwarded-For` chain is read from the right (each proxy appends the address it saw) past every trusted proxy,
 * and the first address that is not one is the client. Entries left of it were written by the client itself and
 * could be anything, so they are never used. A malformed entry ends the walk at the last good address.
 */
export function clientAddress(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string {
  const peer = normalizeAddress(remoteAddress) ?? remoteAddress ?? 'unknown';
  if (!forwardedFor || !trusted.has(peer)) return peer;
  const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let client = peer;
  for (let index = chain.length - 1; index >= 0; index -= 1) {
    const hop = normalizeAddress(chain[index]);
    if (!hop) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}
