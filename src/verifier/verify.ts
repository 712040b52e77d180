/**
 * The verifier's entry points: check raw instructions (with a program type and the maps their `lddw`s
 * name) or the programs of an ObjectSpec, and get the verdict, the first fault's instruction and message,
 * and a log in the kernel's words ending in `processed N insns (limit 1000000) ...`.
 */
import type { Instruction } from '../isa/instruction.js';
import {
  OP_LDDW,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_BTF_ID,
  BPF_CALL,
  BPF_JMP,
  BPF_LD,
  BPF_ABS,
  BPF_IND,
  classOf,
  modeOf,
  opOf,
  REG_FP,
} from '../isa/opcodes.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { attachTypeName, progTypeName } from '../elf/section-types.js';
import { MapFlag, MapType } from '../uapi/types.js';
import { mapSizeFault } from '../engine/map-limits.js';
import { BpfkitError } from '../util/errors.js';
import type { Btf } from '../btf/index.js';
import { type GlobalFunc, globalFuncs, nonIntSubprogs } from './btf-funcs.js';
import { kernelFields, mapFieldsUnsure, objectBtf } from './btf-fields.js';
import { spinLockMapUse } from './spin-lock.js';
import { loadAttachType } from './load-attach.js';
import { kfuncPlaceholderFault } from './kfunc-zero.js';
import { ldimm64KindFault, ldimm64Map, ldimm64ValueFault } from './ldimm64.js';
import { sleepableCheck, sleepableMapUse } from './sleepable.js';
import { type KsymFound, ksymResolve } from './ksyms.js';
import { NETFILTER } from './netfilter.js';
import { PROG_TRACING, TRACE_RAW_TP, type TpBtf, tpBtfTarget } from './btf-ptr.js';
import { TRACE_ITER, iterTarget } from './iter.js';
import { PROG_STRUCT_OPS, type StructOps, structOpsTarget } from './struct-ops.js';
import { globalEntryRegs } from './calls.js';
import { kfuncCallFault } from './kfunc.js';
import { exceptionCallbackEntry, exceptionCallbackOf, isThrowCall, callbackChainChecks } from './throw.js';
import { buildCfg, type Cfg } from './cfg.js';
import { type Fastcall, fastcallDepth, fastcallPatterns } from './fastcall.js';
import { ctxModelled } from './ctx-access.js';
import { attachTypeLoads } from './ctx-sock.js';
import type { Env } from './env.js';
import { Rejection } from './reject.js';
import { type State, type VerifierMap, NOT_INIT, ptrReg } from './state.js';
import { HELPER_PROTOS, licenseIsGpl } from './helpers.js';
import { callArgCount } from './call-args.js';
import { type LogLine, WalkLog, kernelStateText } from './log-format.js';
import { INSN_LIMIT, type WalkStats, walk } from './walk.js';

