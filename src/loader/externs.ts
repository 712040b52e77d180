/**
 * Extern symbols resolved against the running kernel, as libbpf's bpf_object__resolve_externs does:
 *   - `.kconfig` variables get their values written into the `.kconfig` map (frozen, read-only to programs);
 *   - typed `.ksyms` variables become `lddw rX, BTF id` (BPF_PSEUDO_BTF_ID) of the kernel's variable;
 *   - typeless `.ksyms` become the symbol's address from /proc/kallsyms;
 *   - kfunc calls become calls by kernel BTF id (BPF_PSEUDO_KFUNC_CALL).
 * A `__weak` extern the kernel lacks becomes 0 (a kfunc call to it is poisoned: it fails only if reached,
 * which `bpf_ksym_exists()` guards prevent). A missing strong extern, or a value its type cannot hold,
 * is one line naming the object and the extern.
 */
import type { ExternSpec, MapSpec, ObjectSpec, ProgramSpec } from '../elf/spec.js';
import type { Btf } from '../btf/btf.js';
import { BtfKind } from '../btf/btf.js';
import { essentialName } from '../btf/core/access.js';
import { splitLddw } from '../isa/instruction.js';
import { BPF_PSEUDO_BTF_ID, BPF_PSEUDO_KFUNC_CALL, OP_LDDW } from '../isa/opcodes.js';
import { EnvironmentError, InputError } from '../util/errors.js';
import { KCONFIG_MAP } from '../elf/externs.js';
import { encodeKconfig } from './kconfig.js';
import { kernelVersionCode } from '../util/kernel-version.js';
import type { KernelEnv } from './kernel-env.js';

/** libbpf's POISON_CALL_KFUNC_BASE: a call to helper BASE + extern index marks an unresolved weak kfunc. */
export const KFUNC_POISON_BASE = 2002000000;

/**
 * Resolve every extern the spec's programs and `.kconfig` map use. A spec without externs comes back unchanged.
 * `engine` is who runs the programs: the feature externs (LINUX_HAS_BPF_COOKIE) say what that engine has.
 */
export function resolveExterns(spec: ObjectSpec, env: KernelEnv, engine: 'vm' | 'kernel' = 'kernel'): ObjectSpec {
  const externs = spec.externs ?? [];
  if (externs.length === 0) return spec;
  const source = spec.path ?? 'object';
  const maps = spec.maps.map((m) =>
    m.name === KCONFIG_MAP && m.section === '.kconfig' ? fillKconfig(m, spec, env, engine) : m,
  );
  const byName = new Map(externs.map((e, i) => [e.name, { e, i }]));
  const programs = spec.programs.map((p) => resolveProgram(p, byName, env, source));
  return { ...spec, maps, programs };
}

/** The raw value (as a config file spells it) of a `.kconfig` extern, or undefined for "leave it 0". */
function kconfigRaw(
  e: ExternSpec,
  env: KernelEnv,
  engine: 'vm' | 'kernel',
  where: string,
): { raw: string; from: string } | undefined {
  if (e.name === 'LINUX_KERNEL_VERSION') return { raw: String(kernelVersionCode(env.release)), from: 'uname' };
  if (e.name === 'LINUX_HAS_SYSCALL_WRAPPER') {
    // libbpf's probe: can a kprobe be put on the wrapped bpf() entry point? Both must be there.
    const kprobes = env.kconfig()?.values.get('CONFIG_KPROBES') === 'y';
    const wrapped = env.kallsyms(`${env.syscallPrefix}bpf`) !== undefined;
    // A number, as libbpf sets its virtual externs: an int, a bool or a char extern all take it.
    return { raw: kprobes && wrapped ? '1' : '0', from: '/proc/kallsyms and CONFIG_KPROBES' };
  }
  if (e.name === 'LINUX_HAS_BPF_COOKIE') return bpfCookie(env, engine);
  if (e.name.startsWith('LINUX_')) {
    if (e.weak) return undefined;
    throw new InputError(
      `unknown virtual .kconfig extern (libbpf knows LINUX_KERNEL_VERSION, LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE)`,
      where,
    );
  }
  const config = env.kconfig();
  if (!config) {
    if (e.weak) return undefined;
    throw new EnvironmentError(
      `${where}: needs the kernel's build configuration, and neither /proc/config.gz nor /boot/config-${env.release} is readable`,
    );
  }
  const raw = config.values.get(e.name);
  if (raw === undefined) {
    if (e.weak) return undefined;
    throw new InputError(`not set in ${config.source} (declare it __weak to read 0 when missing)`, where);
  }
  return { raw, from: config.source };
}

/**
 * LINUX_HAS_BPF_COOKIE: can the programs call bpf_get_attach_cookie? libbpf loads a probe program; the
 * kernel's BTF says the same without a syscall (the helper is in `enum bpf_func_id`), and without BTF the
 * release does (5.15 added it). The VM has no such helper: 0, so a program's guarded fallback runs there.
 */
