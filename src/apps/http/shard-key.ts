/**
 * Which flow shard a frame belongs to, for `bpfkit urls --threads N`: its frame's outermost IP address
 * pair, the same in both directions. Addresses and not ports, because everything that must be seen
 * together shares them: both directions of a connection, every fragment of a datagram (only the first
 * carries the ports), every packet inside a tunnel between two endpoints. Frames without an IP header
 * this reader finds (ARP, MPLS, PPPoE, link types it does not name) all go to shard 0, which decodes
 * them as one thread would.
 *
 * A few byte reads per frame, no decoding: the shard's own PacketView does the real work.
 */

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const VLAN_TAGS = [0x8100, 0x88a8, 0x9100];
const SLL_HEADER = 16;
const SLL2_HEADER = 20;

/** Most address pairs FlowDealer places itself; later ones go by their hash alone (bounded memory). */
const MAX_PLACED = 1 << 16;

/**
 * Deals frames to `shards` shards by address pair. A capture's traffic often runs between a few dozen
 * address pairs (clients and a server): spread by their hash alone, 35 pairs fell 15 / 20 on two shards,
 * and the busier shard sets the wall time. So each new pair goes to the shard dealt the fewest bytes so
 * far, and stays there; past MAX_PLACED pairs, new ones go by their hash (many pairs even out anyway).
 * The same capture is always dealt the same way.
 */
export class FlowDealer {
  private readonly placed = new Map<number, number>();
  /** bytes dealt to each shard, weighted (see `weights`) */
  private readonly load: Float64Array;

  /**
   * `weights`: what a byte costs on each shard; a shard that shares its thread with other work (the
   * reading thread's own shard) counts its bytes heavier, and so is dealt fewer.
   */
  constructor(
    readonly shards: number,
    private readonly weights: number[] = [],
  ) {
    this.load = new Float64Array(shards);
  }

  /** The shard (0..shards-1) of the frame at bytes[off, off + caplen) of link type `linktype`. */
  shardOf(bytes: Uint8Array, off: number, caplen: number, linktype: number): number {
    const n = this.shards;
    if (n <= 1) return 0;
    const h = pairHash(bytes, off, caplen, linktype);
    let s = 0;
    if (h >= 0) {
      const known = this.placed.get(h);
      if (known !== undefined) s = known;
      else if (this.placed.size < MAX_PLACED) {
        const load = this.load;
        for (let i = 1; i < n; i++) if (load[i]! < load[s]!) s = i;
        this.placed.set(h, s);
      } else s = h % n;
    }
    this.load[s]! += caplen * (this.weights[s] ?? 1);
    return s;
  }
}

/**
 * A hash (0..2^30-1) of the frame's outermost IP address pair, the same whichever address is the
 * source; -1 when no IP header was found.
 */
export function pairHash(bytes: Uint8Array, off: number, caplen: number, linktype: number): number {
  const l3 = networkStart(bytes, off, caplen, linktype);
  if (l3 < 0) return -1;
  const end = off + caplen;
  const version = bytes[l3]! >> 4;
  let h: number;
  if (version === 4 && l3 + 20 <= end) h = endpoint(bytes, l3 + 12, 1) + endpoint(bytes, l3 + 16, 1);
  else if (version === 6 && l3 + 40 <= end) h = endpoint(bytes, l3 + 8, 4) + endpoint(bytes, l3 + 24, 4);
  else return -1;
  // (a sum: the same whichever address is the source)
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h ^= h >>> 16;
  // (30 bits: a small integer to V8, cheap as a Map key)
  return h & 0x3fffffff;
}

/** A hash of one address of `words` 32-bit words at bytes[at]. */
function endpoint(b: Uint8Array, at: number, words: number): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < words; i++, at += 4) {
    const w = (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
    h = Math.imul(h ^ w, 0x85ebca6b);
    h ^= h >>> 13;
  }
  return h | 0;
}

/** Where the IP header starts for the link types that carry IP plainly; -1 when not found. */
function networkStart(b: Uint8Array, off: number, caplen: number, linktype: number): number {
  const end = off + caplen;
  switch (linktype) {
    case 1: {
      // Ethernet, with any VLAN tags
      let at = off + 12;
      for (let tags = 0; tags < 4; tags++) {
        if (at + 2 > end) return -1;
        const type = (b[at]! << 8) | b[at + 1]!;
        if (type === ETH_P_IP || type === ETH_P_IPV6) return at + 2 < end ? at + 2 : -1;
        if (!VLAN_TAGS.includes(type)) return -1;
        at += 4;
      }
      return -1;
    }
    case 12:
    case 101:
    case 228:
    case 229:
      return caplen > 0 ? off : -1; // raw IP
    case 113:
      return caplen > SLL_HEADER ? off + SLL_HEADER : -1; // Linux cooked v1 (the version nibble tells)
    case 276:
      return caplen > SLL2_HEADER ? off + SLL2_HEADER : -1; // Linux cooked v2
    case 0:
    case 108:
      return caplen > 4 ? off + 4 : -1; // BSD loopback: a 4-byte family, then IP
    default:
      return -1;
  }
}