/** How to verify. */
export interface VerifyOptions {
  /** ProgType.* of the program. */
  type: number;
  /** The expected attach type (AttachType.*, e.g. 1 = cgroup egress), as BPF_PROG_LOAD would be given. */
  attachType?: number;
  /**
   * The license the program is loaded under (default 'GPL', as bpfkit's loaders give one that names
   * none): GPL-restricted helpers (bpf_probe_read_kernel, bpf_trace_printk...) are refused to others.
   */
  license?: string;
  /** Maps by the number each map `lddw` carries in imm (raw programs: the fd the kernel would see). */
  maps?: ReadonlyMap<number, VerifierMap> | readonly VerifierMap[];
  /** 0: a short log on rejection only; 1: every instruction walked; 2: plus the state before each. */
  logLevel?: number;
  /** BTF func_info comes with the program (objects with .BTF.ext); callbacks need it. Default false. */
  funcInfo?: boolean;
  /** C source lines by instruction (.BTF.ext line_info): the log prints them as the kernel does. */
  lineInfo?: readonly LogLine[];
  /** Called before every instruction the walk executes, with the state it meets (a debugger's view). */
  onInsn?: (pc: number, state: State) => void;
  /** Collect the distinct states met at each instruction (at most this many each) into `VerifyResult.states`. */
  states?: number;
  /** Global functions (from BTF func_info), each verified on its own; default none (all checked in context). */
  globals?: readonly GlobalFunc[];
  /**
   * Subprograms (first slots) whose BTF prototype returns neither an integer nor an enum: they may hold
   * no tail call and no LD_ABS/IND (`nonIntSubprogs`; verifyProgram fills it in from the object's BTF).
   */
  nonIntSubprogs?: readonly number[];
  /** Instructions processed before "too large" (default 1,000,000, the kernel's). */
  insnLimit?: number;
  /**
   * The target kernel's word on helper calls: false when programs of `type` may not call helper `id` there
   * although upstream allows it (a kernel built without a subsystem, or patched). The kernel layer's
   * kernelHelperProbe asks the running kernel. Default: upstream's tables alone.
   */
  helperAvailable?: (type: number, id: number) => boolean;
  /**
   * The target kernel JIT-compiles programs (default true: bpf_jit_enable=1 or CONFIG_BPF_JIT_ALWAYS_ON,
   * every x86-64 and arm64 distribution kernel): each frame's stack counts rounded up to 16 bytes in the
   * 512-byte budget of a call chain. false: an interpreter-only kernel, which rounds up to 32.
   */
  jit?: boolean;
  /**
   * The target kernel's BTF (/sys/kernel/btf/vmlinux): tp_btf programs (BPF_PROG_TYPE_TRACING with
   * BPF_TRACE_RAW_TP), netfilter programs and kfunc calls are checked by it; without it they are not modelled.
   */
  kernelBtf?: Btf;
  /**
   * The target kernel's release (`uname -r`); default `kernelBtf.kernelRelease`, which the loader sets on
   * the running kernel's BTF. Facts bpfkit carries for one release only (tp_btf's NULL-able arguments,
   * tp-null.ts) are used only when it is that release's.
   */
  kernelRelease?: string;
  /** The program's own BTF (its object's .BTF): bpf_obj_new's local type ids name its structs (graph.ts). */
  progBtf?: Btf;
  /**
   * A tp_btf program's target in `kernelBtf`: the `btf_trace_<name>` typedef's id (attach_btf_id), an
   * iterator's the `bpf_iter_<target>` function's...
   */
  attachBtfId?: number;
  /** ...or its name, when no loader resolved the id. */
  attachBtfName?: string;
  /**
   * The program is loaded with BPF_F_SLEEPABLE (libbpf's `syscall` and `.s` sections; verifyProgram reads
   * it from the spec's flags). syscall programs must be; of the other types bpfkit models none that is.
   */
  sleepable?: boolean;
  /**
   * The program is loaded with BPF_F_STRICT_ALIGNMENT: every load and store of more than one byte must be
   * aligned to its size, through any pointer (a packet's counted from NET_IP_ALIGN, 2). Default false.
   */
  strictAlignment?: boolean;
  /**
   * The exception callback's first slot (throw.ts's exceptionCallbackOf: the program's decl tag), or the
   * kernel's refusal of the tag; verifyProgram fills it in from the object's BTF.
   */
  exceptionCallback?: number | { refused: string };
  /**
   * Whether the target kernel's symbol table (kallsyms) has an address for a kernel variable or function an
   * `__ksym` ldimm64 names (undefined: not known, and such programs are not modelled). verifyProgram takes
   * it from what the loader found (ProgramSpec.ksymsFound).
   */
  ksymFound?: KsymFound;
}

/** The verdict on one program. */
export interface VerifyResult {
  accepted: boolean;
  /** Slot of the instruction the first fault is at (rejections). */
  pc?: number;
  /** The kernel's message for the fault (rejections). */
  message?: string;
  /**
   * A rejection for something bpfkit does not model (a program type, helper, kfunc, context field...),
   * not a fault the kernel would name: the program may well load. Its message says what is missing.
   */
  unmodelled?: boolean;
  /** The log, as the kernel would print it (see VerifyOptions.logLevel). */
  log: string;
  /** Instructions processed, states remembered, etc. */
  stats: WalkStats;
  /** Wall-clock time of the verification, ms. */
  ms: number;
  /** With `states`: the states met before each instruction, as the kernel's log prints them, and how many times each pc was walked. */
  states?: Map<number, { walked: number; states: string[] }>;
}

