/**
 * What an object file describes, before anything is loaded anywhere: the "spec" side (as in cilium/ebpf's
 * CollectionSpec). src/elf produces these from bytes, purely; the VM and the kernel engine turn them into
 * live programs and maps. Nothing here holds a file descriptor.
 */
import type { Instruction } from '../isa/instruction.js';

/** A map value at load time: bytes, or (prog arrays / maps of maps) the name of a program or map. */
export type MapValueSpec = Uint8Array | { program: string } | { map: string };

/** One initial entry of a map (prog arrays and maps of maps get theirs from the object). */
export interface MapEntrySpec {
  key: Uint8Array;
  value: MapValueSpec;
}

/** A map as the object declares it: type, sizes, flags, pinning and initial contents. Holds no fd. */
export interface MapSpec {
  name: string;
  /** MapType.* (kernel enum bpf_map_type) */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* creation flags */
  flags: number;
  /** LIBBPF_PIN_BY_NAME (1) / iproute2 PIN_GLOBAL_NS (2) / PIN_OBJECT_NS (1): where to pin, if at all */
  pinning: 'none' | 'object' | 'global';
  /** Template of the inner map for ARRAY_OF_MAPS / HASH_OF_MAPS. */
  innerMap?: MapSpec;
  /** Initial contents: global data (key 0 -> section bytes), prog-array `.values`, etc. */
  contents: MapEntrySpec[];
  /** Read-only after load (.rodata): the kernel engine freezes it, the VM refuses program writes. */
  frozen: boolean;
  /**
   * The loader wrote the running kernel's values into `contents` (a `.kconfig` map after extern
   * resolution): they are the bytes the kernel's verifier will read, as `.rodata`'s are.
   */
  kconfigFilled?: boolean;
  /** Where the map came from: '.maps' (BTF-defined), 'maps' (iproute2 struct bpf_elf_map), '.data', '.rodata', '.bss', ... */
  section: string;
  /** BTF type ids of key and value when the object carries BTF (0 when unknown). */
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** BTF maps' `numa_node` and `map_extra` (bloom filter hash count), when given. */
  numaNode?: number;
  mapExtra?: number;
  /** iproute2 `struct bpf_elf_map` only: its `id`, `inner_id` and `inner_idx` fields (tail-call sections name maps by id). */
  legacyId?: number;
  /** iproute2 `struct bpf_elf_map` only: `inner_id` and `inner_idx`, kept for tc's map hand-over, which sends them. */
  legacyInnerId?: number;
  legacyInnerIdx?: number;
  /** BTF id of the map's own definition (for the kernel's btf_vmlinux_value_type_id / inner map checks); 0 when none */
  btfTypeId?: number;
  /**
   * The name to create the map under in the kernel, when it is not `name`: internal maps (`.rodata`, `.bss`,
   * `.kconfig`...) of an object read from a file get libbpf's name for them, the object's name in front
   * (`xdp_disp.rodata`), so `bpftool map show` lists the same names for bpfkit's loads as for libbpf's.
   */
  kernelName?: string;
  /** BPF_MAP_TYPE_STRUCT_OPS maps (`.struct_ops` variables): the object's struct, its bytes, its programs. */
  structOps?: StructOpsSpec;
}

/**
 * A `.struct_ops` / `.struct_ops.link` variable: the object's struct and bytes, and the program each
 * function-pointer member names. The loader lays the bytes out by the kernel's struct of the same name.
 */
export interface StructOpsSpec {
  /** The struct's name in the object's BTF (`tcp_congestion_ops`; a `___flavor` suffix is dropped when matching). */
  typeName: string;
  /** The struct's id in the object's BTF. */
  btfTypeId: number;
  /** The variable's initial bytes (the object's struct size), in the object's byte order. */
  data: Uint8Array;
  /** The object's struct members, in order. */
  members: StructOpsMemberSpec[];
  /** From `.struct_ops.link`: registered through a BPF link (BPF_F_LINK), else by the map update itself. */
  link: boolean;
  /**
   * false for a variable in `?.struct_ops` / `?.struct_ops.link` (libbpf 1.4): the map is not created, and
   * programs only it points at are not loaded (libbpf's autocreate and autoload off).
   */
  autocreate?: false;
  /** The kernel's side, once a loader matched the struct against the running kernel's BTF. */
  kernel?: StructOpsKernelSpec;
}