function bpfCookie(env: KernelEnv, engine: 'vm' | 'kernel'): { raw: string; from: string } {
  if (engine === 'vm') return { raw: '0', from: 'the VM, which has no bpf_get_attach_cookie' };
  const btf = env.btf();
  if (btf) {
    const has = btf
      .idsNamed('bpf_func_id')
      .some((id) => btf.types[id]!.members.some((m) => m.name === 'BPF_FUNC_get_attach_cookie'));
    return { raw: has ? '1' : '0', from: "the kernel BTF's enum bpf_func_id" };
  }
  return { raw: kernelVersionCode(env.release) >= kernelVersionCode('5.15') ? '1' : '0', from: 'uname' };
}

function fillKconfig(m: MapSpec, spec: ObjectSpec, env: KernelEnv, engine: 'vm' | 'kernel'): MapSpec {
  const value = new Uint8Array(m.valueSize);
  for (const e of spec.externs ?? []) {
    if (e.kind !== 'kconfig') continue;
    const where = `${spec.path ?? 'object'}: .kconfig extern '${e.name}'`;
    const v = kconfigRaw(e, env, engine, where);
    if (!v) continue;
    value.set(encodeKconfig(e, v.raw, spec.endian, `${where} (${v.from})`), e.offset);
  }
  return { ...m, contents: [{ key: m.contents[0]!.key, value }], kconfigFilled: true };
}

/** The kernel BTF id of the type named `name` (or its essential name) of `kind`, or undefined. */
function kernelId(btf: Btf, name: string, kind: number): number | undefined {
  const wanted = essentialName(name);
  return btf.idsNamed(wanted).find((id) => btf.types[id]!.kind === kind);
}

function resolveProgram(
  p: ProgramSpec,
  byName: Map<string, { e: ExternSpec; i: number }>,
  env: KernelEnv,
  source: string,
): ProgramSpec {
  if (!p.externRefs || p.externRefs.length === 0) return p;
  const insns = p.insns.map((i) => ({ ...i }));
  /** Typed ksyms resolved: whether /proc/kallsyms lists each (ProgramSpec.ksymsFound). */
  const ksymsFound: Record<string, boolean> = {};
  const byPc = new Map<number, number>();
  insns.forEach((insn, i) => byPc.set(insn.pc, i));
  for (const ref of p.externRefs) {
    const found = byName.get(ref.name);
    const insn = insns[byPc.get(ref.pc) ?? -1];
    const where = `${source}: program '${p.name}' pc ${ref.pc}, extern '${ref.name}'`;
    if (!found || !insn) throw new InputError(`extern reference does not name an instruction and an extern`, where);
    const { e, i } = found;
    const needBtf = (): Btf | undefined => {
      const btf = env.btf();
      if (!btf && !e.weak)
        throw new EnvironmentError(
          `${where}: needs the kernel's BTF (/sys/kernel/btf/vmlinux), which this kernel does not publish`,
        );
      return btf;
    };
    if (e.kind === 'kfunc' && insn.code !== OP_LDDW) {
      const btf = needBtf();
      const id = btf ? kernelId(btf, e.name, BtfKind.FUNC) : undefined;
      if (id !== undefined) {
        Object.assign(insn, { src: BPF_PSEUDO_KFUNC_CALL, imm: id, off: 0 });
      } else if (e.weak) {
        Object.assign(insn, { src: 0, imm: KFUNC_POISON_BASE + i, off: 0 });
      } else {
        throw new InputError(`kfunc is not in the kernel's BTF`, where);
      }
    } else if (e.btfTypeId !== 0) {
      // a typed variable, or a kfunc's address (bpf_ksym_exists)
      const btf = needBtf();
      const id = btf ? kernelId(btf, e.name, e.kind === 'kfunc' ? BtfKind.FUNC : BtfKind.VAR) : undefined;
      if (id !== undefined) {
        if (ref.offset !== 0) throw new InputError(`a typed ksym cannot be used at an offset (${ref.offset})`, where);
        Object.assign(insn, { src: BPF_PSEUDO_BTF_ID, imm: id, imm2: 0 });
        // The kernel's verifier looks the address up by the BTF name; say whether its table has one.
        const kname = btf!.types[id]!.name;
        const has = env.hasSymbol?.(kname);
        if (has !== undefined) ksymsFound[kname] = has;
      } else if (e.weak) {
        Object.assign(insn, { src: 0, imm: 0, imm2: 0 });
      } else {
        throw new InputError(`no ${e.kind === 'kfunc' ? 'kfunc' : 'variable'} of that name in the kernel's BTF`, where);
      }
    } else {
      const addr = env.kallsyms(essentialName(e.name));
      if (addr === undefined && !e.weak)
        throw new InputError(`no such symbol in /proc/kallsyms (or its addresses are hidden: kptr_restrict)`, where);
      Object.assign(insn, { src: 0, ...splitLddw(addr === undefined ? 0n : addr + BigInt(ref.offset)) });
    }
  }
  const { externRefs: _, ...rest } = p;
  return Object.keys(ksymsFound).length ? { ...rest, insns, ksymsFound } : { ...rest, insns };
}