/** A load refused because the verifier predicts the kernel would refuse a program (exit status 1). */
export class ProgramRefusedError extends BpfkitError {
  /** The verifier's full result, log included. */
  readonly result: VerifyResult;
  constructor(
    readonly program: string,
    result: VerifyResult,
  ) {
    const why = result.message!.split('\n').join('; ');
    super(`program '${program}' would be refused by the kernel's verifier at insn ${result.pc}: ${why}`, 1);
    this.result = result;
  }
}

/** A map spec as the verifier sees it. */
export function verifierMap(m: MapSpec): VerifierMap {
  const vm: VerifierMap = {
    name: m.name,
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    readOnly: (m.flags & MapFlag.RDONLY_PROG) !== 0,
    writeOnly: (m.flags & MapFlag.WRONLY_PROG) !== 0,
    inner: m.innerMap ? verifierMap(m.innerMap) : undefined,
  };
  // The kernel engine writes a frozen map's contents, then freezes it, before any program loads. Only
  // .rodata's bytes are final in the object: .kconfig's are filled in by the loader from the running
  // kernel (a spec verified before that would read zeros where the kernel reads its configuration), and
  // are final once it has.
  if (
    m.frozen &&
    (m.section.startsWith('.rodata') || (m.section === '.kconfig' && m.kconfigFilled === true)) &&
    (m.flags & MapFlag.RDONLY_PROG) !== 0 &&
    m.type === MapType.ARRAY &&
    m.maxEntries === 1
  ) {
    const value = new Uint8Array(m.valueSize);
    for (const e of m.contents)
      if (e.key.every((b) => b === 0) && e.value instanceof Uint8Array) value.set(e.value.subarray(0, m.valueSize));
    vm.frozenValue = value;
  }
  return vm;
}

/** Verify a program given as instructions. */
export function verifyInstructions(insns: readonly Instruction[], opts: VerifyOptions): VerifyResult {
  // BPF_PROG_LOAD's default attach types (load-attach.ts) before anything reads the attach type.
  return verifyAsLoaded(insns, { ...opts, attachType: loadAttachType(opts.type, opts.attachType) });
}

