/**
 * `bpfkit objdump OBJ [--json]`: what an ELF object holds, as the loader sees it — programs (section,
 * type, instruction count after linking subprograms, maps used), maps (type, sizes, flags, pinning,
 * initial contents), license, kernel version, relocations applied and BTF sizes.
 */
import { parseFlags } from '../args.js';
import { loadObjectFile, type ParsedObject } from '../../elf/index.js';
import { attachTypeName, progTypeName } from '../../elf/section-types.js';
import { MapType, ProgType, nameOf } from '../../uapi/types.js';
import type { MapSpec, MapValueSpec } from '../../elf/spec.js';
import { OP_LDDW } from '../../isa/opcodes.js';
import type { CoreResultSpec } from '../../elf/spec.js';
import { hasCoreRelocations } from '../../elf/core-apply.js';
import { coreReloKindName } from '../../btf/core/kinds.js';
import { applyCore, KERNEL_BTF_PATH } from '../../loader/core.js';
import { BpfkitError, UsageError } from '../../util/errors.js';

export const help = `usage: bpfkit objdump OBJ [options]

Show the programs, maps, license and relocations of an eBPF ELF object (clang -target bpf -c).

options:
  --json                 machine-readable output (initial map contents included, as hex)
  --contents             also list initial map contents in the text output
  --default-type TYPE    program type for sections with no libbpf-style name (e.g. sched_cls)
  --btf FILE             resolve CO-RE relocations against this BTF (default: the running kernel's)
  --lines                list .BTF.ext line_info (pc, file:line:column, source) per program
`;

export async function run(argv: string[]): Promise<number> {
  const {
    values,
    positionals,
    help: wantHelp,
  } = parseFlags(argv, {
    json: { type: 'boolean' },
    contents: { type: 'boolean' },
    'default-type': { type: 'string' },
    btf: { type: 'string' },
    lines: { type: 'boolean' },
  });
  if (wantHelp) {
    process.stdout.write(help);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`objdump takes exactly one object file (got ${positionals.length})\n${help}`);
  const defaultProgramType = parseProgType(values['default-type']);
  const obj = loadObjectFile(positionals[0]!, { defaultProgramType });
  const core = resolveCore(obj, values.btf);
  process.stdout.write(
    values.json
      ? `${JSON.stringify({ ...toJson(obj), ...coreJson(obj, core) }, null, 2)}\n`
      : toText(obj, values.contents === true) + btfExtText(obj, core, values.lines === true),
  );
  return 0;
}

/** CO-RE relocations resolved against the target (when it can be read), or why they could not be. */
interface CoreListing {
  results?: Map<string, CoreResultSpec[]>;
  target: string;
  error?: string;
}

function resolveCore(o: ParsedObject, btf: string | undefined): CoreListing {
  const target = btf ?? KERNEL_BTF_PATH;
  if (!hasCoreRelocations(o)) return { target };
  try {
    const relocated = applyCore(o, btf);
    return { target, results: new Map(relocated.programs.map((p) => [p.name, p.coreResults ?? []])) };
  } catch (err) {
    // objdump still lists the records; it says in one line why they are not resolved.
    if (err instanceof BpfkitError) return { target, error: err.message };
    throw err;
  }
}

function coreJson(o: ParsedObject, core: CoreListing) {
  return {
    btfExt: o.programs.map((p) => ({
      program: p.name,
      funcInfo: p.funcInfo ?? [],
      lineInfo: (p.lineInfo ?? []).map((l) => ({
        pc: l.pc,
        file: l.file,
        line: l.line,
        column: l.column,
        source: l.source,
      })),
      coreRelocations: core.results?.get(p.name) ?? p.coreRelos ?? [],
    })),
    ...(hasCoreRelocations(o) ? { coreTarget: core.target, ...(core.error ? { coreError: core.error } : {}) } : {}),
  };
}

function btfExtText(o: ParsedObject, core: CoreListing, lines: boolean): string {
  if (!o.btfExt) return '';
  const out: string[] = ['', 'BTF.ext:'];
  for (const p of o.programs) {
    const relos = p.coreRelos ?? [];
    out.push(
      `  ${p.name}: func_info ${p.funcInfo?.length ?? 0}, line_info ${p.lineInfo?.length ?? 0}, CO-RE relocations ${relos.length}`,
    );
    if (lines)
      for (const l of p.lineInfo ?? [])
        out.push(`    pc ${l.pc}  ${l.file.split('/').pop()}:${l.line}:${l.column}  ${l.source.trim()}`);
    const results = core.results?.get(p.name);
    if (results) for (const r of results) out.push(`    pc ${r.pc}  ${r.description}`);
    else for (const r of relos) out.push(`    pc ${r.pc}  ${coreReloKindName(r.kind)} [${r.typeId}] "${r.access}"`);
  }
  if (hasCoreRelocations(o))
    out.push(
      core.error
        ? `CO-RE relocations not resolved: ${core.error}`
        : `CO-RE relocations resolved against ${core.target}`,
    );
  return `${out.join('\n')}\n`;
}

