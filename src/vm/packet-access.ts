/**
 * Which programs can run on a frame where it lies, without the frame being copied into the VM's packet
 * buffer: those that read the packet only through LD_ABS/LD_IND (classic socket filters, and what clang
 * makes of load_byte/load_half/load_word), dereference no pointer but their stack (r10), and call only
 * helpers that never look at the packet or the context. For such a program the packet region's contents
 * cannot be observed, so a run on the frame in place gives the same result as a run on a copy.
 *
 * The check is syntactic and conservative: a load or store through any register other than r10 (even
 * a copy of r10), a kfunc, a function pointer, callx, or any other helper makes the program ineligible.
 */
import {
  BPF_CALL,
  BPF_JMP,
  BPF_K,
  BPF_LDX,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_ST,
  BPF_STX,
  BPF_X,
  OP_LDDW,
  REG_FP,
  classOf,
} from '../isa/index.js';
import type { LoadedProgram } from './interpreter-program.js';

/**
 * Helpers that neither read the packet or the context nor write through a pointer argument: map access
 * by key, clocks, randomness, CPU id. (So nothing but the program's stack changes during a run, and
 * the context region holds exactly what the run started with.) A key or value pointer may still be
 * aimed at the packet buffer by arithmetic: the map helpers then ask for the frame to be copied in
 * first (RunContext.lazyPacket), so they read what a copied run would.
 */
const PACKET_BLIND_HELPERS = new Set([
  1, // map_lookup_elem
  2, // map_update_elem
  3, // map_delete_elem
  5, // ktime_get_ns
  7, // get_prandom_u32
  8, // get_smp_processor_id
  125, // ktime_get_boot_ns
  160, // ktime_get_coarse_ns
]);

/** May this program run on a frame where it lies (see the file comment)? */
export function readsPacketOnlyByLdAbs(p: LoadedProgram): boolean {
  for (let pc = 0; pc < p.slots; pc++) {
    const op = p.code[pc]!;
    const cls = classOf(op);
    if (op === OP_LDDW) {
      if (p.src[pc] === BPF_PSEUDO_FUNC) return false;
      pc++;
    } else if (cls === BPF_LDX) {
      if (p.src[pc] !== REG_FP) return false;
    } else if (cls === BPF_ST || cls === BPF_STX) {
      if (p.dst[pc] !== REG_FP) return false;
    } else if (op === (BPF_JMP | BPF_CALL | BPF_K)) {
      const src = p.src[pc]!;
      if (src === BPF_PSEUDO_CALL) continue; // a function of the program itself: checked with the rest
      if (src !== 0 || !PACKET_BLIND_HELPERS.has(p.imm[pc]!)) return false;
    } else if (op === (BPF_JMP | BPF_CALL | BPF_X)) {
      return false; // callx: the helper is only known at run time
    }
  }
  return true;
}