/** verifyInstructions with the attach type the kernel verifies the program as. */
function verifyAsLoaded(insns: readonly Instruction[], opts: VerifyOptions): VerifyResult {
  const t0 = performance.now();
  const stats: WalkStats = { processed: 0, totalStates: 0, peakStates: 0, maxStatesPerInsn: 0 };
  const maps =
    opts.maps instanceof Map
      ? opts.maps
      : new Map(((opts.maps as readonly VerifierMap[] | undefined) ?? []).map((m, i) => [i, m]));
  const names = {
    // bpf_get_current_task_btf has no prototype in helpers.ts: tp_btf programs call it (calls.ts).
    helper: (id: number) => HELPER_PROTOS.get(id)?.name ?? (id === 158 ? 'get_current_task_btf' : undefined),
    map: (imm: number) => (maps as ReadonlyMap<number, VerifierMap>).get(imm)?.name,
  };
  const states = opts.states ? new Map<number, { walked: number; states: string[] }>() : undefined;
  const perInsn = opts.states ?? 0;
  const onInsn =
    states || opts.onInsn
      ? (pc: number, st: State) => {
          opts.onInsn?.(pc, st);
          if (!states) return;
          const seen = states.get(pc) ?? { walked: 0, states: [] };
          seen.walked++;
          states.set(pc, seen);
          if (seen.states.length < perInsn) {
            const text = kernelStateText(st).trim();
            if (!seen.states.includes(text)) seen.states.push(text);
          }
        }
      : undefined;
  const log = new WalkLog(opts.logLevel ?? 0, names, opts.lineInfo, onInsn);
  let result: Pick<VerifyResult, 'accepted' | 'pc' | 'message' | 'unmodelled'>;
  try {
    const tpBtf = opts.type === PROG_TRACING ? tracingTarget(opts) : undefined;
    if (opts.type === NETFILTER && !opts.kernelBtf)
      throw new Rejection(
        0,
        `bpfkit: a netfilter program's context is typed by the kernel's BTF, and none was given (kernelBtf)`,
      );
    const isStructOps = opts.type === PROG_STRUCT_OPS;
    if (!tpBtf && !isStructOps && !ctxModelled(opts.type))
      throw new Rejection(
        0,
        `bpfkit: program type ${typeText(opts.type)} is not modelled (socket_filter, sched_cls, sched_act, xdp, cgroup_skb, sk_skb, kprobe, tracepoint, raw_tracepoint, raw_tracepoint_writable, perf_event, cgroup_sock, cgroup_sock_addr, cgroup_sysctl, cgroup_sockopt, cgroup_device, sk_msg, sk_lookup, sock_ops, sk_reuseport, flow_dissector, netfilter, syscall, lwt_in, lwt_out, lwt_xmit and lwt_seg6local are)`,
      );
    if (!tpBtf && !isStructOps && !attachTypeLoads(opts.type, opts.attachType))
      throw new Rejection(
        0,
        `bpfkit: expected attach type ${opts.attachType ?? 'none'} is not one program type ${opts.type} loads with (bpfkit models only these)`,
      );
    // add_subprog_and_kfunc, the kernel's first pass: kfunc calls need a GPL-compatible license and a
    // callee the kernel's BTF has.
    const kfuncFault = kfuncCallFault(insns, licenseIsGpl(opts.license || 'GPL'), opts.kernelBtf);
    if (kfuncFault) throw kfuncFault;
    // Still add_subprog_and_kfunc: the exception callback is a subprogram (and a root of check_cfg's walk).
    const exc = opts.exceptionCallback;
    if (typeof exc === 'object') throw new Rejection(0, exc.refused);
    // resolve_pseudo_ldimm64, which the kernel runs between check_subprogs and check_cfg (buildCfg calls it
    // there).
    const resolveLdimm64 = (): void => {
      // Every lddw in program order, dead code's too (ldimm64.ts): its kind; a kernel symbol it names
      // (ksyms.ts); the map it names, check_map_prog_compatibility, then a direct value pointer's offset.
      for (const i of insns) {
        if (i.code !== OP_LDDW) continue;
        const kind = ldimm64KindFault(i);
        if (kind) throw kind;
        if (i.src === BPF_PSEUDO_BTF_ID) {
          ksymResolve(i, opts.kernelBtf, opts.ksymFound);
          continue;
        }
        if (i.src !== BPF_PSEUDO_MAP_FD && i.src !== BPF_PSEUDO_MAP_VALUE) continue;
        const m = ldimm64Map(i, maps);
        // An arena's pointers (PTR_TO_ARENA, addr_space_cast) are not modelled: syscall programs use them most.
        if (m.type === MapType.ARENA)
          throw new Rejection(i.pc, `bpfkit: arena maps ('${m.name}') and their pointers are not modelled`);
        const unsure = m.kernelFields && mapFieldsUnsure(m.kernelFields);
        if (unsure)
          throw new Rejection(
            i.pc,
            `bpfkit: map '${m.name}' holds ${unsure}: whether the kernel records its fields is not modelled`,
          );
        const why = spinLockMapUse(m, opts.type) ?? sleepableMapUse(m, opts.sleepable ?? false);
        if (why) throw new Rejection(i.pc, why);
        const value = i.src === BPF_PSEUDO_MAP_VALUE ? ldimm64ValueFault(i, m) : undefined;
        if (value) throw value;
      }
    };
    const cfg = buildCfg(
      insns,
      exc === undefined ? [] : [exc],
      (call) => callArgCount(call, opts.type, opts.attachType, opts.kernelBtf),
      resolveLdimm64,
    );
    // check_attach_btf_id → check_struct_ops_btf_id (struct-ops.ts), after the subprograms are known.
    const structOps: StructOps | undefined = isStructOps
      ? structOpsTarget(
          opts.kernelBtf,
          opts.attachBtfId,
          opts.attachType,
          licenseIsGpl(opts.license || 'GPL'),
          opts.sleepable ?? false,
        )
      : undefined;
    // A subprogram that returns something else than an integer may not end early with an integer: no
    // tail call, no LD_ABS/IND in it (said before the walk, as the kernel does).
    for (const start of opts.nonIntSubprogs ?? []) {
      const k = cfg.subprogs.indexOf(start);
      if (k <= 0) continue;
      const end = cfg.subprogs[k + 1] ?? Infinity;
      for (const i of insns) {
        if (i.pc < start || i.pc >= end) continue;
        if (i.code === (BPF_JMP | BPF_CALL) && i.src === 0 && i.imm === 12)
          throw new Rejection(i.pc, "tail_call is only allowed in functions that return 'int'.");
        if (classOf(i.code) === BPF_LD && (modeOf(i.code) === BPF_ABS || modeOf(i.code) === BPF_IND))
          throw new Rejection(i.pc, "LD_ABS is only allowed in functions that return 'int'.");
      }
    }
    // LD_ABS/LD_IND and tail calls may sit in the main program beside local calls; in a subprogram only
    // with BTF (check_subprogs).
    if (!opts.funcInfo && cfg.subprogs.length > 1) {
      const inSub = insns.filter((i) => i.pc >= cfg.subprogs[1]!);
      const ldAbs = inSub.find(
        (i) => classOf(i.code) === BPF_LD && (modeOf(i.code) === BPF_ABS || modeOf(i.code) === BPF_IND),
      );
      if (ldAbs) throw new Rejection(ldAbs.pc, 'LD_ABS is not allowed in subprogs without BTF');
      const tail = inSub.find((i) => i.code === (BPF_JMP | BPF_CALL) && i.src === 0 && i.imm === 12);
      if (tail) throw new Rejection(tail.pc, 'tail_call is not allowed in subprogs without BTF');
    }
    // check_attach_btf_id, after the CFG and before the walk.
    const sleepWhy = structOps ? undefined : sleepableCheck(opts.type, opts.sleepable ?? false, opts.attachType);
    if (sleepWhy) throw new Rejection(0, sleepWhy);
    const env: Env = {
      insns,
      cfg,
      progType: opts.type,
      attachType: opts.attachType,
      tpBtf,
      structOps,
      kernelBtf: opts.kernelBtf,
      progBtf: opts.progBtf,
      sleepable: opts.sleepable ?? false,
      strictAlignment: opts.strictAlignment ?? false,
      helperAvailable: opts.helperAvailable,
      gplCompatible: licenseIsGpl(opts.license || 'GPL'),
      maps: maps as ReadonlyMap<number, VerifierMap>,
      nextId: 0,
      stackDepth: new Map(),
      fastcall: (opts.jit ?? true) ? fastcallPatterns(insns, cfg, opts.type) : undefined,
      funcInfo: opts.funcInfo ?? false,
      globals: new Map((opts.globals ?? []).map((g) => [g.pc, g])),
      called: new Set(),
      entry: 0,
      exceptionCallback: exc,
      fieldsChecked: new Uint8Array(cfg.slots),
    };
    const regs = new Array(11).fill(NOT_INIT);
    regs[1] = ptrReg('ctx');
    regs[REG_FP] = ptrReg('fp', { frame: 0 });
    const initial: State = { frames: [{ regs, stack: new Map(), callsite: -1, subprog: 0 }], refs: new Map() };
    const limit = opts.insnLimit ?? INSN_LIMIT;
    walk(env, initial, log, stats, limit);
    // do_check_subprogs: the exception callback is verified as if called.
    if (exc !== undefined) env.called.add(exc);
    verifyGlobals(env, log, stats, limit);
    const async = new Set(env.asyncCallbacks);
    callbackChainChecks(insns, cfg, (i) => isThrowCall(env, i), env.callbacks ?? new Set(), async, exc);
    // The exception callback runs on a stack of its own, as a timer's does.
    if (exc !== undefined) async.add(exc);
    checkStackDepth(insns, cfg, env.stackDepth, opts.jit ?? true, env.fastcall, async);
    const placeholder = kfuncPlaceholderFault(env);
    if (placeholder) throw placeholder;
    result = { accepted: true };
  } catch (err) {
    if (!(err instanceof Rejection)) throw err;
    log.add(err.message);
    result = { accepted: false, pc: err.pc, message: err.message };
    // Every refusal for a limit of bpfkit's own names bpfkit in its message; the kernel's never do.
    if (/\bbpfkit\b/.test(err.message)) result.unmodelled = true;
  }
  log.add(
    `processed ${stats.processed} insns (limit ${INSN_LIMIT}) max_states_per_insn ${stats.maxStatesPerInsn} total_states ${stats.totalStates} peak_states ${stats.peakStates} mark_read 0`,
  );
  const out: VerifyResult = { ...result, log: log.lines.join('\n') + '\n', stats, ms: performance.now() - t0 };
  if (states) out.states = states;
  return out;
}