function parseProgType(name: string | undefined): number {
  if (name === undefined) return ProgType.UNSPEC;
  const key = name.toUpperCase().replace(/^BPF_PROG_TYPE_/, '');
  const v = (ProgType as Record<string, number>)[key];
  if (v === undefined)
    throw new UsageError(
      `--default-type: unknown program type '${name}' (e.g. socket_filter, sched_cls, sched_act, xdp)`,
    );
  return v;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const slotsOf = (p: ParsedObject['programs'][number]) => p.insns.reduce((n, i) => n + (i.code === OP_LDDW ? 2 : 1), 0);
const valueJson = (v: MapValueSpec) => (v instanceof Uint8Array ? hex(v) : v);

function mapJson(m: MapSpec): Record<string, unknown> {
  return {
    name: m.name,
    type: m.type,
    typeName: nameOf(MapType, m.type),
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    flags: m.flags,
    pinning: m.pinning,
    frozen: m.frozen,
    section: m.section,
    btfKeyTypeId: m.btfKeyTypeId,
    btfValueTypeId: m.btfValueTypeId,
    ...(m.innerMap ? { innerMap: mapJson(m.innerMap) } : {}),
    contents: m.contents.map((c) => ({ key: hex(c.key), value: valueJson(c.value) })),
  };
}

function toJson(o: ParsedObject) {
  return {
    path: o.path,
    endian: o.endian,
    license: o.license,
    kernelVersion: o.kernelVersion,
    programs: o.programs.map((p) => ({
      name: p.name,
      section: p.section,
      type: p.type,
      typeName: progTypeName(p.type),
      ...(p.attachType !== undefined ? { attachType: p.attachType, attachTypeName: attachTypeName(p.attachType) } : {}),
      instructions: p.insns.length,
      slots: slotsOf(p),
      maps: [...new Set(p.mapRefs.map((r) => r.map))],
    })),
    maps: o.maps.map(mapJson),
    relocations: o.relocationCounts,
    btf: { bytes: o.btf?.length ?? 0, extBytes: o.btfExt?.length ?? 0 },
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function toText(o: ParsedObject, contents: boolean): string {
  const out: string[] = [];
  out.push(`${o.path}: ELF64 eBPF object, ${o.endian}-endian`);
  out.push(`license: ${o.license ? JSON.stringify(o.license) : '(none)'}`);
  if (o.kernelVersion) out.push(`kernel version: 0x${o.kernelVersion.toString(16)}`);
  out.push('');
  out.push(`programs (${o.programs.length}):`);
  if (o.programs.length) {
    out.push(
      table(
        ['NAME', 'SECTION', 'TYPE', 'ATTACH', 'INSNS', 'MAPS'],
        o.programs.map((p) => [
          p.name,
          p.section,
          progTypeName(p.type),
          p.attachType !== undefined ? attachTypeName(p.attachType) : '-',
          String(p.insns.length),
          [...new Set(p.mapRefs.map((r) => r.map))].join(',') || '-',
        ]),
      ),
    );
  }
  out.push('');
  out.push(`maps (${o.maps.length}):`);
  if (o.maps.length) {
    const rows: string[][] = [];
    const addRow = (m: MapSpec, indent: string) =>
      rows.push([
        indent + m.name,
        nameOf(MapType, m.type),
        String(m.keySize),
        String(m.valueSize),
        String(m.maxEntries),
        `0x${m.flags.toString(16)}`,
        m.pinning + (m.frozen ? ',frozen' : ''),
        String(m.contents.length),
        m.section,
      ]);
    for (const m of o.maps) {
      addRow(m, '');
      if (m.innerMap) addRow(m.innerMap, '  ');
    }
    out.push(table(['NAME', 'TYPE', 'KEY', 'VALUE', 'MAX', 'FLAGS', 'PINNING', 'INIT', 'SECTION'], rows));
  }
  if (contents) {
    for (const m of o.maps) {
      if (m.contents.length === 0) continue;
      out.push('', `${m.name} initial contents:`);
      for (const c of m.contents) {
        const v =
          c.value instanceof Uint8Array
            ? hex(c.value)
            : 'program' in c.value
              ? `program ${c.value.program}`
              : `map ${c.value.map}`;
        out.push(`  key ${hex(c.key)}: ${v}`);
      }
    }
  }
  out.push('');
  const rel = Object.entries(o.relocationCounts).map(([k, v]) => `${k} ${v}`);
  out.push(`relocations applied to code: ${rel.length ? rel.join(', ') : 'none'}`);
  out.push(`BTF: ${o.btf ? `${o.btf.length} bytes` : 'none'}${o.btfExt ? `, BTF.ext ${o.btfExt.length} bytes` : ''}`);
  return `${out.join('\n')}\n`;
}
