/**
 * `bpfkit verify OBJ|BIN|EXE`: predict whether the kernel's verifier accepts each program, and why not,
 * with no kernel needed. An ELF object's programs are checked with their maps (an executable's: those of
 * the objects a libbpf skeleton embedded in it); a raw `.bin` of 8-byte instructions needs --type. Exit 0
 * when every program checked is accepted, 1 when one is refused (its log on stdout) or not modelled
 * (bpfkit cannot predict it: said so, never as a refusal), 2 for bad input.
 */
import { readFileSync } from 'node:fs';
import { InputError, UsageError } from '../../util/errors.js';
import { intFlag, parseFlags } from '../args.js';
import { isElf } from '../../asm/listing.js';
import { hasCoreRelocations, parseObject } from '../../elf/index.js';
import { EM_BPF } from '../../elf/elf-file.js';
import { bpfObjectsIn, elfMachine } from '../../elf/embedded.js';
import type { ObjectSpec, ProgramSpec } from '../../elf/spec.js';
import { decodeProgram, type Instruction } from '../../isa/index.js';
import { disassembleOne } from '../../asm/index.js';
import { typeFlag } from '../type-flag.js';
import { MoreProgTypes } from '../../elf/section-types.js';
import { verifyInstructions, verifyProgram, type VerifyOptions, type VerifyResult } from '../../verifier/index.js';

export const help = `usage: bpfkit verify OBJ|BIN|EXE [options]

Check programs as the kernel's verifier would (privileged loader), without loading them. Exit 0: all
accepted; 1: one refused (with the log) or not modelled (bpfkit cannot predict the kernel's answer); 2: bad input.
An object is judged as a load would give it to the kernel: CO-RE relocations applied and externs (kfuncs,
ksyms, .kconfig) resolved against the running kernel's BTF and config. An executable built with a libbpf
skeleton (bcc's libbpf-tools, xdp-tools...) is judged by the BPF objects embedded in it.

options:
  --type T          program type, as bpftool names it (xdp, sched_cls or tc, cgroup_sock_addr, ...) or a
                    libbpf section name, which also gives the expected attach type the cgroup and socket
                    types need (cgroup/connect4, cgroup/getsockopt, sockops, sk_msg, sk_lookup, ...) —
                    required for raw .bin; overrides an object's sections. Modelled: socket_filter,
                    sched_cls, sched_act, xdp, cgroup_skb, sk_skb, kprobe, tracepoint, raw_tracepoint,
                    perf_event, cgroup_sock, cgroup_sock_addr, cgroup_sysctl, cgroup_sockopt, sk_msg,
                    sk_lookup, sock_ops, sk_reuseport, lwt_in, lwt_out, lwt_xmit; an object's tp_btf,
                    iterator, netfilter and struct_ops (tcp_congestion_ops, bpf_dummy_ops) programs by the
                    running kernel's BTF; any other type is answered "not modelled"
  --program P       only this program of an object (repeatable)
  --log-level N     0: the fault only (default), 1: every instruction walked, 2: with the state before each
  --stats           print instructions processed, states and time for accepted programs too
  --states          the debugger's view: every instruction with the register and stack states the
                    walk met before it (up to 8 distinct ones each, as the kernel's log prints them)
  --this-kernel     also ask the running kernel (root) which helpers each program type may call: a
                    kernel built without a subsystem, or patched, refuses some that upstream allows
  --max-entries N   give N entries to every map the object leaves at max_entries 0 (a tool's loader sizes
                    those at run time; without this their programs are not modelled, as no kernel would
                    create such a map)
`;

/** `--type`: a number, or what `run` and `prog load` take (a bpftool type name or a libbpf section name, with its attach type). */
function parseType(name: string | undefined): { type: number; attachType?: number } | undefined {
  if (name === undefined) return undefined;
  if (/^\d+$/.test(name)) return { type: Number(name) };
  const st = typeFlag(name)!;
  return st.attachType === undefined ? { type: st.type } : { type: st.type, attachType: st.attachType };
}

