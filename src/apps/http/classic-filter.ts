/**
 * The classic design's kernel half, as seen from userspace: a socket filter that says keep/drop for a frame,
 * and (v2) the `sessions` hash map it shares with userspace. The eBPF programs in src/apps/http/bpf/ are the
 * real thing (run in the VM or the kernel); `JsClassicFilter` is the same logic in TypeScript, used as the
 * reference the programs are tested against and when no engine is available.
 *
 * Session key layout (12 bytes, host byte order as the C struct stores it):
 *   u32 src_ip, u32 dst_ip (the values load_word gives: big-endian read, stored little-endian), u16 src_port,
 *   u16 dst_port. Value: u64 timestamp (0 when the filter inserts; userspace stamps it at cleanup).
 */

export interface SessionTable {
  lookup(key: Uint8Array): Uint8Array | undefined;
  update(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): boolean;
  keys(): IterableIterator<Uint8Array>;
}

export interface ClassicFilter {
  /** true: the program returned non-zero (keep) for this frame (from its MAC header) */
  keep(frame: Uint8Array): boolean;
  /** v2 only */
  readonly sessions: SessionTable | undefined;
}

export const SESSION_KEY_SIZE = 12;

/** The session key the v2 program builds for a frame's 4-tuple. */
export function sessionKey(srcIp: number, dstIp: number, sport: number, dport: number): Uint8Array {
  const k = new Uint8Array(SESSION_KEY_SIZE);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, srcIp >>> 0, true);
  dv.setUint32(4, dstIp >>> 0, true);
  dv.setUint16(8, sport, true);
  dv.setUint16(10, dport, true);
  return k;
}

/** A hash map in TypeScript with the kernel map's byte-key semantics (and its max_entries limit). */
export class JsSessionTable implements SessionTable {
  private readonly m = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  constructor(private readonly maxEntries = 1024) {}
  private static id(key: Uint8Array): string {
    return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
  }
  lookup(key: Uint8Array): Uint8Array | undefined {
    return this.m.get(JsSessionTable.id(key))?.value;
  }
  update(key: Uint8Array, value: Uint8Array): void {
    const id = JsSessionTable.id(key);
    const e = this.m.get(id);
    if (e) {
      e.value = value.slice();
      return;
    }
    if (this.m.size >= this.maxEntries) return; // the kernel answers E2BIG; the program ignores it
    this.m.set(id, { key: key.slice(), value: value.slice() });
  }
  delete(key: Uint8Array): boolean {
    return this.m.delete(JsSessionTable.id(key));
  }
  *keys(): IterableIterator<Uint8Array> {
    for (const e of [...this.m.values()]) yield e.key;
  }
  get size(): number {
    return this.m.size;
  }
}

const ETH_HLEN = 14;

function startsWith(f: Uint8Array, p: number, end: number, word: string): boolean {
  if (end - p < word.length) return false;
  for (let i = 0; i < word.length; i++) if (f[p + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** The six prefixes the classic filter recognises. */
export const CLASSIC_PREFIXES = ['HTTP', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD'];

/** TypeScript twin of http_filter_v1 / http_filter_v2 (bpf/http_filter_v*.c). */
export class JsClassicFilter implements ClassicFilter {
  readonly sessions: JsSessionTable | undefined;
  constructor(readonly version: 1 | 2) {
    this.sessions = version === 2 ? new JsSessionTable(1024) : undefined;
  }

  keep(f: Uint8Array): boolean {
    if (f.length < ETH_HLEN + 20) return false;
    if (((f[12]! << 8) | f[13]!) !== 0x0800) return false;
    if (f[ETH_HLEN + 9] !== 6) return false;
    const ihl = (f[ETH_HLEN]! & 15) << 2;
    const total = (f[ETH_HLEN + 2]! << 8) | f[ETH_HLEN + 3]!;
    const tcp = ETH_HLEN + ihl;
    if (tcp + 20 > f.length) return false;
    const thl = (f[tcp + 12]! >> 4) << 2;
    const payload = tcp + thl;
    const payloadLen = total - ihl - thl;
    if (payloadLen <= 0 || payload >= f.length) {
      return false;
    }
    const end = Math.min(f.length, ETH_HLEN + total);
    let match = false;
    for (const w of CLASSIC_PREFIXES) if (startsWith(f, payload, end, w)) match = true;
    if (this.version === 1) return match;
    const key = sessionKey(
      ((f[ETH_HLEN + 12]! << 24) | (f[ETH_HLEN + 13]! << 16) | (f[ETH_HLEN + 14]! << 8) | f[ETH_HLEN + 15]!) >>> 0,
      ((f[ETH_HLEN + 16]! << 24) | (f[ETH_HLEN + 17]! << 16) | (f[ETH_HLEN + 18]! << 8) | f[ETH_HLEN + 19]!) >>> 0,
      (f[tcp]! << 8) | f[tcp + 1]!,
      (f[tcp + 2]! << 8) | f[tcp + 3]!,
    );
    if (match) {
      this.sessions!.update(key, new Uint8Array(8));
      return true;
    }
    return this.sessions!.lookup(key) !== undefined;
  }
}
