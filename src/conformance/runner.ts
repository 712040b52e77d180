/**
 * Runs conformance `.data` cases on the VM: assemble (or take `-- raw`), load with the suite's test
 * helpers, run on the `-- mem` bytes, compare r0 (or the error) with the expectation. Used by
 * `bpfkit conformance` and by the tests, so the CLI and the API agree by construction.
 *
 * The harness sits beside the VM rather than in it: it needs the assembler too, and it is a test tool,
 * not part of the library's API.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../asm/assemble.js';
import { decodeProgram, type Instruction } from '../isa/index.js';
import { InputError } from '../util/errors.js';
import { Vm, type EngineKind } from '../vm/interpreter.js';
import { VmError } from '../vm/vm-error.js';
import { parseConformanceData, type ConformanceCase } from './data-file.js';
import { registerTestHelpers } from './test-helpers.js';

export interface CaseOutcome {
  name: string;
  file: string;
  pass: boolean;
  /** `PASS name` or `FAIL name: why`. */
  line: string;
  /** r0 when the program ran to the end. */
  r0?: bigint;
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** The program of a case as instructions (from `-- raw`, else assembled in the suite's syntax). */
export function caseProgram(c: ConformanceCase): Instruction[] {
  if (c.raw) return decodeProgram(c.raw, { source: c.file });
  if (!c.asm) throw new InputError('no program', c.file);
  // Blank lines in front, so that the assembler's line numbers are the .data file's.
  return assemble('\n'.repeat(Math.max(0, c.asm.line - 1)) + c.asm.text, { syntax: 'conformance', source: c.file });
}

/** Run one parsed case. VM errors become FAIL lines; malformed input (InputError) propagates. */
export function runCase(c: ConformanceCase, engine: EngineKind): CaseOutcome {
  const insns = caseProgram(c);
  const vm = new Vm({ engine });
  registerTestHelpers(vm.helpers);
  const fail = (why: string): CaseOutcome => ({
    name: c.name,
    file: c.file,
    pass: false,
    line: `FAIL ${c.name}: ${why}`,
  });
  let r0: bigint;
  try {
    const prog = vm.load(insns, { name: c.name });
    // the program may write its memory: run on a copy so the case can be run again
    r0 = vm.runOnMemory(prog, c.mem.slice()).r0;
  } catch (err) {
    if (!(err instanceof VmError)) throw err;
    if (c.error !== undefined) {
      if (err.message.toLowerCase().includes(c.error.toLowerCase()))
        return { name: c.name, file: c.file, pass: true, line: `PASS ${c.name}` };
      return fail(`expected error '${c.error}' got error: ${err.message}`);
    }
    return fail(`expected ${hex(c.result ?? 0n)} got error: ${err.message}`);
  }
  if (c.error !== undefined) return { ...fail(`expected error '${c.error}' got ${hex(r0)}`), r0 };
  if (r0 !== c.result) return { ...fail(`expected ${hex(c.result ?? 0n)} got ${hex(r0)}`), r0 };
  return { name: c.name, file: c.file, pass: true, line: `PASS ${c.name}`, r0 };
}

/** Read, parse and run one file. */
export function runFile(file: string, engine: EngineKind): CaseOutcome {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read: ${(err as Error).message}`, file);
  }
  return runCase(parseConformanceData(text, file), engine);
}

/** Files named on the command line, with directories expanded to their `.data` files (recursively, sorted). */
export function collectDataFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.data')) out.push(p);
    }
  };
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new InputError('no such file or directory', p);
    }
    if (st.isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}
