import type { BookLevel } from './wire.js';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Kraken v2's level format: the decimal point removed, then leading zeros stripped. */
function checksumToken(decimal: string): string {
  return decimal.replace('.', '').replace(/^0+/, '');
}

/**
 * The book checksum of the contract: CRC32 over the top 10 levels, asks low→high then bids high→low, each price and
 * size with '.' removed and leading zeros stripped, concatenated; unsigned.
 */
export function bookChecksum(asks: readonly BookLevel[], bids: readonly BookLevel[], levels = 10): number {
  let text = '';
  for (const [price, size] of asks.slice(0, levels)) text += checksumToken(price) + checksumToken(size);
  for (const [price, size] of bids.slice(0, levels)) text += checksumToken(price) + checksumToken(size);
  return crc32(text);
}
