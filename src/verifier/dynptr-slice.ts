/**
 * The lives of bpf_dynptr_slice(_rdwr) results (dynptr-kfunc.ts makes them): a PTR_TO_MEM that carries
 * a DynptrSlice. Checked on Linux 6.18 by loading programs: a slice of an skb or xdp dynptr points into
 * the packet, so whatever moves packet data invalidates it (clear_all_pkt_pointers, jumps.ts); a slice
 * made with a stack buffer dies when an instruction stores into that buffer's bytes (a store beside
 * them, even in the same 8-byte slot, leaves it alone), while a store over its dynptr does not kill it.
 * Helpers writing into the buffer, variable-offset stores that may reach it and dynptrs or iterators
 * made over it are not modelled: bpfkit refuses them as such rather than guess.
 */
import type { Env } from './env.js';
import { Rejection } from './reject.js';
import { type Reg, type State, UNKNOWN_SCALAR, forEachReg } from './state.js';

/** Does `r` hold a slice whose stack buffer in `frame` overlaps bytes [lo, hi) of that frame? */
const inBuffer = (r: Reg, frame: number, lo: number, hi: number): boolean =>
  r.kind === 'mem' && !!r.slice && r.slice.frame === frame && r.slice.lo < hi && lo < r.slice.hi;

/**
 * `size` bytes of frame `frame`'s stack from `off` are written. `exact`: an instruction's store at a
 * known offset, which invalidates every slice whose buffer it overlaps (unknown scalars, as the kernel's
 * mark_reg_invalid leaves them); any other write over a buffer is refused as not modelled. Programs that
 * never made a slice with a stack buffer (env.sliceBuffers unset) pay nothing.
 */
export function sliceBufferWrite(
  env: Env,
  st: State,
  pc: number,
  frame: number,
  off: number,
  size: number,
  exact: boolean,
): void {
  if (!env.sliceBuffers) return;
  const hi = off + Math.max(size, 1);
  let hit = false;
  forEachReg(st, (r) => {
    if (!inBuffer(r, frame, off, hi)) return r;
    hit = true;
    return exact ? UNKNOWN_SCALAR : r;
  });
  if (hit && !exact)
    throw new Rejection(
      pc,
      'a write into the stack buffer of a live bpf_dynptr_slice result (other than a store): bpfkit does not model what it invalidates',
    );
}
