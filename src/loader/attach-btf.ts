/**
 * attach_btf_id for tracing, LSM and iterator programs, as libbpf's libbpf_find_attach_btf_id finds it:
 * the kernel BTF type a section names (tp_btf/NAME -> typedef btf_trace_NAME; lsm/NAME -> func
 * bpf_lsm_NAME; iter/NAME -> func bpf_iter_NAME; fentry/fexit/fmod_ret/NAME -> func NAME). The kernel
 * engine passes the id to BPF_PROG_LOAD; a target the kernel lacks is refused here, in one line.
 */
import type { ObjectSpec } from '../elf/spec.js';
import { BtfKind } from '../btf/btf.js';
import { EnvironmentError, InputError } from '../util/errors.js';
import type { KernelEnv } from './kernel-env.js';

/** Fill `attachBtfId` of every program that names a kernel BTF attach target. */
export function resolveAttachTargets(spec: ObjectSpec, env: KernelEnv): ObjectSpec {
  if (!spec.programs.some((p) => p.attachBtf && p.attachBtfId === undefined)) return spec;
  const source = spec.path ?? 'object';
  const programs = spec.programs.map((p) => {
    if (!p.attachBtf || p.attachBtfId !== undefined) return p;
    const where = `${source}: program '${p.name}' in section '${p.section}'`;
    const { target, typeName, kind } = p.attachBtf;
    if (target === '') throw new InputError(`the section names no attach target (${p.section}/NAME)`, where);
    const btf = env.btf();
    if (!btf)
      throw new EnvironmentError(
        `${where}: attaching to '${target}' needs the kernel's BTF (/sys/kernel/btf/vmlinux), which this kernel does not publish`,
      );
    const btfKind = kind === 'typedef' ? BtfKind.TYPEDEF : BtfKind.FUNC;
    const id = btf.idsNamed(typeName).find((i) => btf.types[i]!.kind === btfKind);
    if (id === undefined) throw new InputError(`the kernel's BTF has no ${kind} '${typeName}' to attach to`, where);
    return { ...p, attachBtfId: id };
  });
  return { ...spec, programs };
}
