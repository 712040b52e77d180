/**
 * Open-coded iterator programs (src/verifier/iter-kfunc.ts), each with the verdict the running kernel
 * (6.18) gives: bpf_iter_num loops (sums, nested loops, an early break, a counter the loop widens),
 * bpf_iter_bits, and the refusals (a leaked iterator, use after destroy, a second _new, reads and writes
 * through the element out of bounds or into read-only memory, reads of the iterator's own slots, an
 * infinite loop inside an iteration, a drained iterator's NULL). `kcall NAME` is a kfunc call, relocated
 * by the kernel BTF's id for NAME; `label:` lines and `goto label` keep the offsets readable.
 */
import { type Btf, BtfKind } from '../../src/btf/index.js';
import type { Instruction } from '../../src/isa/index.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import { ProgType } from '../../src/uapi/types.js';
import type { Want } from './expect.js';
import { sockProgram } from './sock-ptr-cases.js';

/** One program and what the kernel says of it. */
export interface IterCase {
  name: string;
  type: number;
  text: string;
  maps?: VerifierMap[];
  want: Want;
}

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });
const UNMODELLED: Want = { unmodelled: true };

/** A helper id no helper has: the placeholder `kcall` lines assemble to before they are relocated. */
const PLACEHOLDER = 99999;

/** Assemble `text` (sockProgram's syntax), each `kcall NAME` a call of the kernel function NAME. */
export function iterProgram(text: string, btf: Btf): Instruction[] {
  const names: string[] = [];
  const plain = text.replace(/kcall (\w+)/g, (_, name: string) => {
    names.push(name);
    return `call ${PLACEHOLDER}`;
  });
  const insns = sockProgram(plain);
  let n = 0;
  for (const i of insns)
    if (i.code === 0x85 && i.src === 0 && i.imm === PLACEHOLDER) {
      const f = btf.byName(names[n++]!, BtfKind.FUNC);
      if (!f) throw new Error(`no kernel function ${names[n - 1]}`);
      Object.assign(i, { src: 2, imm: f.id });
    }
  return insns;
}

const fp = (off: number) => `r1 = r10\nr1 += ${off}`;
const NEW = (off: number, a: number, b: number) => `${fp(off)}\nr2 = ${a}\nr3 = ${b}\nkcall bpf_iter_num_new`;
const NEXT = (off: number) => `${fp(off)}\nkcall bpf_iter_num_next`;
const DESTROY = (off: number) => `${fp(off)}\nkcall bpf_iter_num_destroy`;
const EXIT = 'r0 = 0\nexit';

const SF = ProgType.SOCKET_FILTER;

/** A program array and a hash map of 8-byte values. */
const MAPS: VerifierMap[] = [
  { name: 'progs', type: 3, keySize: 4, valueSize: 4, maxEntries: 1, readOnly: false },
  { name: 'hash', type: 1, keySize: 4, valueSize: 8, maxEntries: 4, readOnly: false },
];

/** An array of one struct { int cnt; struct bpf_spin_lock l; }. */
const LOCKS: VerifierMap = {
  name: 'locks',
  type: 2,
  keySize: 4,
  valueSize: 8,
  maxEntries: 1,
  readOnly: false,
  kernelFields: [{ off: 4, size: 4, what: 'struct bpf_spin_lock' }],
};

