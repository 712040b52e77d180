/**
 * Which engine a collection runs on when its loader does not say: 'wasm' for objects whose programs keep
 * their work inside the WebAssembly module, 'jit' for the rest. Measured (docs/wasm.md): a program made
 * of ALU work, stack, context and packet accesses (LD_ABS/LD_IND included), array-map lookups and atomic
 * adds runs faster as WebAssembly, and so do its local calls (bpf-to-bpf), tail calls and
 * skb_load_bytes into its stack, which the module makes itself, and its hash and LRU hash map lookups,
 * updates and deletes (hash-lookup.ts) while the maps fit in linear memory; one that calls other helpers
 * often or uses other maps crosses into JavaScript at each of them, and the compiled JavaScript engine,
 * which crosses nothing, is faster there.
 */
import type { ObjectSpec } from '../../elf/spec.js';
import { BPF_CALL, BPF_JMP, BPF_PSEUDO_CALL } from '../../isa/index.js';
import { MapType } from '../../uapi/types.js';
import { wasmApi } from './runtime.js';
import { PLACED_MAX, placedBytes } from '../maps/hash.js';
import { QUICK_HELPERS } from './quick-helpers.js';
import type { EngineKind } from '../interpreter.js';

/**
 * Helpers a 'wasm' program may call and still be faster than on 'jit': map_lookup_elem (inline on
 * arrays), map_update_elem and map_delete_elem (inline on hash maps), tail_call and skb_load_bytes
 * (inline: tail-call.ts, skb-load-bytes.ts), skb_store_bytes / l3_csum_replace / l4_csum_replace, whose
 * cost is in the helper, and the quick ones (clocks, CPU, random: quick-helpers.ts).
 */
const CHEAP_HELPERS = new Set([1, 2, 3, 9, 10, 11, 12, 26, ...QUICK_HELPERS]);

/**
 * Map types whose work stays in the module: arrays, prog arrays (tail calls), and hash maps only while
 * they fit in linear memory.
 */
function mapsStayInside(spec: ObjectSpec): boolean {
  let hashBytes = 0;
  for (const m of spec.maps) {
    if (m.type === MapType.ARRAY || m.type === MapType.PROG_ARRAY) continue;
    if (m.type !== MapType.HASH && m.type !== MapType.LRU_HASH) return false;
    hashBytes += placedBytes(m);
  }
  return hashBytes <= PLACED_MAX;
}

/** The engine for `spec` when none was asked for. */
export function preferredEngine(spec: ObjectSpec): EngineKind {
  if (wasmApi === undefined) return 'jit';
  if (!mapsStayInside(spec)) return 'jit';
  for (const p of spec.programs)
    for (const i of p.insns) {
      if ((i.code & 0x07) !== BPF_JMP || (i.code & 0xf0) !== BPF_CALL) continue;
      // local calls stay inside the module (2x faster than 'jit' on a call-heavy loop); callx (BPF_X) and
      // kfuncs (src 2) cross into JavaScript
      if (i.code === (BPF_JMP | BPF_CALL) && i.src === BPF_PSEUDO_CALL) continue;
      if (i.code !== (BPF_JMP | BPF_CALL) || i.src !== 0 || !CHEAP_HELPERS.has(i.imm)) return 'jit';
    }
  return 'wasm';
}