/** A program type as messages name it: bpftool's name and the number (`tracing (26)`). */
function typeText(type: number): string {
  return `${progTypeName(type)} (${type})`;
}

/**
 * A tracing program's target, when it is a tp_btf one bpfkit can read; otherwise the refusal says what is
 * not modelled (fentry/fexit, iterators, LSM-like attach types, no kernel BTF).
 */
function tracingTarget(opts: VerifyOptions): TpBtf {
  if (opts.attachType !== TRACE_RAW_TP && opts.attachType !== TRACE_ITER)
    throw new Rejection(
      0,
      `bpfkit: program type ${typeText(opts.type)} is not modelled with expected attach type ${opts.attachType === undefined ? 'none' : `${attachTypeName(opts.attachType)} (${opts.attachType})`} (tp_btf, attach type trace_raw_tp (${TRACE_RAW_TP}), and iter, trace_iter (${TRACE_ITER}), are)`,
    );
  if (!opts.kernelBtf)
    throw new Rejection(
      0,
      `bpfkit: a tp_btf or iter program is checked by the kernel's BTF, and none was given (kernelBtf)`,
    );
  const release = opts.kernelRelease ?? opts.kernelBtf.kernelRelease;
  if (opts.attachType === TRACE_ITER) {
    const it = iterTarget(opts.kernelBtf, opts.attachBtfId, opts.attachBtfName);
    if (typeof it === 'string') throw new Rejection(0, `bpfkit: ${it}`);
    return { btf: opts.kernelBtf, nullArgs: [], ...it, ...(release ? { release } : {}) };
  }
  const t = tpBtfTarget(opts.kernelBtf, opts.attachBtfId, opts.attachBtfName, release);
  if (typeof t === 'string') throw new Rejection(0, `bpfkit: ${t}`);
  return t;
}

