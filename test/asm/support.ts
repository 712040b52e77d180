/** Shared material for the assembler/disassembler tests. */
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { conformanceDir, repoPath } from '../support/env.js';
import { type Instruction, checkInstruction, makeInsn, opcodeTable } from '../../src/isa/index.js';
import { cliScript } from '../support/cli-script.js';

export interface ConformanceProgram {
  file: string;
  asm: string;
  /** The `-- raw` words, when the test has them. */
  raw?: bigint[];
}

function section(text: string, name: string): string | undefined {
  const m = new RegExp(`^-- ${name}\\n([\\s\\S]*?)(?=^-- |(?![\\s\\S]))`, 'm').exec(text);
  return m?.[1];
}

/** The suite's programs (call needs(t, { conformance: true }) first). */
export function conformancePrograms(): ConformanceProgram[] {
  return readdirSync(conformanceDir)
    .filter((f) => f.endsWith('.data'))
    .sort()
    .map((file) => {
      const text = readFileSync(`${conformanceDir}/${file}`, 'utf8');
      const raw = section(text, 'raw');
      return {
        file,
        asm: section(text, 'asm') ?? '',
        raw: raw
          ? raw
              .trim()
              .split(/\s+/)
              .map((w) => BigInt(w))
          : undefined,
      };
    });
}

export const fixtureDir = repoPath('test', 'fixtures', 'asm');

export function fixtureObjects(): string[] {
  return readdirSync(fixtureDir)
    .filter((f) => f.endsWith('.o'))
    .sort();
}

/**
 * Every valid instruction shape: each opcode of the table with field values drawn from a small set of
 * interesting ones (registers 0/1/10, offsets 0/±3/sign-extension widths, immediates 0/±4/16/32/64/extremes,
 * every atomic op), keeping those checkInstruction accepts. lddw with every pseudo source and 64-bit extremes.
 */
export function allValidInstructions(): Instruction[] {
  const out: Instruction[] = [];
  const seen = new Set<string>();
  const regs = [0, 1, 10];
  const offs = [0, 3, -3, 1, 8, 16, 32, 32767, -32768];
  const imms = [0, 4, -4, 16, 32, 64, 0x7fffffff, -0x80000000, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1];
  for (const o of opcodeTable) {
    if (o.code === 0x18) continue;
    for (const dst of regs)
      for (const src of [0, 1, 2, 10])
        for (const off of offs)
          for (const imm of imms) {
            const insn = makeInsn({ code: o.code, dst, src, off, imm });
            if (checkInstruction(insn)) continue;
            const key = `${o.code},${dst},${src},${off},${imm}`;
            if (seen.has(key)) continue;
            seen.add(key);
            out.push(insn);
          }
  }
  for (let src = 0; src <= 6; src++) {
    for (const [imm, imm2] of [
      [0, 0],
      [1, 0],
      [-1, -1],
      [0x12345678, 0x7abcdef0],
      [0, -0x80000000],
      [-32, 0],
    ] as const) {
      out.push(makeInsn({ code: 0x18, dst: src === 0 ? 1 : 2, src, imm, imm2 }));
    }
  }
  return out;
}

/** Run the compiled CLI (this build, not dist/) with arguments and optional stdin. */
export function bpfkit(args: string[], input?: string | Uint8Array) {
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  return spawnSync(process.execPath, ['-e', cliScript(main), '--', ...args], {
    encoding: 'utf8',
    input,
    maxBuffer: 64 << 20,
  });
}
