/**
 * Seeded random classic programs for the differential tests: mostly opcodes the kernel allows, with
 * operands drawn near the checker's edges (M[15]/M[16], shifts of 31/32, division by 0, jumps to the last
 * instruction and one past it, every ancillary offset and the gaps between them), and sometimes raw
 * junk, so both accept and reject paths are exercised.
 */
import { KERNEL_CLASSIC_OPCODES, SKF_AD_OFF, SKF_LL_OFF, SKF_NET_OFF, type SockFilter } from '../../src/cbpf/index.js';
import { rng } from '../kernel/helpers/random-program.js';

export { rng };

const CODES = [...KERNEL_CLASSIC_OPCODES];
const RETS = [0x06, 0x16];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** An interesting k for `code`. */
function kFor(r: () => number, code: number): number {
  const u = r();
  const cls = code & 7;
  if (cls === 0x02 || cls === 0x03 || (code & 0xe0) === 0x60)
    return u < 0.85 ? Math.floor(r() * 16) : pick(r, [16, 17, 255, 0xffffffff]);
  if (cls === 0x04) {
    if (u < 0.1) return 0;
    if (u < 0.3) return pick(r, [1, 2, 7, 31, 32, 33, 0x80000000, 0xffffffff]);
    return Math.floor(r() * 0x100000000);
  }
  if (cls === 0x00 || cls === 0x01) {
    if (u < 0.25) return (SKF_AD_OFF + 4 * Math.floor(r() * 17) + (r() < 0.1 ? 1 : 0)) >>> 0;
    if (u < 0.35) return (SKF_NET_OFF + Math.floor(r() * 40)) >>> 0;
    if (u < 0.4) return (SKF_LL_OFF + Math.floor(r() * 40)) >>> 0;
    if (u < 0.45) return Math.floor(r() * 0x100000000);
    return Math.floor(r() * 80);
  }
  if (cls === 0x05)
    return u < 0.5 ? Math.floor(r() * 4) : u < 0.8 ? Math.floor(r() * 256) : Math.floor(r() * 0x100000000);
  return Math.floor(r() * 0x100000000);
}

/** One random program of 1..maxLen instructions (occasionally with junk opcodes or no final return). */
export function randomProgram(r: () => number, maxLen = 24): SockFilter[] {
  const n = 1 + Math.floor(r() * maxLen);
  const out: SockFilter[] = [];
  for (let i = 0; i < n; i++) {
    const last = i === n - 1;
    let code: number;
    if (last && r() < 0.92) code = pick(r, RETS);
    else if (r() < 0.03) code = Math.floor(r() * (r() < 0.5 ? 0x100 : 0x10000));
    else code = pick(r, CODES);
    const left = n - i - 1;
    const jmp = () => (r() < 0.9 ? Math.floor(r() * Math.max(1, left)) : Math.min(255, left + Math.floor(r() * 3)));
    out.push({
      code,
      jt: jmp(),
      jf: jmp(),
      k:
        (code & 7) === 5 && (code & 0xf0) === 0
          ? r() < 0.9
            ? Math.floor(r() * Math.max(1, left))
            : left + Math.floor(r() * 2)
          : kFor(r, code),
    });
  }
  return out;
}

/** A random packet: often an Ethernet/IPv4 frame (so real offsets hit real headers), sometimes bytes of any length. */
export function randomPacket(r: () => number): Uint8Array {
  const len = r() < 0.1 ? Math.floor(r() * 14) : 14 + Math.floor(r() * 100);
  const p = new Uint8Array(len);
  for (let i = 0; i < len; i++) p[i] = Math.floor(r() * 256);
  if (len >= 24 && r() < 0.7) {
    p[12] = 0x08;
    p[13] = 0x00;
    p[14] = 0x45;
  }
  return p;
}
