/**
 * The kernel as the verifier's oracle: load a program with BPF_PROG_LOAD (as root) and report accepted or
 * refused, the instruction the kernel refused at (the last instruction its log printed, or the one its
 * message names) and its message.
 */
import { createMap, loadProgram, loadKernelCollection, mapFromFd, VerifierError } from '../../src/kernel/index.js';
import type { KernelMap } from '../../src/kernel/index.js';
import { closeFd } from '../../src/kernel/bpf-syscall.js';
import { loadBtf } from '../../src/kernel/btf-load.js';
import { encodeProgram, type Instruction } from '../../src/isa/index.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import type { KernelField, VerifierMap } from '../../src/verifier/index.js';

/** The kernel's verdict on one program. */
export interface KernelVerdict {
  accepted: boolean;
  pc?: number;
  message?: string;
  log: string;
  /** Kernel time of the load, ms (wall clock around BPF_PROG_LOAD). */
  ms: number;
}

/** Where and why, from a refusal's log. */
export function parseKernelLog(log: string): { pc?: number; message: string } {
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  const body = lines.filter(
    (l) => !/^processed \d+ insns|^verification time|^stack depth|^Validating|^Func#|^cur state:|^old state:/.test(l),
  );
  const message = body[body.length - 1] ?? '';
  const named = /(?:unreachable insn|from insn|infinite loop detected at insn) (\d+)/.exec(message);
  if (named) return { pc: Number(named[1]), message };
  if (/^(unknown opcode|last insn is not|jump into the middle|combined stack size|the call stack of)/.test(message))
    return { message };
  for (let i = body.length - 1; i >= 0; i--) {
    // (an instruction the kernel cannot print shows as "N: BUG_cb")
    const m = /^(\d+): (?:\([0-9a-f]{2}\)|BUG_)/.exec(body[i]!);
    if (m) return { pc: Number(m[1]), message };
  }
  return { message };
}

/**
 * Load raw instructions whose map lddws name maps by index into `maps` (with `attachType` as the
 * expected attach type, for the program types whose context depends on it, and `attachBtfId` as the
 * kernel BTF type a tracing program attaches to, and `progFlags` as BPF_PROG_LOAD's prog_flags:
 * BPF_F_SLEEPABLE for syscall programs, and `license` the program's license; `withFuncInfo` adds BTF func_info, which callbacks need;
 * `logLevel` asks for a log on success too (4: the stats line alone)).
 */
export function kernelVerdictRaw(
  insns: readonly Instruction[],
  type: number,
  maps: readonly VerifierMap[],
  attachType?: number,
  attachBtfId?: number,
  progFlags = 0,
  license = 'GPL',
  withFuncInfo = false,
  logLevel = 0,
): KernelVerdict {
  // A map with a frozen value (`frozenValue`, as .rodata) gets it written, then is frozen, before the load.
  const frozen: KernelMap[] = [];
  const fds = maps.map((mp) => {
    // A socket or task storage map (BPF_MAP_TYPE_SK_STORAGE, _TASK_STORAGE) is created with BTF for its int key and value, and
    // BPF_F_NO_PREALLOC.
    const storage = mp.type === 24 || mp.type === 29; // socket or task storage
    // A map value with a struct bpf_spin_lock (kernelFields) is created with BTF that puts it there.
    // A value with kptrs (`__kptr`, `__kptr_untrusted`) gets BTF that types them as task_struct pointers.
    const lock = mp.kernelFields?.find((f) => f.what === 'struct bpf_spin_lock');
    const kptrs = (mp.kernelFields ?? []).filter((f) => f.what === '__kptr' || f.what === '__kptr_untrusted');
    const btf = storage
      ? loadBtf(storageBtf(mp.valueSize)).fd
      : lock || kptrs.length
        ? loadBtf(spinLockBtf(mp.valueSize, lock?.off, kptrs)).fd
        : undefined;
    try {
      const fd = createMap({
        name: mp.name,
        type: mp.type,
        keySize: mp.keySize,
        valueSize: mp.valueSize,
        maxEntries: mp.maxEntries,
        // BPF_F_RDONLY_PROG (1 << 7), BPF_F_WRONLY_PROG (1 << 8): the program's view of the values.
        flags: (mp.readOnly ? 1 << 7 : 0) | (mp.writeOnly ? 1 << 8 : 0) | (storage ? 1 : 0),
        ...(btf !== undefined ? { btfFd: btf, btfKeyTypeId: 1, btfValueTypeId: lock || kptrs.length ? 3 : 2 } : {}),
      });
      if (!mp.frozenValue) return fd;
      const km = mapFromFd(fd, mp.name);
      frozen.push(km);
      km.update(new Uint8Array(mp.keySize), mp.frozenValue);
      km.freeze();
      return km.fd;
    } finally {
      if (btf !== undefined) closeFd(btf);
    }
  });
  try {
    const patched = insns.map((i) =>
      i.code === 0x18 && (i.src === 1 || i.src === 2) ? { ...i, imm: fds[i.imm] ?? -1 } : i,
    );
    // Programs with callbacks need BTF func_info: one static function per subprogram.
    const starts = withFuncInfo ? subprogStarts(insns) : [];
    const progBtf = withFuncInfo ? loadBtf(funcInfoBtf(starts.length)).fd : undefined;
    const t0 = performance.now();
    try {
      const { fd, log } = loadProgram({
        name: 'oracle',
        type,
        insns: encodeProgram(patched),
        license,
        expectedAttachType: attachType,
        ...(attachBtfId !== undefined ? { attachBtfId } : {}),
        ...(progBtf !== undefined
          ? { btfFd: progBtf, funcInfo: new Uint8Array(new Uint32Array(starts.flatMap((at, i) => [at, i + 3])).buffer) }
          : {}),
        progFlags,
        ...(logLevel ? { logLevel } : {}),
      });
      const ms = performance.now() - t0;
      closeFd(fd);
      return { accepted: true, log: log ?? '', ms };
    } catch (err) {
      if (!(err instanceof VerifierError)) throw err;
      return { accepted: false, log: err.log, ms: performance.now() - t0, ...parseKernelLog(err.log) };
    } finally {
      if (progBtf !== undefined) closeFd(progBtf);
    }
  } finally {
    for (const fd of fds) if (!frozen.some((km) => km.fd === fd)) closeFd(fd);
    for (const km of frozen) km.close();
  }
}

