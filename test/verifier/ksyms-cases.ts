/**
 * `__ksym` ldimm64 programs (src/verifier/ksyms.ts), each with the verdict the running kernel (6.18) gives:
 * kernel variables and functions named by BTF id (BPF_PSEUDO_BTF_ID), found or not in the kernel's symbol
 * table, a function's address used as the read-only, zero-sized memory the kernel types it as, ids of the
 * wrong kind or none at all. `rN = ksym NAME` names a VAR or FUNC of the kernel's BTF, `rN = ksym #ID` an id
 * as is (`#btfid(S)`: struct S's); the rest is kfunc-cases.ts's syntax. A variable's verdict depends on the kernel's symbol
 * table (a kernel without CONFIG_KALLSYMS_ALL has no variable in it): the cases give both.
 */
import { readFileSync } from 'node:fs';
import { type Btf, BtfKind } from '../../src/btf/index.js';
import type { Instruction } from '../../src/isa/index.js';
import { BPF_PSEUDO_BTF_ID, OP_LDDW } from '../../src/isa/opcodes.js';
import { MapType, ProgType } from '../../src/uapi/types.js';
import { type VerifierMap, type VerifyResult, verifyInstructions } from '../../src/verifier/index.js';
import type { Want } from './expect.js';
import { TRACE_RAW_TP, TRACING, kfuncProgram } from './kfunc-cases.js';

/** One program and what the kernel says of it, when `name` (a variable) is in its symbol table and when not. */
export interface KsymCase {
  name: string;
  type: number;
  /** tp_btf programs: the tracepoint (BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP). */
  tp?: string;
  /** Loaded with BPF_F_SLEEPABLE (syscall programs must be). */
  sleepable?: boolean;
  maps?: VerifierMap[];
  text: string;
  /** The verdict; `ifFound` instead when the case's variable is in the symbol table (`found`). */
  want: Want;
  ifFound?: Want;
  /** The variable whose presence in the symbol table decides between `want` and `ifFound`. */
  found?: string;
}

const OK: Want = { ok: true };
const UNMODELLED: Want = { unmodelled: true };
const at = (pc: number, text: string): Want => ({
  pc,
  re: new RegExp(`^${text.replace(/[()[\]|+*?.{}']/g, '\\$&')}$`),
});

/** A marker the assembler carries in a ksym ldimm64's imm until ksymProgram puts the BTF id there. */
const MARK = 0x5a5a0000;

/** Assemble a case: each `rN = ksym NAME` (or `#ID`) becomes an ldimm64 of src_reg BPF_PSEUDO_BTF_ID. */
export function ksymProgram(btf: Btf, text: string): Instruction[] {
  const ids: number[] = [];
  const marked = text.replace(/(r\d+) = ksym (#?)([\w()]+)/g, (_, r: string, raw: string, name: string) => {
    const struct = /^btfid\((\w+)\)$/.exec(name)?.[1];
    let id = struct ? btf.byName(struct, BtfKind.STRUCT)!.id : Number(name);
    if (!raw) {
      const t = btf.byName(name, BtfKind.VAR) ?? btf.byName(name, BtfKind.FUNC);
      if (!t) throw new Error(`no variable or function ${name} in the kernel's BTF`);
      id = t.id;
    }
    ids.push(id);
    return `${r} = ${MARK + ids.length - 1} ll`;
  });
  return kfuncProgram(btf, marked).map((i) =>
    i.code === OP_LDDW && i.imm >= MARK && i.imm < MARK + ids.length
      ? { ...i, src: BPF_PSEUDO_BTF_ID, imm: ids[i.imm - MARK]!, imm2: 0 }
      : i,
  );
}

/** The running kernel's symbol table by name (addresses hidden or not), read once. */
let table: Set<string> | undefined;
/** Whether /proc/kallsyms lists `name`. */
export function inKallsyms(name: string): boolean {
  table ??= new Set(
    readFileSync('/proc/kallsyms', 'utf8')
      .split('\n')
      .map((l) => l.split(/\s+/)[2]!)
      .filter(Boolean),
  );
  return table.has(name);
}

/** What the case expects on this kernel. */
export const wantOf = (c: KsymCase): Want => (c.found && inKallsyms(c.found) ? c.ifFound! : c.want);

