/**
 * Oracles for the object loader tests: what llvm-readelf/llvm-readobj and bpftool say about an object.
 * Kept apart from the tests so each test reads as "ours == theirs".
 */
import { execFileSync } from 'node:child_process';
import { repoPath } from '../support/env.js';

export const fixture = (name: string) => repoPath('test', 'fixtures', 'elf', name);

export interface OracleSymbol {
  name: string;
  value: number;
  size: number;
  type: number;
  bind: number;
  section: number;
  sectionName: string;
}

export function readelfSymbols(path: string): OracleSymbol[] {
  const json = JSON.parse(execFileSync('llvm-readelf', ['--elf-output-style=JSON', '-s', path], { encoding: 'utf8' }));
  const o = Object.values(json[0])[0] as any;
  return o.Symbols.map(({ Symbol: s }: any) => ({
    name: s.Name.Value,
    value: s.Value,
    size: s.Size,
    type: s.Type.RawValue,
    bind: s.Binding.RawValue,
    section: s.Section.RawValue,
    sectionName: s.Section.Value,
  }));
}

export interface OracleReloc {
  section: string;
  /** Target section name (".rel.text" -> ".text", ".relsocket" -> "socket"). */
  target: string;
  offset: number;
  type: string;
  symbol: string;
}

/** llvm-readobj -r: "Section (N) .relX {" then "  0xOFF TYPE SYMBOL" lines. */
export function readobjRelocations(path: string): OracleReloc[] {
  const text = execFileSync('llvm-readobj', ['-r', path], { encoding: 'utf8' });
  const out: OracleReloc[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const head = /^\s*Section \(\d+\) (\S+) \{/.exec(line);
    if (head) section = head[1]!;
    const rel = /^\s+(0x[0-9A-F]+) (\S+) (\S+)/i.exec(line);
    if (rel && section) {
      out.push({
        section,
        target: section.replace(/^\.rela?/, ''),
        offset: Number(rel[1]),
        type: rel[2]!,
        symbol: rel[3]!,
      });
    }
  }
  return out;
}

/** bpftool's raw BTF dump (JSON): {types: [{id, kind, name, size?, type_id?, members?, ...}]}. */
export function bpftoolBtf(path: string): any[] {
  // Enum values may exceed 2^53 (bpftool prints unsigned 64-bit): keep them as strings for BigInt.
  const text = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', path], { encoding: 'utf8' });
  return JSON.parse(text.replace(/"val": ?(-?\d+)/g, '"val":"$1"')).types;
}