const STATES_PER_INSN = 8;

/** Each instruction, then the states the walk met before it (or that it was never reached). */
function statesListing(
  name: string,
  insns: readonly Instruction[],
  states: Map<number, { walked: number; states: string[] }>,
): string {
  const out = [`${name}: states before each instruction`];
  for (const insn of insns) {
    const seen = states.get(insn.pc);
    out.push(`${insn.pc}: ${disassembleOne(insn)}${seen ? `    (walked ${seen.walked}x)` : '    (not reached)'}`);
    for (const st of seen?.states ?? []) out.push(`      ${st}`);
    if (seen && seen.walked > seen.states.length && seen.states.length === STATES_PER_INSN) out.push('      ...');
  }
  return out.join('\n') + '\n';
}

/** What `verify` asks of every program: the flags, and the running kernel's helper table when probed. */
type JudgeOptions = Omit<Partial<VerifyOptions>, 'kernelBtf'>;

/**
 * One program's verdict, or — when a load would fail before the verifier saw it — the load's error line
 * (an attach target the kernel lacks).
 */
type Judged = { name: string; insns: readonly Instruction[] } & (
  { result: VerifyResult; missingTarget?: undefined } | { result?: undefined; missingTarget: string }
);

/**
 * Judge `progs` of one object as a load would give them to the kernel (CO-RE applied, externs resolved,
 * struct_ops laid out against the running kernel when the object needs it).
 */
async function judgeObject(spec: ObjectSpec, progs: readonly ProgramSpec[], opts: JudgeOptions): Promise<Judged[]> {
  const out: Judged[] = [];
  // tp_btf, iterator, netfilter and struct_ops programs are checked by the running kernel's BTF
  // (/sys/kernel/btf/vmlinux), and an object with CO-RE relocations or externs is prepared against the
  // running kernel (below): /sys and /proc are read only for them.
  const btfTypes: number[] = [MoreProgTypes.TRACING, MoreProgTypes.NETFILTER, MoreProgTypes.STRUCT_OPS];
  const prepares = (spec.externs?.length ?? 0) > 0 || hasCoreRelocations(spec);
  const env =
    prepares || progs.some((p) => btfTypes.includes(opts.type ?? p.type))
      ? (await import('../../loader/kernel-env.js')).runningKernel()
      : undefined;
  const kernelBtf = env?.btf();
  // A program that attaches by BTF name (fentry/fexit/fmod_ret to a kernel function, tp_btf, lsm, iter)
  // whose target the running kernel lacks never reaches the verifier: libbpf fails the load ("failed to
  // find kernel BTF type ID of 'x'"), as `prog load` does here. So verify says so too, in the load's line
  // naming the target (stderr, exit 2), rather than "not modelled"; the object's other programs are still
  // judged (a tool's skeleton turns off the programs whose targets are missing). (--type overrides the
  // sections' types, and their targets with them.)
  const missing = new Map<string, string>();
  if (env && kernelBtf && opts.type === undefined && progs.some((p) => p.attachBtf)) {
    const { resolveAttachTargets } = await import('../../loader/attach-btf.js');
    for (const p of progs.filter((q) => q.attachBtf)) {
      try {
        resolveAttachTargets({ ...spec, programs: [p] }, env);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        missing.set(p.name, err.message);
      }
    }
  }
  // The verifier judges what a load gives the kernel: CO-RE relocations applied against the running
  // kernel's BTF, then the externs resolved (kfunc calls by BTF id, ksyms, .kconfig), as prepareSpec does
  // before a kernel load. Unprepared, a kfunc call is a call to nowhere and a CO-RE offset the compiler's.
  // When that fails every program is not modelled, saying why.
  let judged: ObjectSpec = spec;
  let prepareError: string | undefined;
  if (env && prepares) {
    try {
      const { applyCore } = await import('../../loader/core.js');
      const { resolveExterns } = await import('../../loader/externs.js');
      judged = resolveExterns(applyCore(spec), env, 'kernel');
    } catch (err) {
      prepareError = (err as Error).message.split('\n')[0];
    }
  }
  // A struct_ops program serves the member its `.struct_ops` map binds it to in the running kernel's struct,
  // found as a load finds it (resolveStructOps); when that fails the program is not modelled, saying why.
  let layoutError: string | undefined;
  if (env && kernelBtf && !prepareError && progs.some((p) => (opts.type ?? p.type) === MoreProgTypes.STRUCT_OPS)) {
    try {
      judged = (await import('../../loader/struct-ops.js')).resolveStructOps(judged, env);
    } catch (err) {
      layoutError = (err as Error).message.split('\n')[0];
    }
  }
  for (const p of progs) {
    const gone = missing.get(p.name);
    if (gone !== undefined) {
      out.push({ name: p.name, missingTarget: gone, insns: p.insns });
      continue;
    }
    const laidOut = judged.programs.find((q) => q.name === p.name) ?? p;
    const prog = p.unsupported
      ? laidOut
      : (opts.type ?? p.type) === 0
        ? { ...p, unsupported: `its section '${p.section}' names no program type: give one with --type` }
        : prepareError
          ? { ...p, unsupported: `it cannot be prepared as a load prepares it: ${prepareError}` }
          : layoutError && p.type === MoreProgTypes.STRUCT_OPS
            ? { ...p, unsupported: `its struct_ops map cannot be laid out for this kernel: ${layoutError}` }
            : laidOut;
    out.push({ name: p.name, result: verifyProgram(judged, prog, { ...opts, kernelBtf }), insns: p.insns });
  }
  return out;
}

