/**
 * Dynptr programs (src/verifier/dynptr.ts), each with the verdict the running kernel (6.18) gives: ring
 * buffer dynptrs and their references (reserve, submit, discard, leaks, double release), local dynptrs of
 * map values, bpf_dynptr_read/write/data, slices and what kills them, the stack rules (a constant,
 * 8-aligned offset; no overwrite of a ring buffer dynptr; no reads of dynptr bytes by instructions or as
 * other helpers' memory), and pruning that must keep two kinds of dynptr apart. Callbacks
 * (bpf_user_ringbuf_drain's CONST_PTR_TO_DYNPTR) need BTF to load: the selftest sweep judges those.
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import type { Want } from './expect.js';

/** One program and what the kernel says of it. */
export interface DynptrCase {
  name: string;
  text: string;
  want: Want;
  /** The program type (socket filter unless said: every type has these helpers). */
  type?: number;
}

/** The type the cases load as: every program type may call the dynptr helpers. */
export const DYNPTR_PROG_TYPE = ProgType.SOCKET_FILTER;

/** map 0: a ring buffer; map 1: an array of 32-byte values; map 2: a hash (not a ring buffer). */
export const DYNPTR_MAPS: VerifierMap[] = [
  { name: 'rb', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, readOnly: false },
  { name: 'arr', type: MapType.ARRAY, keySize: 4, valueSize: 32, maxEntries: 1, readOnly: false },
  { name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1, readOnly: false },
];

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });

/** bpf_ringbuf_reserve_dynptr(&rb, size, 0, fp + off): the call is insn 6. */
const reserve = (off = -16, size = 8) => `
  r1 = map 0
  r2 = ${size}
  r3 = 0
  r4 = r10
  r4 += ${off}
  call 198`;
/** Submit (199) or discard (200) the dynptr at fp + off: four insns, the call last. */
const release = (off = -16, id = 199) => `
  r1 = r10
  r1 += ${off}
  r2 = 0
  call ${id}`;
/** The array's value in r7 (insns 0-7; NULL goes to `out`). */
const lookupValue = `
  r1 = 0
  *(u32 *)(r10 - 4) = r1
  r2 = r10
  r2 += -4
  r1 = map 1
  call 1
  if r0 == 0 goto out
  r7 = r0`;
/** bpf_dynptr_from_mem(r7, 32, 0, fp + off): six insns, the call last. */
const fromMem = (off: number) => `
  r1 = r7
  r2 = 32
  r3 = 0
  r4 = r10
  r4 += ${off}
  call 197`;
/** A local dynptr of the array's value at fp-24 (the call is insn 13). */
const local = `${lookupValue}\n${fromMem(-24)}`;
const ret0 = `r0 = 0\nexit`;
/** Enough instructions and jumps that the kernel remembers the state at the next prune point. */
const settle = `${'r9 = 0\n'.repeat(8)}if r9 != 0 goto +0`;
const out = `out:\n${ret0}`;
/** bpf_dynptr_data(fp + off, 0, size) into r0. */
const data = (off = -16, size = 8) => `
  r1 = r10
  r1 += ${off}
  r2 = 0
  r3 = ${size}
  call 203`;
/** bpf_dynptr_read(fp-40, 8, fp + off, 0, 0). */
const readInto = (off: number, dst = -40) => `
  r1 = r10
  r1 += ${dst}
  r2 = 8
  r3 = r10
  r3 += ${off}
  r4 = 0
  r5 = 0
  call 201`;