/** A struct_ops map laid out for the running kernel (src/loader fills it in; the kernel engine uses it). */
export interface StructOpsKernelSpec {
  /** The kernel's struct (`tcp_congestion_ops`) in its BTF: the programs' attach_btf_id. */
  typeId: number;
  /** The kernel's `bpf_struct_ops_<name>` wrapper: the map's btf_vmlinux_value_type_id. */
  valueTypeId: number;
  /** The map value to write at registration (the wrapper's size), function-pointer slots left zero. */
  value: Uint8Array;
  /** Byte offsets in `value` where a program's fd goes (8 bytes, host order), and which program. */
  programSlots: { offset: number; program: string }[];
}

/** One member of a struct_ops variable's struct. */
export interface StructOpsMemberSpec {
  name: string;
  /** Byte offset in `StructOpsSpec.data`. */
  offset: number;
  /** Size in bytes of the member's type. */
  size: number;
  /** BTF kind of the member's type with typedefs and modifiers skipped (BtfKind.*). */
  kind: number;
  /** Bitfield width in bits, when the member is a bitfield (libbpf refuses those). */
  bitfieldBits?: number;
  /** A pointer to a function: it holds a program, or nothing. */
  functionPointer: boolean;
  /** The program the section's relocation binds to this function pointer, when one does. */
  program?: string;
}

/**
 * An `lddw` that names a map. The loader leaves the instruction's src as BPF_PSEUDO_MAP_FD or
 * BPF_PSEUDO_MAP_VALUE with imm = 0 / imm2 = offset; the engine that loads the program writes the map's
 * handle (kernel: fd; VM: map index) into `imm` and, for values, the offset into `imm2`.
 */
export interface MapReference {
  /** Slot index of the lddw in ProgramSpec.insns. */
  pc: number;
  map: string;
  kind: 'fd' | 'value';
  /** Byte offset into the map value (global variables). */
  offset: number;
}

/** A program as the object holds it: linked instructions, type, license and the maps it refers to. */
export interface ProgramSpec {
  /** The function's symbol name. */
  name: string;
  /** The ELF section it came from (e.g. "socket", "tc", "xdp", "classifier/ingress"). */
  section: string;
  /** ProgType.* guessed from the section name with libbpf's conventions. */
  type: number;
  /** AttachType.* for section names that imply one (tcx/ingress, xdp, ...), else undefined. */
  attachType?: number;
  /** BPF_F_* program flags the section name implies (BPF_F_SLEEPABLE for `.s` names, BPF_F_XDP_HAS_FRAGS). */
  flags?: number;
  /** The kernel BTF type a tracing, LSM or iterator program attaches to (resolved at load: `attachBtfId`). */
  attachBtf?: AttachBtfSpec;
  /** The kernel BTF id of `attachBtf`, once a loader resolved it against the running kernel's BTF. */
  attachBtfId?: number;
  /**
   * Why no engine can load this program, when its section says so (freplace, struct_ops) or an instruction
   * it reaches does (an arena global, an `lddw` naming a raw map fd; the text then starts with "function");
   * loading it is refused in one line.
   */
  unsupported?: string;
  /**
   * false for a program in a section named with libbpf's `?` in front (`?tc`, `?raw_tp/...`): a load of the
   * whole object leaves it out, as libbpf's autoload does; it loads when asked for by name.
   */
  autoload?: false;
  /**
   * Set by a loader that resolved the program's typed `.ksyms` (BPF_PSEUDO_BTF_ID ldimm64s): for each kernel
   * name, whether the running kernel's symbol table (/proc/kallsyms) lists it, as the kernel's verifier looks
   * the address up there (a name absent: undefined, not known).
   */
  ksymsFound?: Readonly<Record<string, boolean>>;
  /** Extern symbols (`.kconfig`, `.ksyms`, kfuncs) the program uses, by instruction (see ExternSpec). */
  externRefs?: ExternReference[];
  /**
   * The linked program: the entry function, then every subprogram it reaches, with local-call and
   * PSEUDO_FUNC offsets already fixed. Map references are listed in `mapRefs`.
   */
  insns: Instruction[];
  mapRefs: MapReference[];
  license: string;
  kernelVersion: number;
  /** `.BTF.ext` func_info of the linked program (pc in slots, sorted), when the object has it. */
  funcInfo?: FuncInfoSpec[];
  /** `.BTF.ext` line_info of the linked program (pc in slots, sorted), when the object has it. */
  lineInfo?: LineInfoSpec[];
  /**
   * CO-RE relocations still to apply (pc in slots). No engine loads a program that has any: src/loader
   * resolves them against a target BTF first and moves them to `coreResults`.
   */
  coreRelos?: CoreReloSpec[];
  /** CO-RE relocations as they were applied, when they were. */
  coreResults?: CoreResultSpec[];
}

