/**
 * `bpfkit/pcap-filter`: pcap-filter(7) expressions (`tcp port 80`, `vlan and host 10.0.0.1`) compiled
 * to classic BPF in pure TypeScript, equal to libpcap 1.10 (tcpdump is the oracle). The program then goes
 * through `bpfkit/cbpf`: tcpdump's -d/-dd/-ddd text, tc bytecode, the interpreter, conversion to eBPF.
 * See docs/pcap-filter.md.
 *
 * @module bpfkit/pcap-filter
 */
export { compileFilter, type CompileOptions } from './compile.js';
export { FilterSyntaxError } from './errors.js';
export { filterToEbpf, filterToForm, EBPF_FORMS, type EbpfForm, type EbpfFilter } from './ebpf.js';
export { elfObject, type ElfProgram } from './elf-object.js';
export { LINK_TYPES, findLinkType, type LinkType, type LinkKind } from './linktypes.js';
export { systemResolver, ETHER_PROTO_NAMES, type NameResolver } from './names.js';
export { MAX_NESTING } from './parser.js';