export const DYNPTR_CASES: DynptrCase[] = [
  { name: 'ringbuf: reserve, submit', text: `${reserve()}\n${release()}\n${ret0}`, want: OK },
  { name: 'ringbuf: reserve, discard', text: `${reserve()}\n${release(-16, 200)}\n${ret0}`, want: OK },
  {
    name: 'ringbuf: reserve, never released (the reference is taken even if the reservation fails)',
    text: `${reserve()}\n${ret0}`,
    want: at(8, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'ringbuf: submitted twice',
    text: `${reserve()}\n${release()}\n${release()}\n${ret0}`,
    want: at(14, 'arg 1 is an unacquired reference'),
  },
  {
    name: 'ringbuf: submit of stack that holds no dynptr',
    text: `${release()}\n${ret0}`,
    want: at(3, 'arg 1 is an unacquired reference'),
  },
  {
    name: 'ringbuf: a dynptr at fp-8 would reach above the frame',
    text: `${reserve(-8)}\n${release(-8)}\n${ret0}`,
    want: at(6, 'Dynptr has to be an uninitialized dynptr'),
  },
  {
    name: 'ringbuf: a dynptr at a misaligned offset',
    text: `${reserve(-20)}\n${release(-20)}\n${ret0}`,
    want: at(6, 'Dynptr has to be an uninitialized dynptr'),
  },
  {
    name: 'ringbuf: a dynptr at a variable offset',
    text: `call 7\nr0 &= 8\nr1 = map 0\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -32\nr4 += r0\ncall 198\n${release(-32)}\n${ret0}`,
    want: at(9, 'Dynptr has to be an uninitialized dynptr'),
  },
  {
    name: 'ringbuf: at the stack limit (fp-512)',
    text: `${reserve(-512)}\n${release(-512)}\n${ret0}`,
    want: OK,
  },
  {
    name: 'ringbuf: past the stack limit (fp-520)',
    text: `${reserve(-520)}\n${release(-520)}\n${ret0}`,
    want: at(6, 'invalid write to stack R4 off=-520 size=8'),
  },
  {
    name: 'ringbuf: reserved twice over the same slots',
    text: `${reserve()}\n${reserve()}\n${release()}\n${ret0}`,
    want: at(13, 'cannot overwrite referenced dynptr'),
  },
  {
    name: 'ringbuf: reserved again half over it (fp-24 meets fp-16)',
    text: `${reserve()}\n${reserve(-24)}\n${release()}\n${ret0}`,
    want: at(13, 'cannot overwrite referenced dynptr'),
  },
  {
    name: 'ringbuf: a byte stored into its second slot',
    text: `${reserve()}\nr1 = 0\n*(u8 *)(r10 - 8) = r1\n${release()}\n${ret0}`,
    want: at(8, 'cannot overwrite referenced dynptr'),
  },
  {
    name: 'ringbuf: a variable-offset store that may reach it',
    text: `${reserve()}\ncall 7\nr0 &= 8\nr1 = r10\nr1 += -24\nr1 += r0\nr2 = 0\n*(u64 *)(r1 + 0) = r2\n${release()}\n${ret0}`,
    want: at(13, 'cannot overwrite referenced dynptr'),
  },
  {
    name: 'ringbuf: its first slot read by a load',
    text: `${reserve()}\nr1 = *(u32 *)(r10 - 16)\n${release()}\n${ret0}`,
    want: at(7, 'invalid read from stack off -16+0 size 4'),
  },
  {
    name: 'ringbuf: its second slot read by a load',
    text: `${reserve()}\nr1 = *(u64 *)(r10 - 8)\n${release()}\n${ret0}`,
    want: at(7, 'invalid read from stack off -8+0 size 8'),
  },
  {
    name: 'ringbuf: the dynptr passed as a map value to update (a helper reads its bytes)',
    text: `${reserve()}\nr1 = 0\n*(u32 *)(r10 - 20) = r1\nr1 = map 1\nr2 = r10\nr2 += -20\nr3 = r10\nr3 += -32\nr4 = 0\ncall 2\n${release()}\n${ret0}`,
    want: at(16, 'invalid read from stack R3 off -32+16 size 32'),
  },
  {
    name: 'ringbuf: bpf_dynptr_read into its own slots',
    text: `${reserve()}\n${readInto(-16, -16)}\n${release()}\n${ret0}`,
    want: at(14, 'potential write to dynptr at off=-16 disallowed'),
  },
  {
    name: 'ringbuf: bpf_dynptr_read after submit',
    text: `${reserve()}\n${release()}\n${readInto(-16)}\n${ret0}`,
    want: at(18, 'Expected an initialized dynptr as arg #2'),
  },
  {
    name: 'ringbuf: bpf_dynptr_read of it, then submit',
    text: `${reserve()}\n${readInto(-16)}\n${release()}\n${ret0}`,
    want: OK,
  },
  {
    name: 'ringbuf: a map of another type',
    text: `r1 = map 2\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -16\ncall 198\n${release()}\n${ret0}`,
    want: at(6, 'cannot pass map_type 1 into func bpf_ringbuf_reserve_dynptr#198'),
  },
  {
    name: 'ringbuf: dynptr_data, null-checked, written, submitted',
    text: `${reserve()}\n${data()}\nif r0 == 0 goto rel\nr1 = 1\n*(u64 *)(r0 + 0) = r1\nrel:\n${release()}\n${ret0}`,
    want: OK,
  },
  {
    name: 'ringbuf: dynptr_data not null-checked',
    text: `${reserve()}\n${data()}\nr1 = 1\n*(u64 *)(r0 + 0) = r1\n${release()}\n${ret0}`,
    want: at(13, "R0 invalid mem access 'mem_or_null'"),
  },
  {
    name: 'ringbuf: dynptr_data read past its size',
    text: `${reserve()}\n${data()}\nif r0 == 0 goto rel\nr1 = *(u64 *)(r0 + 8)\nrel:\n${release()}\n${ret0}`,
    want: at(13, 'R0 min value is outside of the allowed memory range'),
  },
  {
    name: 'ringbuf: dynptr_data of an unknown size',
    text: `${reserve()}\ncall 7\nr3 = r0\nr1 = r10\nr1 += -16\nr2 = 0\ncall 203\n${release()}\n${ret0}`,
    want: at(12, "R3 is not a known constant'"),
  },
  {
    name: 'ringbuf: the slice used after submit',
    text: `${reserve()}\n${data()}\nif r0 == 0 goto rel\nr6 = r0\n${release()}\nr1 = *(u64 *)(r6 + 0)\n${ret0}\nrel:\n${release()}\n${ret0}`,
    want: at(18, "R6 invalid mem access 'scalar'"),
  },
  {
    name: 'ringbuf: the slice given to bpf_ringbuf_submit',
    text: `${reserve()}\n${data()}\nif r0 == 0 goto rel\nr1 = r0\nr2 = 0\ncall 132\nrel:\n${release()}\n${ret0}`,
    want: at(15, 'R1 type=mem expected=ringbuf_mem'),
  },
  {
    name: 'ringbuf: a dynptr argument that is a map value',
    text: `${local}\nr1 = r10\nr1 += -40\nr2 = 8\nr3 = r7\nr4 = 0\nr5 = 0\ncall 201\n${out}`,
    want: at(21, 'R3 type=map_value expected=fp, dynptr_ptr'),
  },
  {
    name: 'local: made from a map value, written, read',
    text: `${local}\nr1 = r10\nr1 += -24\nr2 = 0\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 0\ncall 202\n${readInto(-24)}\n${out}`,
    want: OK,
  },
  {
    name: 'local: never released (no reference)',
    text: `${local}\n${out}`,
    want: OK,
  },
  {
    name: 'local: discarded as if a ring buffer one',
    text: `${local}\n${release(-24, 200)}\n${out}`,
    want: at(18, 'arg 1 is an unacquired reference'),
  },
  {
    name: 'local: made from stack memory',
    text: `r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -24\ncall 197\n${ret0}`,
    want: at(6, 'Unsupported reg type fp for bpf_dynptr_from_mem data'),
  },
  {
    name: 'local: made from a ring buffer record (only map values will do)',
    text: `r1 = map 0\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -24\ncall 197\nr1 = r6\nr2 = 0\ncall 132\n${out}`,
    want: at(12, 'Unsupported reg type ringbuf_mem for bpf_dynptr_from_mem data'),
  },
  {
    name: 'local: made again over itself',
    text: `${local}\nr1 = r7\nr2 = 32\nr3 = 0\nr4 = r10\nr4 += -24\ncall 197\n${readInto(-24)}\n${out}`,
    want: OK,
  },
  {
    name: 'local: a store into it destroys it',
    text: `${local}\nr1 = 0\n*(u64 *)(r10 - 16) = r1\n${readInto(-24)}\n${out}`,
    want: at(24, 'Expected an initialized dynptr as arg #2'),
  },
  {
    name: 'local: a store into it kills its slice',
    text: `${local}\n${data(-24)}\nif r0 == 0 goto out\nr6 = r0\nr1 = 0\n*(u64 *)(r10 - 24) = r1\nr1 = *(u64 *)(r6 + 0)\n${out}`,
    want: at(24, "R6 invalid mem access 'scalar'"),
  },
  {
    name: 'local: its slice, read and written',
    text: `${local}\n${data(-24, 16)}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 8)\n*(u64 *)(r0 + 0) = r1\n${out}`,
    want: OK,
  },
  {
    // The first path (walked first) is safe; the second has the two kinds the other way round, with as
    // many references: only the dynptr slots tell the states apart at the join.
    name: 'pruning: a ring buffer and a local dynptr, swapped on the second path, discarded after they join',
    text: `${lookupValue}\ncall 7\nif r0 == 0 goto second\n${reserve(-24)}\n${fromMem(-48)}\n${settle}\ngoto join\nsecond:\n${fromMem(-24)}\n${reserve(-48)}\njoin:\n${release(-24, 200)}\n${out}`,
    want: at(50, 'arg 1 is an unacquired reference'),
  },
];