/** The kernel BTF type named by a tp_btf/, fentry/, fexit/, fmod_ret/, lsm/ or iter/ section. */
export interface AttachBtfSpec {
  /** The name after the section's first '/' (e.g. "sched_switch"). */
  target: string;
  /** The BTF type to find: btf_trace_NAME (typedef), bpf_lsm_NAME, bpf_iter_NAME or NAME (func). */
  typeName: string;
  kind: 'typedef' | 'func';
}

/**
 * An instruction that uses an extern: an `lddw` of a `.kconfig` variable or a `.ksyms` symbol, or a call
 * of a kfunc. The loader resolves it against the running kernel before an engine sees the program.
 */
export interface ExternReference {
  /** Slot index of the instruction in ProgramSpec.insns. */
  pc: number;
  /** The extern's name (as in ObjectSpec.externs). */
  name: string;
  /** Byte offset added to the symbol (`lddw` addend). */
  offset: number;
}

/** An extern symbol of the object: declared `extern` in C, resolved when the object is loaded. */
export interface ExternSpec {
  name: string;
  /** `.kconfig` variable, `.ksyms` variable (typed: a BTF var of the kernel; typeless: an address), or kfunc. */
  kind: 'kconfig' | 'ksym' | 'kfunc';
  /** `__weak`: a missing symbol resolves to 0 (kfunc calls to a missing weak kfunc are poisoned). */
  weak: boolean;
  /** The extern's type in the object's BTF (VAR's type, or the FUNC's id for kfuncs); 0 for a typeless ksym. */
  btfTypeId: number;
  /** `.kconfig`: byte offset and size of the variable in the `.kconfig` map's value. */
  offset?: number;
  size?: number;
  /** `.kconfig`: what the C type holds (libbpf's kinds: bool, char, int, enum libbpf_tristate, char array). */
  kconfigType?: 'bool' | 'char' | 'int' | 'tristate' | 'chars';
  /** `.kconfig` ints: signed. */
  signed?: boolean;
}

/** A function of the linked program: first slot and its FUNC type id in the object's BTF. */
export interface FuncInfoSpec {
  pc: number;
  typeId: number;
}

/** The C source line of the instruction at slot `pc` (file and line text come from the object's BTF strings). */
export interface LineInfoSpec {
  pc: number;
  /** Offsets into .BTF's strings and line << 10 | column, as the kernel wants them. */
  fileNameOff: number;
  lineOff: number;
  lineCol: number;
  file: string;
  source: string;
  line: number;
  column: number;
}

/** A CO-RE relocation of the instruction at slot `pc` (bpf_core_relo). */
export interface CoreReloSpec {
  pc: number;
  /** Root type in the object's BTF. */
  typeId: number;
  /** Access string ("0:1:2" for field kinds, "0" or an enumerator index otherwise). */
  access: string;
  /** bpf_core_relo_kind (CoreReloKind in src/btf). */
  kind: number;
}

/** How one CO-RE relocation was applied. */
export interface CoreResultSpec extends CoreReloSpec {
  /** Value the compiler wrote (local BTF) and the value written (target BTF). */
  localValue: number;
  targetValue: number;
  /** The instruction was turned into a call to the invalid helper 0xbad2310: it fails only if reached. */
  poisoned: boolean;
  /** One line: e.g. "field task_struct.pid: offset 2456 -> 2456", "no match in target BTF: poisoned". */
  description: string;
}

/** Everything an ELF object holds for loading, with no file descriptors: what `parseObject` returns. */
export interface ObjectSpec {
  /** File the spec was read from, when known (used in messages). */
  path?: string;
  endian: 'little' | 'big';
  license: string;
  kernelVersion: number;
  programs: ProgramSpec[];
  maps: MapSpec[];
  /**
   * The .BTF section, for engines that load BTF into the kernel: as clang wrote it except that DATASEC
   * sizes and variable offsets are filled in from the ELF (as libbpf does; type ids unchanged). And the
   * raw .BTF.ext.
   */
  btf?: Uint8Array;
  btfExt?: Uint8Array;
  /** Extern symbols programs use (`.kconfig`, `.ksyms`, kfuncs); a loader resolves them against the kernel. */
  externs?: ExternSpec[];
}
