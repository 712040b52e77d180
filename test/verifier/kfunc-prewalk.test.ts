/**
 * add_kfunc_call's checks before the walk, on every kfunc call instruction, dead code's too: the license,
 * a callee the kernel's BTF has as a function with a prototype, no XDP metadata kfunc outside a
 * device-bound program. A call with id 0 waits for dead code elimination and is refused only when live.
 * bpfkit's verdict is held to each expectation; as root the running kernel judges every program too.
 */
import { test } from 'node:test';
import { BtfKind } from '../../src/btf/index.js';
import { ProgType } from '../../src/uapi/types.js';
import { verifyInstructions } from '../../src/verifier/index.js';
import { needs } from '../support/env.js';
import { kernelBtf, skipWithoutBtf } from './kernel-btf.js';
import { kernelVerdictRaw } from './kernel-oracle.js';
import { type Want, assertKernelAgrees, assertWant } from './expect.js';
import { sockProgram } from './sock-ptr-cases.js';

const OK: Want = { ok: true };
/** A refusal at `pc` (the kernel names none before its walk: the call's, as bpfkit says). */
const says = (text: string, pc = 2): Want => ({ pc, re: new RegExp(`^${text}$`) });
/** A call in dead code: `if r0 == 0` is always taken. */
const dead = (call: string) => `r0 = 0\nif r0 == 0 goto +1\n${call}\nr0 = 0\nexit`;

const CASES: { name: string; text: string; license?: string; want: Want }[] = [
  {
    name: 'a call to a type that is no function, in dead code',
    text: dead('call kfunc 1'),
    want: says('kernel btf_id 1 is not a function'),
  },
  {
    name: 'a metadata kfunc in dead code',
    text: dead('call kfunc bpf_xdp_metadata_rx_hash'),
    want: says('metadata kfuncs require device-bound program'),
  },
  {
    name: 'the first bad call is the one named',
    text: 'r0 = 0\nif r0 == 0 goto +2\ncall kfunc 1\ncall kfunc bpf_xdp_metadata_rx_hash\nr0 = 0\nexit',
    want: says('kernel btf_id 1 is not a function'),
  },
  { name: 'a kfunc in dead code', text: dead('call kfunc bpf_task_acquire'), want: OK },
  { name: 'id 0 in dead code', text: dead('call kfunc 0'), want: OK },
  {
    name: 'id 0 reached',
    text: 'call kfunc 0\nr0 = 0\nexit',
    want: says('invalid kernel function call not eliminated in verifier pass', 0),
  },
  {
    name: 'a kfunc in dead code of a non-GPL program',
    text: dead('call kfunc bpf_task_acquire'),
    license: 'MIT',
    want: says('cannot call kernel function from non-GPL compatible program'),
  },
];

/** The case's instructions, its kfuncs named by their ids in `btf`. */
const program = (btf: ReturnType<typeof kernelBtf>, text: string) =>
  sockProgram(
    text.replace(/call kfunc ([a-z_]\w*)/g, (_, n: string) => `call kfunc ${btf.byName(n, BtfKind.FUNC)!.id}`),
  );

test('kfunc calls before the walk: bpfkit says what each case expects', (t) => {
  if (skipWithoutBtf(t)) return;
  const btf = kernelBtf();
  for (const c of CASES)
    assertWant(
      c.name,
      verifyInstructions(program(btf, c.text), { type: ProgType.XDP, kernelBtf: btf, license: c.license ?? 'GPL' }),
      c.want,
    );
});

test('kfunc calls before the walk: the running kernel says the same (root)', (t) => {
  if (skipWithoutBtf(t) || !needs(t, { root: true })) return;
  const btf = kernelBtf();
  for (const c of CASES) {
    const insns = program(btf, c.text);
    const k = kernelVerdictRaw(insns, ProgType.XDP, [], undefined, undefined, 0, c.license ?? 'GPL');
    assertKernelAgrees(
      c.name,
      verifyInstructions(insns, { type: ProgType.XDP, kernelBtf: btf, license: c.license ?? 'GPL' }),
      k,
    );
  }
});
