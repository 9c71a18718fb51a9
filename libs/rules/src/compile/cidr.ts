/**
 * IP addresses and CIDR networks for the `ip` and `ipnet` field kinds.
 *
 * An address is held as four 32-bit words (IPv4 in the last word, the others
 * zero, plus a family tag), so matching needs no allocation: the caller hands
 * in a scratch Uint32Array. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is
 * read as the IPv4 address it carries, so `fd.sip in (10.0.0.0/8)` also holds
 * for dual-stack sockets.
 */

export interface Network {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The network address, masked, as four 32-bit words (IPv4 uses word 3). */
  readonly words: Uint32Array;
  /** Prefix length: 0..32 for IPv4, 0..128 for IPv6. */
  readonly bits: number;
  /** The text it was parsed from. */
  readonly text: string;
}

/**
 * Parses an address into `out` (four words). Returns the family, or 0 when
 * the text is not an address.
 */
function parseAddress(text: string, out: Uint32Array): 0 | 4 | 6 {
  if (text.length === 0) return 0;
  if (text.includes(':')) return parseV6(text, out);
  const v4 = parseV4(text, 0, text.length);
  if (v4 < 0) return 0;
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  out[3] = v4;
  return 4;
}

/** Parses `a.b.c.d` between start and end into an unsigned 32-bit number, or -1. */
function parseV4(text: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    let octet = 0;
    let digits = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      digits++;
      i++;
      if (digits > 3) return -1;
    }
    if (digits === 0 || octet > 255) return -1;
    value = value * 256 + octet;
    parts++;
    if (parts < 4) {
      if (i >= end || text.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

function parseV6(text: string, out: Uint32Array): 0 | 4 | 6 {
  let t = text;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (t.startsWith('::')) {
    gap = 0;
    i = 2;
  }
  while (i < t.length) {
    const colon = t.indexOf(':', i);
    const end = colon < 0 ? t.length : colon;
    const part = t.slice(i, end);
    if (part.includes('.')) {
      // Trailing dotted IPv4 part.
      if (end !== t.length) return 0;
      const v4 = parseV4(part, 0, part.length);
      if (v4 < 0) return 0;
      groups.push(Math.floor(v4 / 65536), v4 % 65536);
      i = end;
      break;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return 0;
    groups.push(Number.parseInt(part, 16));
    if (colon < 0) {
      i = end;
      break;
    }
    if (t.charCodeAt(colon + 1) === 58) {
      if (gap >= 0) return 0;
      gap = groups.length;
      i = colon + 2;
    } else {
      i = colon + 1;
      if (i >= t.length) return 0;
    }
  }
  if (gap >= 0) {
    if (groups.length > 7) return 0;
    const fill = 8 - groups.length;
    groups.splice(gap, 0, ...new Array<number>(fill).fill(0));
  }
  if (groups.length !== 8) return 0;
  for (let w = 0; w < 4; w++) out[w] = (groups[2 * w]! * 65536 + groups[2 * w + 1]!) >>> 0;
  // IPv4-mapped: ::ffff:a.b.c.d
  if (out[0] === 0 && out[1] === 0 && out[2] === 0xffff) {
    out[2] = 0;
    return 4;
  }
  return 6;
}

/** Parses `addr` or `addr/bits` (IPv4 or IPv6) into a network, or undefined. */
export function parseNetwork(text: string): Network | undefined {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addr = slash < 0 ? t : t.slice(0, slash);
  const words = new Uint32Array(4);
  const family = parseAddress(addr, words);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = t.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(b)) return undefined;
    bits = Number(b);
    if (bits > max) return undefined;
  }
  maskWords(words, family === 4 ? 96 + bits : bits);
  return { family, words, bits, text: t };
}

/** Zeroes every bit after the first `bits` of the 128-bit value. */
function maskWords(words: Uint32Array, bits: number): void {
  for (let w = 0; w < 4; w++) {
    const keep = bits - w * 32;
    if (keep >= 32) continue;
    words[w] = keep <= 0 ? 0 : (words[w]! & (0xffffffff << (32 - keep))) >>> 0;
  }
}

/** Whether the address in `addr` (four words, of `family`) lies in `net`. */
function inNetwork(addr: Uint32Array, family: 4 | 6, net: Network): boolean {
  if (family !== net.family) return false;
  let bits = family === 4 ? 96 + net.bits : net.bits;
  for (let w = 0; w < 4; w++, bits -= 32) {
    if (bits <= 0) return true;
    const a = addr[w]!;
    const n = net.words[w]!;
    if (bits >= 32) {
      if (a !== n) return false;
    } else if ((a & (0xffffffff << (32 - bits))) >>> 0 !== n) {
      return false;
    }
  }
  return true;
}

/**
 * A matcher for a set of networks: true when the value (an address, or a
 * network written `addr/bits`, which must then lie inside one of the set's
 * networks) is in any of them. It owns its scratch buffer, so it allocates
 * nothing per call for plain addresses.
 */
export function networkMatcher(nets: readonly Network[]): (value: string) => boolean {
  const scratch = new Uint32Array(4);
  return (value) => {
    const slash = value.indexOf('/');
    if (slash < 0) {
      const family = parseAddress(value, scratch);
      if (family === 0) return false;
      for (let i = 0; i < nets.length; i++) if (inNetwork(scratch, family, nets[i]!)) return true;
      return false;
    }
    const v = parseNetwork(value);
    if (v === undefined) return false;
    for (let i = 0; i < nets.length; i++) {
      const n = nets[i]!;
      if (v.bits >= n.bits && inNetwork(v.words, v.family, n)) return true;
    }
    return false;
  };
}
