/**
 * What a cls_bpf filter or act_bpf action runs: an eBPF program already loaded (its fd and the label tc shows,
 * "file.o:[section]"), or a classic BPF program handed to the kernel as instructions.
 */
import type { SockFilter } from '../cbpf/insn.js';

/** A loaded eBPF program: `fd` stays open until the filter is installed; `label` becomes TCA_BPF_NAME. */
export interface EbpfRef {
  kind: 'ebpf';
  fd: number;
  label: string;
}

/** A classic BPF program (tc's `bytecode` / `bytecode-file`), sent as TCA_BPF_OPS. */
export interface ClassicRef {
  kind: 'classic';
  insns: readonly SockFilter[];
}

/** Either kind of program a filter or action runs. */
export type BpfProgramRef = EbpfRef | ClassicRef;