/**
 * The kernel's do_check_subprogs: each global function a verified path called is verified once on its
 * own, with the arguments its prototype promises, in subprogram order, until no new one is called.
 */
function verifyGlobals(env: Env, log: WalkLog, stats: WalkStats, limit: number): void {
  const done = new Set<number>();
  if (env.exceptionCallback !== undefined && !env.globals.has(env.exceptionCallback))
    throw new Rejection(
      env.exceptionCallback,
      'an exception callback without a usable BTF prototype: bpfkit does not model it',
    );
  for (let again = true; again;) {
    again = false;
    for (const pc of env.cfg.subprogs) {
      const g = env.globals.get(pc);
      if (!g || !env.called.has(pc) || done.has(pc)) continue;
      env.entry = pc;
      if (pc === env.exceptionCallback) exceptionCallbackEntry(g);
      const regs = globalEntryRegs(env, g);
      const initial: State = { frames: [{ regs, stack: new Map(), callsite: -1, subprog: pc }], refs: new Map() };
      if (log.level > 0) log.add(`Validating ${g.name}() func#${env.cfg.subprogs.indexOf(pc)}...`);
      walk(env, initial, log, stats, limit, pc);
      if (log.level > 0)
        log.add(`Func#${env.cfg.subprogs.indexOf(pc)} ('${g.name}') is safe for any args that match its prototype`);
      done.add(pc);
      again = true;
    }
  }
  env.entry = 0;
}

/**
 * The kernel's check_max_stack_depth: along every chain of calls from the entry, the stack of each frame
 * (round_up_stack_depth: to 16 bytes for a JIT, to 32 and at least 32 for the interpreter) adds up to at
 * most 512, and chains are at most 8 frames deep; a timer callback (`async`) starts a chain of its own.
 */
