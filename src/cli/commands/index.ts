/**
 * The subcommand table. Modules load lazily so `bpfkit disasm` never pays for koffi or the packet stack.
 * Each command lives in its own file and exports `run(argv: string[]): Promise<number>`.
 */
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}
export interface Command {
  summary: string;
  load(): Promise<CommandModule>;
}

export const commands: Record<string, Command> = {
  asm: { summary: 'assemble a program (conformance or LLVM syntax) to raw bytecode', load: () => import('./asm.js') },
  disasm: { summary: 'disassemble raw bytecode or the programs of an ELF object', load: () => import('./disasm.js') },
  conformance: { summary: 'run eBPF conformance .data tests', load: () => import('./conformance.js') },
  'conformance-plugin': {
    summary: 'bpf_conformance runner plugin (bytecode on stdin, memory as hex)',
    load: () => import('./conformance-plugin.js'),
  },
  run: {
    summary: 'run a program of an object on packets, a capture or memory (VM or kernel)',
    load: () => import('./run.js'),
  },
  objdump: {
    summary: 'show what an ELF object holds: programs, maps, relocations, BTF',
    load: () => import('./objdump.js'),
  },
  prog: { summary: 'load, pin and show programs in the kernel', load: () => import('./prog.js') },
  map: { summary: 'dump and edit maps (pinned or by id) in the kernel', load: () => import('./map.js') },
  attach: { summary: 'attach a program to tc or XDP on an interface', load: () => import('./attach.js') },
  'struct-ops': {
    summary: 'register, list and unregister struct_ops maps (TCP congestion controls...), as bpftool struct_ops',
    load: () => import('./struct-ops.js'),
  },
  detach: { summary: 'detach bpfkit programs from an interface', load: () => import('./detach.js') },
  cbpf: {
    summary: "classic BPF: bpf_asm, tcpdump -d formats, the kernel's checker, run on a capture, convert to eBPF, debug",
    load: () => import('./cbpf.js'),
  },
  capture: {
    summary: 'capture packets live with a kernel eBPF or classic BPF filter',
    load: () => import('./capture.js'),
  },
  pcap: {
    summary: 'capture files: info, compile a filter expression, filter records',
    load: () => import('./pcap.js'),
  },
  verify: {
    summary: "predict the kernel verifier's verdict on a program, and why not (no kernel needed)",
    load: () => import('./verify.js'),
  },
  tc: { summary: 'tc-bpf(8): qdiscs and cls_bpf filters over rtnetlink', load: () => import('./tc.js') },
  link: { summary: 'attach XDP over rtnetlink, as ip link set dev X xdp obj F', load: () => import('./link.js') },
  cc: { summary: 'compile C for BPF with clang (cached, diagnostics at your lines)', load: () => import('./cc.js') },
  btf: { summary: "dump BTF (the kernel's or a file's) as C (vmlinux.h) or raw", load: () => import('./btf.js') },
  trace: {
    summary: 'tracing tools: tcpconnect, tcpaccept, pipe (trace_pipe)',
    load: () => import('./trace.js'),
  },
  urls: { summary: 'print the HTTP requests in a capture or crossing an interface', load: () => import('./urls.js') },
};