/** bpfkit's verdict on a case, the symbol table being the running kernel's. */
export function ksymVerdict(btf: Btf, c: KsymCase): VerifyResult {
  return verifyInstructions(ksymProgram(btf, c.text), {
    type: c.type,
    attachType: c.tp ? TRACE_RAW_TP : undefined,
    attachBtfName: c.tp ? `btf_trace_${c.tp}` : undefined,
    kernelBtf: btf,
    ksymFound: inKallsyms,
    sleepable: c.sleepable,
    maps: c.maps ?? [],
  });
}

const K = ProgType.KPROBE;
/** BPF_PROG_TYPE_SYSCALL. */
const SYSCALL = 31;
/** A task storage map of int values (BPF_F_NO_PREALLOC, as the kernel requires). */
const TASK_STORAGE: VerifierMap = {
  name: 'task_ls',
  type: MapType.TASK_STORAGE,
  keySize: 4,
  valueSize: 4,
  maxEntries: 0,
  readOnly: false,
};
/** bpf_this_cpu_ptr's and bpf_per_cpu_ptr's argument type, as the kernel lists it. */
const PERCPU = 'expected=percpu_ptr_, percpu_rcu_ptr_, percpu_trusted_ptr_';
const END = 'r0 = 0\nexit';

/** The cases. */
export const KSYM_CASES: readonly KsymCase[] = [
  {
    name: 'a per-CPU variable',
    type: K,
    text: `r1 = ksym bpf_prog_active\n${END}`,
    found: 'bpf_prog_active',
    want: at(0, "ldimm64 failed to find the address for kernel symbol 'bpf_prog_active'."),
    ifFound: UNMODELLED,
  },
  {
    name: 'a variable in dead code',
    type: K,
    text: `${END}\nr1 = ksym runqueues\n${END}`,
    found: 'runqueues',
    want: at(2, "ldimm64 failed to find the address for kernel symbol 'runqueues'."),
    ifFound: UNMODELLED,
  },
  {
    // The missing variable is found after the first ksym, a function, is resolved: in instruction order.
    name: 'a function then a variable',
    type: K,
    text: `r1 = ksym bpf_task_acquire\nr2 = ksym runqueues\n${END}`,
    found: 'runqueues',
    want: at(2, "ldimm64 failed to find the address for kernel symbol 'runqueues'."),
    ifFound: UNMODELLED,
  },
  // A kernel function's address is never NULL: the branch on it is decided, its other side never walked.
  {
    name: 'a function address tested against 0',
    type: K,
    text: `r1 = ksym bpf_task_acquire\nif r1 != 0 goto out\nr0 = r9\nexit\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'a function address tested equal to 0',
    type: K,
    text: `r1 = ksym bpf_task_acquire\nif r1 == 0 goto bad\n${END}\nbad:\nr0 = r9\nexit`,
    want: OK,
  },
  {
    name: 'a function address read',
    type: K,
    text: `r1 = ksym bpf_task_acquire\nr0 = *(u8 *)(r1 + 0)\n${END}`,
    want: at(2, 'R1 min value is outside of the allowed memory range'),
  },
  {
    name: 'a function address written',
    type: K,
    text: `r1 = ksym bpf_task_acquire\nr2 = 0\n*(u8 *)(r1 + 0) = r2\n${END}`,
    want: at(3, 'R1 cannot write into rdonly_mem'),
  },
  {
    name: 'a function address returned',
    type: K,
    text: 'r0 = ksym bpf_task_acquire\nexit',
    want: OK,
  },
  {
    name: 'a function address spilled and filled',
    type: K,
    text: `r1 = ksym bpf_task_acquire\n*(u64 *)(r10 - 8) = r1\nr2 = *(u64 *)(r10 - 8)\nif r2 != 0 goto out\nr0 = r9\nexit\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'a function address in dead code',
    type: K,
    text: `${END}\nr1 = ksym bpf_task_acquire\n${END}`,
    want: at(2, 'unreachable insn 2'),
  },
  {
    name: 'a struct id',
    type: K,
    text: `r1 = ksym #btfid(task_struct)\n${END}`,
    want: { pc: 0, re: /^pseudo btf_id \d+ in ldimm64 isn't KIND_VAR or KIND_FUNC$/ },
  },
  {
    name: 'an id past the BTF',
    type: K,
    text: `r1 = ksym #99999999\n${END}`,
    want: at(0, 'ldimm64 insn specifies invalid btf_id 99999999.'),
  },
  {
    name: 'id 0',
    type: K,
    text: `r1 = ksym #0\n${END}`,
    want: at(0, "pseudo btf_id 0 in ldimm64 isn't KIND_VAR or KIND_FUNC"),
  },
  {
    name: 'a function address in a socket filter',
    type: ProgType.SOCKET_FILTER,
    text: `r1 = ksym bpf_task_acquire\nif r1 != 0 goto out\nr0 = r9\nexit\nout:\n${END}`,
    want: OK,
  },
  // bpf_this_cpu_ptr (154) and bpf_per_cpu_ptr (153) take only a per-CPU BTF pointer: none of these is one.
  {
    name: 'a trusted task to bpf_this_cpu_ptr',
    type: TRACING,
    tp: 'task_newtask',
    text: 'r1 = *(u64 *)(r1 + 0)\ncall 154\nr0 = 0\nexit',
    want: at(1, `R1 type=trusted_ptr_ ${PERCPU}`),
  },
  {
    name: 'a walked task to bpf_per_cpu_ptr',
    type: TRACING,
    tp: 'task_newtask',
    text: 'r1 = *(u64 *)(r1 + 0)\nr1 = *(u64 *)(r1 + off(task_struct.group_leader))\nr2 = 0\ncall 153\nr0 = 0\nexit',
    want: at(3, `R1 type=rcu_ptr_ ${PERCPU}`),
  },
  {
    name: 'NULL to bpf_this_cpu_ptr',
    type: K,
    text: 'r1 = 0\ncall 154\nr0 = 0\nexit',
    want: at(1, `R1 type=scalar ${PERCPU}`),
  },
  {
    name: 'a function address to bpf_this_cpu_ptr',
    type: K,
    text: 'r1 = ksym bpf_task_acquire\ncall 154\nr0 = 0\nexit',
    want: at(2, `R1 type=rdonly_mem ${PERCPU}`),
  },
  // Sleepable (syscall) programs: kfuncs and BTF helper arguments given referenced or trusted pointers,
  // whose trust does not depend on an RCU read section (src/verifier/sleepable-calls.ts).
  {
    name: 'sleepable: a cgroup looked up and released',
    type: SYSCALL,
    sleepable: true,
    text: 'r1 = 1\ncall kfunc bpf_cgroup_from_id\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_cgroup_release\nout:\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: 'sleepable: a cgroup looked up and leaked',
    type: SYSCALL,
    sleepable: true,
    text: 'r1 = 1\ncall kfunc bpf_cgroup_from_id\nr0 = 0\nexit',
    want: at(3, 'BPF_EXIT instruction in main prog would lead to reference leak'),
  },
  {
    name: 'sleepable: a cgroup not checked for NULL',
    type: SYSCALL,
    sleepable: true,
    text: 'r1 = 1\ncall kfunc bpf_cgroup_from_id\nr1 = r0\ncall kfunc bpf_cgroup_release\nr0 = 0\nexit',
    want: at(3, 'Possibly NULL pointer passed to trusted arg0'),
  },
  {
    name: 'sleepable: the current task acquired and released',
    type: SYSCALL,
    sleepable: true,
    text: 'call 158\nr1 = r0\ncall kfunc bpf_task_acquire\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_task_release\nout:\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: 'sleepable: a cpumask created and released',
    type: SYSCALL,
    sleepable: true,
    text: 'call kfunc bpf_cpumask_create\nif r0 == 0 goto out\nr1 = r0\ncall kfunc bpf_cpumask_release\nout:\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: "sleepable: the current task's storage",
    type: SYSCALL,
    sleepable: true,
    maps: [TASK_STORAGE],
    text: 'call 158\nr2 = r0\nr1 = map 0\nr3 = 0\nr4 = 1\ncall 156\nr0 = 0\nexit',
    want: OK,
  },
  {
    name: "sleepable: a scalar's storage",
    type: SYSCALL,
    sleepable: true,
    maps: [TASK_STORAGE],
    text: 'r2 = 1\nr1 = map 0\nr3 = 0\nr4 = 1\ncall 156\nr0 = 0\nexit',
    want: at(5, 'R2 type=scalar expected=ptr_, trusted_ptr_, rcu_ptr_'),
  },
  {
    name: 'sleepable: an RCU section',
    type: SYSCALL,
    sleepable: true,
    text: 'call kfunc bpf_rcu_read_lock\ncall kfunc bpf_rcu_read_unlock\nr0 = 0\nexit',
    want: OK,
  },
];
