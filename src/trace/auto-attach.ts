/**
 * Where a program's section name says to attach it, as libbpf's auto-attach reads section names — pure,
 * so `BPF.attachAll` can refuse an object before attaching any of it. Sections that name no target
 * (`socket`, `xdp`, `tc`, `cgroup/...`, a bare `tp` or `uprobe`) are attached another way, by a call that
 * names the target; libbpf's auto-attach leaves them alone too. Tracing sections bpfkit has no link for
 * (kprobe.multi, uprobe.multi, the session kinds, iterators) are refused: attaching the rest and saying
 * nothing would leave a program that never runs.
 */

/** What `autoAttachOf` found in a section name. */
export type AutoAttach =
  | { kind: 'tracepoint'; category: string; name: string }
  | { kind: 'raw_tracepoint'; name: string }
  /** tp_btf, fentry/fexit/fmod_ret, lsm: the loader resolved the target into attach_btf_id. */
  | { kind: 'btf' }
  | { kind: 'uprobe'; binary: string; symbol: string; retprobe: boolean }
  | { kind: 'usdt'; binary: string; provider: string; name: string }
  | { kind: 'kprobe'; fn: string; retprobe: boolean }
  /** ksyscall/NAME: a kprobe on the syscall's entry point, whose name depends on the kernel. */
  | { kind: 'ksyscall'; syscall: string; retprobe: boolean }
  | { kind: 'unsupported'; why: string }
  /** The section names no target: the program is attached by a call that names one. */
  | { kind: 'none' };

const MULTI_LINK = /^(k|u)(?:ret)?probe\.(multi|session)(?:\.s)?(?:\/|$)/;

/** The attach point `section` names (libbpf's section syntax), or why bpfkit cannot attach it. */
export function autoAttachOf(section: string): AutoAttach {
  let m: RegExpExecArray | null;
  if ((m = /^(?:tracepoint|tp)\/(.*)$/.exec(section))) {
    const parts = /^([^/]+)\/([^/]+)$/.exec(m[1]!);
    if (parts) return { kind: 'tracepoint', category: parts[1]!, name: parts[2]! };
    return { kind: 'unsupported', why: `names no tracepoint: the form is tp/CATEGORY/NAME` };
  }
  if ((m = /^(?:raw_tracepoint|raw_tp)(?:\.w)?\/(.+)$/.exec(section))) return { kind: 'raw_tracepoint', name: m[1]! };
  if (/^(?:tp_btf|fentry|fexit|fmod_ret|lsm)(?:\.s)?\/.+$/.test(section)) return { kind: 'btf' };
  if ((m = MULTI_LINK.exec(section))) {
    const [what, how] = m[1] === 'k' ? ['kprobe', 'attachKprobe per function'] : ['uprobe', 'attachUprobe per symbol'];
    return {
      kind: 'unsupported',
      why: `bpfkit does not create ${what}.${m[2]} links (BPF_LINK_CREATE with a list of targets); attach with ${how}`,
    };
  }
  if ((m = /^(uprobe|uretprobe)(?:\.s)?\/(.*)$/.exec(section))) {
    const target = /^(.+):([^:]+)$/.exec(m[2]!);
    if (!target) return { kind: 'unsupported', why: `names no probe: the form is ${m[1]}/BINARY:SYMBOL` };
    return { kind: 'uprobe', binary: target[1]!, symbol: target[2]!, retprobe: m[1] === 'uretprobe' };
  }
  if ((m = /^usdt(?:\.s)?\/(.*)$/.exec(section))) {
    const target = /^(.+):([^:]+):([^:]+)$/.exec(m[1]!);
    if (!target) return { kind: 'unsupported', why: 'names no probe: the form is usdt/BINARY:PROVIDER:NAME' };
    return { kind: 'usdt', binary: target[1]!, provider: target[2]!, name: target[3]! };
  }
  if ((m = /^(kprobe|kretprobe)\/(.+)$/.exec(section)))
    return { kind: 'kprobe', fn: m[2]!, retprobe: m[1] === 'kretprobe' };
  if ((m = /^(ksyscall|kretsyscall)\/(.+)$/.exec(section)))
    return { kind: 'ksyscall', syscall: m[2]!, retprobe: m[1] === 'kretsyscall' };
  if (/^iter(?:\.s)?\//.test(section))
    return { kind: 'unsupported', why: 'bpfkit does not create iterator links (BPF_TRACE_ITER)' };
  return { kind: 'none' };
}