function checkStackDepth(
  insns: readonly Instruction[],
  cfg: Cfg,
  seen: Map<number, number>,
  jit: boolean,
  fc: Fastcall | undefined,
  async: ReadonlySet<number> = new Set(),
): void {
  // remove_fastcall_spills_fills runs first: a subprogram's removed fastcall slots are no longer its stack.
  const depth = new Map<number, number>();
  for (const sp of cfg.subprogs) depth.set(sp, fastcallDepth(fc, sp, seen.get(sp) ?? 0));
  const calls = new Map<number, { pc: number; target: number }[]>();
  for (const insn of insns) {
    const isCall = classOf(insn.code) === BPF_JMP && opOf(insn.code) === BPF_CALL && insn.src === BPF_PSEUDO_CALL;
    const isFunc = insn.code === OP_LDDW && insn.src === BPF_PSEUDO_FUNC;
    if (!isCall && !isFunc) continue;
    // A timer's callback runs on a stack of its own: naming it adds nothing to its caller's chain.
    if (isFunc && async.has(insn.pc + insn.imm + 1)) continue;
    const sp = cfg.subprogOf(insn.pc);
    const list = calls.get(sp) ?? [];
    list.push({ pc: insn.pc, target: insn.pc + insn.imm + 1 });
    calls.set(sp, list);
  }
  const frame = (sp: number) =>
    jit ? Math.ceil((depth.get(sp) ?? 0) / 16) * 16 : Math.ceil(Math.max(depth.get(sp) ?? 0, 1) / 32) * 32;
  const tailCalls = new Set<number>();
  for (const insn of insns)
    if (insn.code === (BPF_JMP | BPF_CALL) && insn.src === 0 && insn.imm === 12) tailCalls.add(cfg.subprogOf(insn.pc));
  const visit = (sp: number, total: number, frames: number, at: number): void => {
    // A tail call from a subprogram could stack 33 such chains: the frames above it get 256 bytes at most.
    if (sp !== 0 && tailCalls.has(sp) && total >= 256)
      throw new Rejection(
        at,
        `tail_calls are not allowed when call stack of previous frames is ${total} bytes. Too large`,
      );
    const here = total + frame(sp);
    // check_max_stack_depth_subprog counts frames from 0 (the entry's): the ninth is "8 frames".
    if (frames > 8) throw new Rejection(at, `the call stack of ${frames - 1} frames is too deep !`);
    if (here > 512) throw new Rejection(at, `combined stack size of ${frames} calls is ${here}. Too large`);
    for (const c of calls.get(sp) ?? []) visit(c.target, here, frames + 1, c.pc);
  };
  // check_max_stack_depth: the timer callbacks, last first, each a chain of its own, then the entry.
  for (const sp of [...async].filter((x) => x !== 0).sort((a, b) => b - a)) visit(sp, 0, 1, sp);
  visit(0, 0, 1, 0);
}

/** The instructions of a ProgramSpec with each map `lddw` naming its map by index into `maps`. */
export function resolveMaps(prog: ProgramSpec, maps: readonly MapSpec[]): Instruction[] {
  const byName = new Map(maps.map((m, i) => [m.name, i]));
  const out = prog.insns.map((i) => ({ ...i }));
  const atPc = new Map(out.map((i, k) => [i.pc, k]));
  for (const ref of prog.mapRefs) {
    const k = atPc.get(ref.pc);
    const idx = byName.get(ref.map);
    if (k === undefined || idx === undefined) continue;
    const insn = out[k]!;
    insn.src = ref.kind === 'fd' ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE;
    insn.imm = idx;
    if (ref.kind === 'value') insn.imm2 = ref.offset;
  }
  return out;
}

/** BPF_F_SLEEPABLE, a program flag. */
const BPF_F_SLEEPABLE = 1 << 4;

