/**
 * One program of an object judged twice, as a load would see it: prepared by the loader (CO-RE against the
 * running kernel, externs, attach targets), then loaded by the kernel (root) and checked by bpfkit's
 * verifyProgram with the kernel's BTF and this kernel's helper tables. The selftest sweep
 * (scripts/verifier-sweep.ts) writes each result as one JSON line; test/verifier/packaged-objects.test.ts
 * judges Debian's packaged objects with it.
 */
import { BpfkitError } from '../src/util/errors.js';
import type { ObjectSpec } from '../src/elf/spec.js';
import { prepareSpec } from '../src/loader/load-collection.js';
import type { KernelEnv } from '../src/loader/kernel-env.js';
import { progTypeName } from '../src/elf/section-types.js';
import type { Btf } from '../src/btf/btf.js';
import { verifyProgram } from '../src/verifier/index.js';
import { kernelVerdictObject } from './kernel-verdict.js';

/** What the kernel said: a verdict of its verifier, or why the load failed before the verifier ran. */
export type KernelSays =
  | { verdict: 'accepted' }
  | { verdict: 'refused'; pc?: number; message: string }
  /** `prepare`: bpfkit's loader refused first (no such attach target or kfunc); `load`: BPF_PROG_LOAD or a map failed (EPERM...). */
  | { verdict: 'not-judged'; stage: 'prepare' | 'load'; reason: string };

/** What bpfkit's verifier said (`error`: it threw, a bug in bpfkit). */
export type BpfkitSays =
  | { verdict: 'ok' }
  | { verdict: 'refused'; pc?: number; message: string }
  | { verdict: 'not-modelled'; message: string }
  | { verdict: 'error'; message: string };

/** One line of the sweep's output: a program's two verdicts, or an object bpfkit's ELF reader refuses. */
export interface SweepRecord {
  /** The object's file name. */
  object: string;
  /** Absent when the object does not parse (`parseError`). */
  program?: string;
  section?: string;
  type?: string;
  parseError?: string;
  kernel?: KernelSays;
  /** Absent when the loader could not prepare the program (nothing to verify). */
  bpfkit?: BpfkitSays;
  /** Wall-clock ms of the kernel's load and of bpfkit's verification. */
  kernelMs?: number;
  bpfkitMs?: number;
}

/** What judging needs from the running kernel, read once per run. */
export interface JudgeEnv {
  env: KernelEnv;
  kernelBtf: Btf | undefined;
  helperAvailable: (type: number, id: number) => boolean;
}

/** An error's message on one line (the first), for a record; one not bpfkit's own (a bug) named by its class. */
function oneLine(err: unknown): string {
  const text =
    err instanceof BpfkitError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split('\n')[0]!;
}

/** Judge `program` of the parsed object `spec` (file name `object`). Never throws: a failure is a record. */
export function judgeProgram(spec: ObjectSpec, object: string, program: string, j: JudgeEnv): SweepRecord {
  const p = spec.programs.find((q) => q.name === program);
  if (!p) return { object, program, parseError: `no program '${program}'` };
  const rec: SweepRecord = { object, program, section: p.section, type: progTypeName(p.type) };
  let prepared: ObjectSpec;
  try {
    prepared = prepareSpec(spec, { engine: 'kernel', programs: [program] }, j.env);
  } catch (err) {
    rec.kernel = { verdict: 'not-judged', stage: 'prepare', reason: oneLine(err) };
    return rec;
  }
  try {
    const k = kernelVerdictObject(prepared, program);
    rec.kernel = k.accepted
      ? { verdict: 'accepted' }
      : { verdict: 'refused', ...(k.pc !== undefined ? { pc: k.pc } : {}), message: k.message ?? '' };
    rec.kernelMs = Math.round(k.ms * 10) / 10;
  } catch (err) {
    rec.kernel = { verdict: 'not-judged', stage: 'load', reason: oneLine(err) };
  }
  const prog = prepared.programs.find((q) => q.name === program)!;
  const t0 = performance.now();
  try {
    const v = verifyProgram(prepared, prog, { kernelBtf: j.kernelBtf, helperAvailable: j.helperAvailable });
    rec.bpfkit = v.unmodelled
      ? { verdict: 'not-modelled', message: v.message ?? '' }
      : v.accepted
        ? { verdict: 'ok' }
        : { verdict: 'refused', ...(v.pc !== undefined ? { pc: v.pc } : {}), message: v.message ?? '' };
  } catch (err) {
    rec.bpfkit = { verdict: 'error', message: oneLine(err) };
  }
  rec.bpfkitMs = Math.round((performance.now() - t0) * 10) / 10;
  return rec;
}