/**
 * The BPF objects an ELF file holds: itself when it is one (EM_BPF), else those a libbpf skeleton embedded
 * in an executable (src/elf/embedded.ts), each named `FILE@0xOFFSET`. An ELF with neither is bad input.
 */
function objectsOf(bytes: Uint8Array, file: string): { bytes: Uint8Array; path: string; prefix: string }[] {
  const machine = elfMachine(bytes);
  // A header too short to name a machine is the ELF reader's to refuse, with its offset.
  if (machine === undefined || machine === EM_BPF) return [{ bytes, path: file, prefix: '' }];
  const found = bpfObjectsIn(bytes);
  if (found.length === 0)
    throw new InputError(
      `an ELF file for machine ${machine} with no BPF object in it (not EM_BPF ${EM_BPF}, and no embedded one as a libbpf skeleton holds)`,
      file,
    );
  return found.map((o) => {
    const at = `0x${o.offset.toString(16)}`;
    return {
      bytes: bytes.subarray(o.offset, o.offset + o.length),
      path: `${file}@${at}`,
      prefix: found.length > 1 ? `${at}/` : '',
    };
  });
}

export async function run(argv: string[]): Promise<number> {
  const {
    values,
    positionals,
    help: wantHelp,
  } = parseFlags(argv, {
    type: { type: 'string' },
    program: { type: 'string', multiple: true },
    'log-level': { type: 'string' },
    stats: { type: 'boolean' },
    states: { type: 'boolean' },
    'this-kernel': { type: 'boolean' },
    'max-entries': { type: 'string' },
  });
  if (wantHelp) {
    process.stdout.write(help);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`verify takes exactly one file (got ${positionals.length})\n${help}`);
  const file = positionals[0]!;
  const given = parseType(values.type);
  const type = given?.type;
  const attachType = given?.attachType;
  const logLevel = intFlag('log-level', values['log-level'], 0);
  if (logLevel > 2) throw new UsageError('--log-level must be 0, 1 or 2');
  const maxEntries =
    values['max-entries'] === undefined ? undefined : intFlag('max-entries', values['max-entries'], 1, 1, 0xffffffff);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
  }

  const results: Judged[] = [];
  const states = values.states ? STATES_PER_INSN : undefined;
  // The kernel layer (and its FFI) loads only when asked to consult the running kernel: verify stays pure.
  const helperAvailable = values['this-kernel']
    ? (await import('../../kernel/helper-probe.js')).kernelHelperProbe()
    : undefined;
  if (isElf(bytes)) {
    const objects = objectsOf(bytes, file);
    const wanted = values.program;
    const specs = objects.map((o) => ({ ...o, spec: parseObject(o.bytes, { path: o.path }) }));
    // Maps a tool sizes at run time (max_entries 0 in the object, bpf_map__set_max_entries before the
    // load) are given the size asked for; without it their programs are not modelled, saying why.
    if (maxEntries !== undefined)
      for (const { spec } of specs) for (const m of spec.maps) if (m.maxEntries === 0) m.maxEntries = maxEntries;
    for (const name of wanted ?? []) {
      if (!specs.some(({ spec }) => spec.programs.some((p) => p.name === name)))
        throw new UsageError(
          `${file}: no program '${name}' (has ${specs.flatMap(({ spec }) => spec.programs.map((p) => p.name)).join(', ')})`,
        );
    }
    if (objects.length > 1 || objects[0]!.path !== file)
      process.stdout.write(
        `${file}: ${objects.length} BPF object${objects.length > 1 ? 's' : ''} embedded (libbpf skeleton) at ${objects.map((o) => o.path.slice(file.length + 1)).join(', ')}\n`,
      );
    for (const { spec, path, prefix } of specs) {
      const progs = wanted ? spec.programs.filter((p) => wanted.includes(p.name)) : spec.programs;
      if (progs.length === 0 && !wanted) throw new InputError('the object has no programs', path);
      const opts = { type, attachType, logLevel, states, helperAvailable };
      for (const r of await judgeObject(spec, progs, opts)) results.push({ ...r, name: prefix + r.name });
    }
  } else {
    if (type === undefined) throw new UsageError(`${file}: raw instructions need --type (e.g. --type xdp)`);
    // Raw instructions are one program with no name: --program would pick nothing and be ignored.
    if (values.program)
      throw new UsageError(`${file}: --program names a program of an ELF object; this file is raw instructions`);
    if (maxEntries !== undefined)
      throw new UsageError(`${file}: --max-entries sizes an ELF object's maps; raw instructions have none`);
    if (bytes.length === 0 || bytes.length % 8 !== 0)
      throw new InputError(`${bytes.length} bytes is not a whole number of 8-byte instructions`, file);
    const insns = decodeProgram(bytes, { source: file });
    results.push({
      name: file,
      result: verifyInstructions(insns, { type, attachType, logLevel, states, helperAvailable }),
      insns,
    });
  }

  let refused = false;
  let badInput = false;
  for (const { name, result, insns, missingTarget } of results) {
    if (result === undefined) {
      badInput = true;
      process.stderr.write(`bpfkit verify: ${missingTarget}\n`);
      continue;
    }
    const s = result.stats;
    if (result.states) process.stdout.write(statesListing(name, insns, result.states));
    if (result.accepted) {
      if (logLevel > 0) process.stdout.write(result.log);
      const extra = values.stats
        ? ` (processed ${s.processed} insns, ${s.totalStates} states, ${result.ms.toFixed(1)} ms)`
        : '';
      process.stdout.write(`${name}: accepted${extra}\n`);
    } else if (result.unmodelled) {
      // Not a prediction: the kernel may accept or refuse it. Said as such, never as a refusal.
      refused = true;
      process.stdout.write(`${name}: not modelled at insn ${result.pc}: ${result.message!.split('\n').join('; ')}\n`);
    } else {
      refused = true;
      process.stdout.write(result.log);
      process.stdout.write(`${name}: refused at insn ${result.pc}: ${result.message!.split('\n').join('; ')}\n`);
    }
  }
  return badInput ? 2 : refused ? 1 : 0;
}
