/**
 * Kernel symbols an `__ksym` extern names: an ldimm64 with src_reg BPF_PSEUDO_BTF_ID carries the id of a
 * VAR or FUNC in the kernel's BTF (imm) and of the BTF object holding it (the second half's imm: 0 for
 * vmlinux). The kernel (check_pseudo_btf_id, from resolve_pseudo_ldimm64: every such instruction, dead code's
 * too, in order, before check_cfg) checks the id's kind, then asks its own symbol table for the address
 * (kallsyms_lookup_name) and refuses the program when it has none: a kernel built without
 * CONFIG_KALLSYMS_ALL lists functions only, so every variable misses there. A function's address is
 * read-only memory of size 0 (PTR_TO_MEM | MEM_RDONLY), the shape `bpf_ksym_exists()` tests; a variable's
 * register is typed by its BTF (per-CPU, struct or plain memory), which bpfkit does not model: on a
 * kernel whose symbol table has no variables it could not be checked against one. The kernel's BTF also
 * names the helpers (enum bpf_func_id), as its refusals do.
 */
import type { Instruction } from '../isa/instruction.js';
import { BtfKind, type Btf } from '../btf/index.js';
import { ksymUnmodelled } from './hook-helpers.js';
import { Rejection } from './reject.js';
import { type Reg, ptrReg } from './state.js';

/**
 * Whether the target kernel's symbol table has an address for a symbol (VerifyOptions.ksymFound):
 * undefined when that is not known.
 */
export type KsymFound = (name: string) => boolean | undefined;

/**
 * check_pseudo_btf_id for the ldimm64 `insn` (src_reg BPF_PSEUDO_BTF_ID), before the walk: the kernel's
 * refusal, or a Rejection saying what bpfkit does not model; returns when the walk may type the register
 * (ksymReg). `btf` is the kernel's, `found` asks the kernel's symbol table.
 */
export function ksymResolve(insn: Instruction, btf: Btf | undefined, found: KsymFound | undefined): void {
  const pc = insn.pc;
  // A module's BTF, by fd: its ids are not the vmlinux BTF's bpfkit was given.
  if (insn.imm2 !== 0)
    throw new Rejection(
      pc,
      `ldimm64 of a kernel module's symbol (BTF fd ${insn.imm2}): bpfkit does not model module BTF`,
    );
  if (!btf) throw new Rejection(pc, ksymUnmodelled(insn.imm, btf));
  // Id 0 is `void`: a type, of the wrong kind.
  const t = insn.imm >= 0 ? btf.types[insn.imm] : undefined;
  if (!t) throw new Rejection(pc, `ldimm64 insn specifies invalid btf_id ${insn.imm}.`);
  if (t.kind !== BtfKind.VAR && t.kind !== BtfKind.FUNC)
    throw new Rejection(pc, `pseudo btf_id ${insn.imm} in ldimm64 isn't KIND_VAR or KIND_FUNC`);
  const has = found?.(t.name);
  if (has === false) throw new Rejection(pc, `ldimm64 failed to find the address for kernel symbol '${t.name}'.`);
  if (has === undefined || t.kind !== BtfKind.FUNC) throw new Rejection(pc, ksymUnmodelled(insn.imm, btf));
}

/** The register check_ld_imm gives a kernel function's ksym (ksymResolve let only those through). */
export function ksymReg(): Reg {
  return ptrReg('mem', { size: 0, rdonly: true });
}

/**
 * The name of helper `id` as the kernel's BTF spells it in `enum bpf_func_id` (`BPF_FUNC_<name>`), which
 * the kernel's refusals print; undefined without BTF or when it has no such value.
 */
export function helperNameInBtf(btf: Btf | undefined, id: number): string | undefined {
  for (const tid of btf?.idsNamed('bpf_func_id') ?? []) {
    const m = btf!.types[tid]!.members.find((x) => x.offset === id && x.name.startsWith('BPF_FUNC_'));
    if (m) return m.name.slice('BPF_FUNC_'.length);
  }
  return undefined;
}