/** Verify one program of an object (its type from the spec unless `type` is given). */
export function verifyProgram(spec: ObjectSpec, prog: ProgramSpec, opts: Partial<VerifyOptions> = {}): VerifyResult {
  // What no engine loads (freplace, struct_ops, an arena global, an lddw naming a raw fd) is not judged
  // either: its instructions do not say what the kernel would be given (a raw fd's imm read as a map
  // index would name one of the object's maps).
  if (prog.unsupported) return unmodelledResult(`program '${prog.name}': ${prog.unsupported}`);
  const unsized = unsizedMap(prog, spec.maps);
  if (unsized) return unmodelledResult(`program '${prog.name}': ${unsized}`);
  const insns = resolveMaps(prog, spec.maps);
  const btf = objectBtf(spec.btf);
  const withFields = (m: MapSpec): VerifierMap => {
    const vm = verifierMap(m);
    const fields = btf && m.btfValueTypeId ? kernelFields(btf, m.btfValueTypeId) : [];
    if (fields.length) vm.kernelFields = fields;
    if (m.innerMap && vm.inner) vm.inner = withFields(m.innerMap);
    return vm;
  };
  const maps = spec.maps.map(withFields);
  const type = opts.type ?? prog.type;
  // A sleepable tracing program runs outside an RCU read section: walked pointers get other flags. Of
  // them only iterators (`iter.s/`) are walked so (sleepable.ts); fentry.s/fexit.s/fmod_ret.s are not.
  const attach = opts.attachType ?? prog.attachType;
  if (type === PROG_TRACING && ((prog.flags ?? 0) & BPF_F_SLEEPABLE) !== 0 && attach !== TRACE_ITER)
    return unmodelledResult(`program '${prog.name}': sleepable tracing programs are not modelled by bpfkit`);
  return verifyInstructions(insns, {
    exceptionCallback: btf ? exceptionCallbackOf(btf, prog.funcInfo) : undefined,
    funcInfo: spec.btfExt !== undefined,
    globals: globalFuncs(spec, prog, type, opts.attachType ?? prog.attachType),
    nonIntSubprogs: nonIntSubprogs(spec, prog),
    lineInfo: prog.lineInfo,
    ...opts,
    type,
    attachType: opts.attachType ?? prog.attachType,
    attachBtfId: opts.attachBtfId ?? prog.attachBtfId,
    attachBtfName: opts.attachBtfName ?? prog.attachBtf?.typeName,
    // The kernel engine loads with the program's license, else the object's, else GPL.
    license: opts.license || prog.license || spec.license || 'GPL',
    sleepable: opts.sleepable ?? ((prog.flags ?? 0) & BPF_F_SLEEPABLE) !== 0,
    progBtf: opts.progBtf ?? btf,
    // What the loader that resolved the program's ksyms found in the kernel's symbol table.
    ksymFound: opts.ksymFound ?? (prog.ksymsFound ? (name) => prog.ksymsFound![name] : undefined),
    maps,
  });
}

/**
 * Why no verdict can be given on a program whose map the kernel would not create as the object has it: a
 * zero size that the object's own loader sets at run time (libbpf-tools size maps by the CPU count, a
 * benchmark its value size by an option), or an impossible one. The load fails before the verifier runs,
 * and the verdict after the loader's fix depends on the sizes it picks (a zero key size would let an
 * unchecked key through; a constant-key array lookup is never NULL only below max_entries). A perf event
 * array's 0 is no fault: every loader makes it one entry per CPU.
 */
function unsizedMap(prog: ProgramSpec, maps: readonly MapSpec[]): string | undefined {
  for (const name of new Set(prog.mapRefs.map((r) => r.map))) {
    const m = maps.find((x) => x.name === name);
    if (!m || (m.type === MapType.PERF_EVENT_ARRAY && m.maxEntries === 0)) continue;
    const fault = mapSizeFault(m);
    if (fault)
      return `map '${m.name}': ${fault}: the kernel would not create it as the object has it, so it never verifies the program (its loader must size the map first)`;
  }
  return undefined;
}

/** A refusal before the walk for something bpfkit does not model. */
function unmodelledResult(message: string): VerifyResult {
  return {
    accepted: false,
    pc: 0,
    message,
    unmodelled: true,
    log: `${message}\n`,
    stats: { processed: 0, totalStates: 0, peakStates: 0, maxStatesPerInsn: 0 },
    ms: 0,
  };
}

/** Verify every program of an object (or the named ones); one result per program, in the spec's order. */
export function verifyObject(
  spec: ObjectSpec,
  opts: Partial<VerifyOptions> & { programs?: string[] } = {},
): { program: ProgramSpec; result: VerifyResult }[] {
  const chosen = opts.programs ? spec.programs.filter((p) => opts.programs!.includes(p.name)) : spec.programs;
  return chosen.map((program) => ({ program, result: verifyProgram(spec, program, opts) }));
}