/** Load one program of an object with everything it needs (maps, BTF), through the kernel engine. */
export function kernelVerdictObject(spec: ObjectSpec, program: string): KernelVerdict {
  const t0 = performance.now();
  try {
    const c = loadKernelCollection(spec, {
      programs: [program],
      pinPath: `/sys/fs/bpf/bpfkit-verifier-${process.pid}`,
      privatePinPath: true,
    });
    const ms = performance.now() - t0;
    c.close();
    return { accepted: true, log: '', ms };
  } catch (err) {
    if (!(err instanceof VerifierError)) throw err;
    return { accepted: false, log: err.log, ms: performance.now() - t0, ...parseKernelLog(err.log) };
  }
}

/** Where the subprograms start: 0, and every bpf-to-bpf call's and function pointer's target. */
function subprogStarts(insns: readonly Instruction[]): number[] {
  // (in instruction slots: an lddw is one element of `insns` and two slots)
  const starts = new Set([0]);
  let pc = 0;
  for (const i of insns) {
    if (i.code === 0x85 && i.src === 1) starts.add(pc + 1 + i.imm);
    if (i.code === 0x18 && i.src === 4) starts.add(pc + 1 + i.imm);
    pc += i.code === 0x18 ? 2 : 1;
  }
  return [...starts].sort((a, b) => a - b);
}

/**
 * Raw BTF for `count` functions: [1] int, [2] a prototype `int (void)`, [3...] FUNC `f0`, `f1`, ... —
 * the first global (the program), the others static (verified in their callers' context).
 */
function funcInfoBtf(count: number): Uint8Array {
  const names = ['int', ...Array.from({ length: count }, (_, i) => `f${i}`)];
  const nameOff: number[] = [];
  let n = 1;
  for (const name of names) {
    nameOff.push(n);
    n += name.length + 1;
  }
  const strings = new Uint8Array(n);
  names.forEach((name, i) => strings.set(Buffer.from(name, 'latin1'), nameOff[i]));
  const words = [
    ...[nameOff[0]!, 1 << 24, 4, (1 << 24) | 32], // [1] INT int
    ...[0, 13 << 24, 1], // [2] FUNC_PROTO int (void)
    ...Array.from({ length: count }, (_, i) => [nameOff[i + 1]!, (12 << 24) | (i === 0 ? 1 : 0), 2]).flat(),
  ];
  return rawBtf(new Uint8Array(new Uint32Array(words).buffer), strings);
}

/** A raw .BTF blob: the 24-byte header (little-endian, version 1), then `types`, then `strings`. */
function rawBtf(types: Uint8Array, strings: Uint8Array): Uint8Array {
  const out = new Uint8Array(24 + types.length + strings.length);
  const hdr = new DataView(out.buffer);
  hdr.setUint16(0, 0xeb9f, true);
  hdr.setUint8(2, 1);
  hdr.setUint32(4, 24, true);
  hdr.setUint32(8, 0, true);
  hdr.setUint32(12, types.length, true);
  hdr.setUint32(16, types.length, true);
  hdr.setUint32(20, strings.length, true);
  out.set(types, 24);
  out.set(strings, 24 + types.length);
  return out;
}