/** The cases, kernel-checked by iter-kfunc.test.ts. */
export const ITER_CASES: IterCase[] = [
  {
    name: 'bpf_for: a sum of the elements',
    type: SF,
    text: `r6 = 0\n${NEW(-8, 0, 10)}\nloop:\n${NEXT(-8)}\nif r0 == 0 goto done\nr1 = *(u32 *)(r0 + 0)\nr6 += r1\ngoto loop\ndone:\n${DESTROY(-8)}\nr0 = r6\nr0 &= 1\nexit`,
    want: OK,
  },
  {
    name: 'bpf_repeat: a counter the loop widens',
    type: SF,
    text: `r6 = 0\n${NEW(-8, 0, 1000)}\nloop:\n${NEXT(-8)}\nif r0 == 0 goto done\nr6 += 1\ngoto loop\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: OK,
  },
  {
    name: 'nested loops, two iterators',
    type: SF,
    text: `${NEW(-8, 0, 3)}\nouter:\n${NEXT(-8)}\nif r0 == 0 goto odone\n${NEW(-16, 0, 4)}\ninner:\n${NEXT(-16)}\nif r0 == 0 goto idone\ngoto inner\nidone:\n${DESTROY(-16)}\ngoto outer\nodone:\n${DESTROY(-8)}\n${EXIT}`,
    want: OK,
  },
  {
    name: 'an early break, then destroy',
    type: SF,
    text: `${NEW(-8, 0, 10)}\nloop:\n${NEXT(-8)}\nif r0 == 0 goto done\nr1 = *(u32 *)(r0 + 0)\nif r1 > 5 goto done\ngoto loop\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: OK,
  },
  {
    name: 'bpf_iter_bits: two slots at fp-16',
    type: SF,
    text: `r1 = r10\nr1 += -16\nr2 = 0\nr3 = 1\nkcall bpf_iter_bits_new\nloop:\nr1 = r10\nr1 += -16\nkcall bpf_iter_bits_next\nif r0 == 0 goto done\nr1 = *(u32 *)(r0 + 0)\ngoto loop\ndone:\nr1 = r10\nr1 += -16\nkcall bpf_iter_bits_destroy\n${EXIT}`,
    want: OK,
  },
  {
    name: 'bpf_iter_bits at fp-8: no room for its two slots',
    type: SF,
    text: `r1 = r10\nr1 += -8\nr2 = 0\nr3 = 1\nkcall bpf_iter_bits_new\n${EXIT}`,
    want: at(4, 'expected uninitialized iter_bits as arg #0'),
  },
  {
    name: 'a leaked iterator',
    type: SF,
    text: `${NEW(-8, 0, 10)}\n${EXIT}`,
    want: at(6, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'a leak after the loop',
    type: SF,
    text: `${NEW(-8, 0, 10)}\nloop:\n${NEXT(-8)}\nif r0 == 0 goto done\ngoto loop\ndone:\n${EXIT}`,
    want: at(11, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'next after destroy',
    type: SF,
    text: `${NEW(-8, 0, 10)}\n${DESTROY(-8)}\n${NEXT(-8)}\n${EXIT}`,
    want: at(10, 'expected an initialized iter_num as arg #0'),
  },
  {
    name: 'a second new on a live iterator',
    type: SF,
    text: `${NEW(-8, 0, 10)}\n${NEW(-8, 0, 10)}\n${EXIT}`,
    want: at(9, 'expected uninitialized iter_num as arg #0'),
  },
  {
    name: 'next without new',
    type: SF,
    text: `${NEXT(-8)}\n${EXIT}`,
    want: at(2, 'expected an initialized iter_num as arg #0'),
  },
  {
    name: 'a misaligned iterator',
    type: SF,
    text: `${NEW(-12, 0, 10)}\n${EXIT}`,
    want: at(4, 'expected uninitialized iter_num as arg #0'),
  },
  {
    name: 'NULL as the iterator',
    type: SF,
    text: `r1 = 0\nr2 = 0\nr3 = 1\nkcall bpf_iter_num_new\n${EXIT}`,
    want: at(3, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'NULL as the bits iterator',
    type: SF,
    text: `r1 = 0\nr2 = 0\nr3 = 1\nkcall bpf_iter_bits_new\n${EXIT}`,
    want: at(3, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'a scalar as the iterator',
    type: SF,
    text: `r1 = 1\nr2 = 0\nr3 = 1\nkcall bpf_iter_num_new\n${EXIT}`,
    want: at(3, 'arg#0 expected pointer to an iterator on stack'),
  },
  {
    name: 'the context as the iterator',
    type: SF,
    text: `r2 = 0\nr3 = 1\nkcall bpf_iter_num_new\n${EXIT}`,
    want: at(2, 'arg#0 expected pointer to an iterator on stack'),
  },
  {
    name: 'the context moved, as the iterator',
    type: SF,
    text: `r1 += 8\nr2 = 0\nr3 = 1\nkcall bpf_iter_num_new\n${EXIT}`,
    want: at(3, 'dereference of modified ctx ptr R1 off=8 disallowed'),
  },
  {
    name: 'the iterator below the stack',
    type: SF,
    text: `${NEW(-520, 0, 10)}\n${EXIT}`,
    want: at(4, 'invalid write to stack R1 off=-520 size=8'),
  },
  {
    name: 'a pointer as the start',
    type: SF,
    text: `${fp(-8)}\nr2 = r10\nr3 = 1\nkcall bpf_iter_num_new\n${EXIT}`,
    want: at(4, 'R2 is not a scalar'),
  },
  {
    name: "reading the iterator's slot",
    type: SF,
    text: `${NEW(-8, 0, 10)}\nr1 = *(u64 *)(r10 - 8)\n${DESTROY(-8)}\n${EXIT}`,
    want: at(5, 'invalid read from stack off -8+0 size 8'),
  },
  {
    name: "overwriting the iterator's slot, then destroy",
    type: SF,
    text: `${NEW(-8, 0, 10)}\nr1 = 0\n*(u64 *)(r10 - 8) = r1\n${DESTROY(-8)}\n${EXIT}`,
    want: at(9, 'expected an initialized iter_num as arg #0'),
  },
  {
    name: 'the element read out of bounds',
    type: SF,
    text: `${NEW(-8, 0, 10)}\n${NEXT(-8)}\nif r0 == 0 goto done\nr1 = *(u32 *)(r0 + 4)\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: at(9, 'R0 min value is outside of the allowed memory range'),
  },
  {
    name: 'the element written',
    type: SF,
    text: `${NEW(-8, 0, 10)}\n${NEXT(-8)}\nif r0 == 0 goto done\nr1 = 1\n*(u32 *)(r0 + 0) = r1\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: at(10, 'R0 cannot write into rdonly_mem'),
  },
  {
    name: 'the element without a NULL check',
    type: SF,
    text: `${NEW(-8, 0, 10)}\n${NEXT(-8)}\nr1 = *(u32 *)(r0 + 0)\n${DESTROY(-8)}\n${EXIT}`,
    want: at(8, "R0 invalid mem access 'scalar'"),
  },
  {
    name: 'an element pointer kept past destroy',
    type: SF,
    text: `${NEW(-8, 0, 10)}\n${NEXT(-8)}\nr6 = r0\n${DESTROY(-8)}\nif r6 == 0 goto out\nr1 = *(u32 *)(r6 + 0)\nout:\n${EXIT}`,
    want: at(13, "R6 invalid mem access 'scalar'"),
  },
  {
    name: 'an infinite loop inside an iteration',
    type: SF,
    text: `${NEW(-8, 0, 10)}\nloop:\n${NEXT(-8)}\nif r0 == 0 goto done\ncall 7\nr6 = r0\nr6 <<= 32\nspin:\nif r6 == 0 goto loop\nr6 += -1\nr6 |= 1\ngoto spin\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: at(12, 'infinite loop detected at insn 12'),
  },
  {
    name: 'a loop whose unsafe access needs a later iteration',
    type: SF,
    text: `r6 = 0\n${NEW(-8, 0, 10)}\nloop:\n${NEXT(-8)}\nif r0 == 0 goto done\nr1 = r10\nr1 += r6\nr1 += -16\nr2 = *(u64 *)(r1 + 0)\nr6 += -8\ngoto loop\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: at(13, 'invalid read from stack R1 off=-520 size=8'),
  },
  {
    name: 'a subprogram leaves its iterator alive',
    type: SF,
    text: `call sub\n${EXIT}\nsub:\n${NEW(-8, 0, 3)}\n${EXIT}`,
    want: at(2, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: "a subprogram loops over its caller's iterator",
    type: SF,
    text: `${NEW(-8, 0, 3)}\n${fp(-8)}\ncall sub\n${DESTROY(-8)}\n${EXIT}\nsub:\nr6 = r1\nloop:\nr1 = r6\nkcall bpf_iter_num_next\nif r0 == 0 goto done\ngoto loop\ndone:\n${EXIT}`,
    want: OK,
  },
  {
    name: "a subprogram destroys its caller's iterator",
    type: SF,
    text: `${NEW(-8, 0, 3)}\n${fp(-8)}\ncall sub\n${EXIT}\nsub:\nkcall bpf_iter_num_destroy\n${EXIT}`,
    want: OK,
  },
  {
    name: 'paths with and without an iterator join',
    type: SF,
    text: `call 7\nr6 = r0\nif r6 > 5 goto skip\n${NEW(-8, 0, 3)}\n${DESTROY(-8)}\nskip:\n${EXIT}`,
    want: OK,
  },
  {
    name: 'an ACTIVE and a fresh iterator join',
    type: SF,
    text: `call 7\nr6 = r0\n${NEW(-8, 0, 3)}\nif r6 > 5 goto a\n${NEXT(-8)}\na:\n${DESTROY(-8)}\n${EXIT}`,
    want: OK,
  },
  {
    name: 'a narrow store into the iterator, then destroy',
    type: SF,
    text: `${NEW(-8, 0, 3)}\n*(u32 *)(r10 - 4) = 1\n${DESTROY(-8)}\n${EXIT}`,
    want: at(8, 'expected an initialized iter_num as arg #0'),
  },
  {
    name: 'a store over the iterator leaks its reference',
    type: SF,
    text: `${NEW(-8, 0, 3)}\n*(u8 *)(r10 - 8) = 1\n${EXIT}`,
    want: at(7, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'a drained iterator gives NULL again',
    type: SF,
    text: `${NEW(-8, 0, 3)}\nloop:\n${NEXT(-8)}\nif r0 == 0 goto done\ngoto loop\ndone:\n${NEXT(-8)}\nr1 = *(u32 *)(r0 + 0)\n${DESTROY(-8)}\n${EXIT}`,
    want: at(13, "R0 invalid mem access 'scalar'"),
  },
  {
    name: 'an iterator over a spilled pointer',
    type: SF,
    text: `r1 = r10\n*(u64 *)(r10 - 8) = r1\n${NEW(-8, 0, 3)}\n${DESTROY(-8)}\n${EXIT}`,
    want: OK,
  },
  {
    name: 'arithmetic on the element',
    type: SF,
    text: `${NEW(-8, 0, 3)}\n${NEXT(-8)}\nif r0 == 0 goto done\nr0 += 2\nr1 = *(u16 *)(r0 + 0)\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: OK,
  },
  {
    name: 'an element kept past the NULL that drained the iterator',
    type: SF,
    text: `${NEW(-8, 0, 3)}\n${NEXT(-8)}\nr6 = r0\n${NEXT(-8)}\nif r6 == 0 goto done\nr1 = *(u32 *)(r6 + 0)\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: OK,
  },
  {
    name: "a variable-offset read reaching the iterator's slot",
    type: SF,
    text: `${NEW(-8, 0, 100)}\nloop:\n${NEXT(-8)}\nif r0 == 0 goto done\nr1 = *(u32 *)(r0 + 0)\nif r1 > 7 goto loop\nr2 = r10\nr2 += -64\nr1 <<= 3\nr2 += r1\nr3 = *(u64 *)(r2 + 0)\ngoto loop\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: at(15, 'invalid read from stack R2 var_off (0x0; 0x38)+56 size 8'),
  },
  {
    name: 'bpf_iter_num kfuncs while a spin lock is held',
    type: ProgType.SCHED_CLS,
    maps: [LOCKS],
    text: `r1 = 0\n*(u32 *)(r10 - 16) = r1\nr2 = r10\nr2 += -16\nr1 = map 0\ncall 1\nif r0 == 0 goto out\nr6 = r0\nr1 = r6\nr1 += 4\ncall 93\n${NEW(-8, 0, 3)}\nr1 = r6\nr1 += 4\ncall 94\n${DESTROY(-8)}\nout:\n${EXIT}`,
    want: OK,
  },
  {
    name: 'a bits iterator kfunc while a spin lock is held',
    type: ProgType.SCHED_CLS,
    maps: [LOCKS],
    text: `r1 = 0\n*(u32 *)(r10 - 16) = r1\nr2 = r10\nr2 += -16\nr1 = map 0\ncall 1\nif r0 == 0 goto out\nr6 = r0\nr1 = r6\nr1 += 4\ncall 93\nr1 = r10\nr1 += -8\nr2 = 0\nr3 = 1\nkcall bpf_iter_bits_new\nr1 = r6\nr1 += 4\ncall 94\nout:\n${EXIT}`,
    want: at(16, 'function calls are not allowed while holding a lock'),
  },
  {
    name: 'a helper reads the iterator',
    type: SF,
    text: `${NEW(-8, 0, 3)}\n${fp(-8)}\nr2 = 8\ncall 6\n${DESTROY(-8)}\n${EXIT}`,
    want: at(8, 'invalid read from stack R1 off -8+0 size 8'),
  },
  {
    name: 'a map key reaching into the iterator',
    type: SF,
    maps: MAPS,
    text: `${NEW(-8, 0, 3)}\nr1 = 0\n*(u16 *)(r10 - 10) = r1\nr1 = map 1\nr2 = r10\nr2 += -10\ncall 1\n${DESTROY(-8)}\n${EXIT}`,
    want: at(11, 'invalid read from stack R2 off -10+2 size 4'),
  },
  {
    name: 'a tail call with a live iterator',
    type: SF,
    maps: MAPS,
    text: `r6 = r1\n${NEW(-8, 0, 3)}\nr1 = r6\nr2 = map 0\nr3 = 0\ncall 12\n${DESTROY(-8)}\n${EXIT}`,
    want: at(10, 'tail_call would lead to reference leak'),
  },
  {
    name: 'LD_ABS with a live iterator',
    type: SF,
    text: `r6 = r1\n${NEW(-8, 0, 3)}\nr0 = *(u8 *)skb[0]\n${DESTROY(-8)}\n${EXIT}`,
    want: at(6, 'BPF_LD_[ABS|IND] would lead to reference leak'),
  },
  {
    name: 'an atomic add into the element',
    type: SF,
    text: `${NEW(-8, 0, 3)}\n${NEXT(-8)}\nif r0 == 0 goto done\nr1 = 1\nlock *(u32 *)(r0 + 0) += r1\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: at(10, 'R0 cannot write into rdonly_mem'),
  },
  {
    name: 'an iterator at a variable offset',
    type: SF,
    text: `call 7\nr0 &= 8\nr1 = r10\nr1 += -16\nr1 += r0\nr2 = 0\nr3 = 3\nkcall bpf_iter_num_new\n${EXIT}`,
    want: at(7, 'expected uninitialized iter_num as arg #0'),
  },
  {
    name: 'a maybe-NULL map value as the iterator',
    type: SF,
    maps: MAPS,
    text: `r1 = 0\n*(u32 *)(r10 - 16) = r1\nr2 = r10\nr2 += -16\nr1 = map 1\ncall 1\nr1 = r0\nr2 = 0\nr3 = 3\nkcall bpf_iter_num_new\n${EXIT}`,
    want: at(10, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'the iterator pointer spilled and filled',
    type: SF,
    text: `${NEW(-8, 0, 3)}\n${fp(-8)}\n*(u64 *)(r10 - 16) = r1\nr1 = *(u64 *)(r10 - 16)\nkcall bpf_iter_num_destroy\n${EXIT}`,
    want: OK,
  },
  {
    name: 'the element passed to a helper: not modelled',
    type: SF,
    text: `${NEW(-8, 0, 10)}\n${NEXT(-8)}\nif r0 == 0 goto done\nr1 = r0\nr2 = 4\ncall 6\ndone:\n${DESTROY(-8)}\n${EXIT}`,
    want: UNMODELLED,
  },
];