/** Raw BTF of two types: [1] int (32-bit signed) and [2] int[valueSize / 4], for a storage map's key and value. */
function storageBtf(valueSize: number): Uint8Array {
  const strings = [0, ...'int'.split('').map((c) => c.charCodeAt(0)), 0];
  const types = new DataView(new ArrayBuffer(16 + 24));
  // [1] INT "int": name_off 1, kind 1, size 4; encoding signed, offset 0, 32 bits.
  types.setUint32(0, 1, true);
  types.setUint32(4, 1 << 24, true);
  types.setUint32(8, 4, true);
  types.setUint32(12, (1 << 24) | 32, true);
  // [2] ARRAY of [1], indexed by [1], valueSize / 4 elements.
  types.setUint32(16, 0, true);
  types.setUint32(20, 3 << 24, true);
  types.setUint32(24, 0, true);
  types.setUint32(28, 1, true);
  types.setUint32(32, 1, true);
  types.setUint32(36, Math.max(1, valueSize / 4), true);
  return rawBtf(new Uint8Array(types.buffer), Uint8Array.from(strings));
}

/**
 * Raw BTF of [1] int, [2] struct bpf_spin_lock { int val; } and [3] struct val of `valueSize` bytes: the
 * lock at `lockOff` (if any), the kptrs at theirs (pointers to [4] struct task_struct { int pid; }, or to the
 * struct the kptrs' `target` names, through
 * a `kptr` or `kptr_untrusted` type tag, [5] to [8]), an int member at every other 4-byte offset.
 */
function spinLockBtf(valueSize: number, lockOff: number | undefined, kptrs: readonly KernelField[] = []): Uint8Array {
  // The kptrs' struct: the first one's target (all share it), task_struct by default.
  const target = kptrs.find((k) => k.target)?.target ?? 'task_struct';
  const strs: string[] = ['', 'int', 'bpf_spin_lock', 'val', 'l', target, 'pid', 'kptr', 'kptr_untrusted'];
  const members: [string, number, number][] = lockOff === undefined ? [] : [['l', 2, lockOff]];
  const taken = (off: number, at: number | undefined, size: number) =>
    at !== undefined && off + 4 > at && off < at + size;
  for (const [i, k] of kptrs.entries()) {
    members.push([`k${i}`, k.what === '__kptr' ? 8 : 6, k.off]);
    strs.push(`k${i}`);
  }
  for (let off = 0; off + 4 <= valueSize; off += 4)
    if (!taken(off, lockOff, 4) && !kptrs.some((k) => taken(off, k.off, 8))) {
      members.push([`f${off}`, 1, off]);
      strs.push(`f${off}`);
    }
  members.sort((a, b) => a[2] - b[2]);
  const strOff = new Map<string, number>();
  let n = 0;
  for (const s of strs) {
    if (!strOff.has(s)) strOff.set(s, n);
    n += s.length + 1;
  }
  const strings = new Uint8Array(n);
  for (const [s, o] of strOff) strings.set(Buffer.from(s, 'latin1'), o);
  const words: number[] = [
    // [1] INT "int", 4 bytes, signed 32 bits.
    strOff.get('int')!,
    1 << 24,
    4,
    (1 << 24) | 32,
    // [2] STRUCT "bpf_spin_lock" { int val; } (the member named by the string "int"'s neighbour, "val").
    strOff.get('bpf_spin_lock')!,
    (4 << 24) | 1,
    4,
    strOff.get('val')!,
    1,
    0,
    // [3] STRUCT "val", its members by offset (bits).
    strOff.get('val')!,
    (4 << 24) | members.length,
    valueSize,
    ...members.flatMap(([name, type, off]) => [strOff.get(name)!, type, off * 8]),
    // [4] STRUCT "task_struct" (or the kptrs' target) { int pid; } (the kernel finds its own by the name).
    strOff.get(target)!,
    (4 << 24) | 1,
    4,
    strOff.get('pid')!,
    1,
    0,
    // [5] TYPE_TAG "kptr_untrusted" -> [4], [6] PTR -> [5]; [7] TYPE_TAG "kptr" -> [4], [8] PTR -> [7].
    strOff.get('kptr_untrusted')!,
    18 << 24,
    4,
    0,
    2 << 24,
    5,
    strOff.get('kptr')!,
    18 << 24,
    4,
    0,
    2 << 24,
    7,
  ];
  return rawBtf(new Uint8Array(new Uint32Array(words).buffer), strings);
}
