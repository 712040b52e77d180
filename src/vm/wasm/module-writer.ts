/**
 * Writes a WebAssembly module in the binary format: the type, import, function, global, export and code
 * sections, in the order the specification requires. Only what the eBPF compiler needs: imported
 * functions, one imported memory and table, mutable i32 globals, defined functions with their locals,
 * exported functions.
 */
import { ByteWriter } from './bytes.js';
import { END, I32, I32_CONST } from './opcodes.js';

/** A function signature: parameter and result value types (opcodes.ts I32/I64/F64). */
export interface FuncType {
  params: readonly number[];
  results: readonly number[];
}

/** A function the module imports from `module`.`name`. */
export interface FuncImport {
  module: string;
  name: string;
  type: FuncType;
}

/** A function the module defines: its locals beyond the parameters (runs of one type) and its body. */
export interface FuncDef {
  type: FuncType;
  locals: readonly { count: number; type: number }[];
  /** The instructions, ending with `end`. */
  body: Uint8Array;
  /** Export name, if exported. */
  export?: string;
}

/** The module's parts; defined functions are numbered after the imported ones. */
export interface ModuleParts {
  imports: readonly FuncImport[];
  /** An imported memory (module, name, pages): one page is 64 KiB. */
  memory?: { module: string; name: string; min: number; max: number };
  /** An imported table of function references (module, name), at least `min` long: call_indirect's table 0. */
  table?: { module: string; name: string; min: number };
  /** Signatures given type indices 0, 1, ... before any other (what call_indirect names). */
  types?: readonly FuncType[];
  funcs: readonly FuncDef[];
  /** Mutable i32 globals the module defines, by their initial values (numbered from 0: no global is imported). */
  globals?: readonly number[];
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const SECTION_TYPE = 1;
const SECTION_IMPORT = 2;
const SECTION_FUNCTION = 3;
const SECTION_GLOBAL = 6;
const SECTION_EXPORT = 7;
const SECTION_CODE = 10;
const KIND_FUNC = 0x00;
const KIND_TABLE = 0x01;
const KIND_MEMORY = 0x02;
const FUNCREF = 0x70;
const FUNC_TYPE_TAG = 0x60;

/** The module's bytes, ready for `new WebAssembly.Module`. */
export function writeModule(m: ModuleParts): Uint8Array {
  // one type entry per distinct signature
  const typeKeys: string[] = [];
  const typeOf = (t: FuncType): number => {
    const key = `${t.params.join(',')}>${t.results.join(',')}`;
    let i = typeKeys.indexOf(key);
    if (i < 0) i = typeKeys.push(key) - 1;
    return i;
  };
  for (const t of m.types ?? []) typeOf(t);
  const importTypes = m.imports.map((f) => typeOf(f.type));
  const funcTypes = m.funcs.map((f) => typeOf(f.type));
  const out = new ByteWriter().raw(MAGIC);

  section(out, SECTION_TYPE, (w) => {
    w.u32(typeKeys.length);
    for (const key of typeKeys) {
      const [params, results] = key.split('>') as [string, string];
      w.u8(FUNC_TYPE_TAG);
      vec(w, params);
      vec(w, results);
    }
  });
  section(out, SECTION_IMPORT, (w) => {
    w.u32(m.imports.length + (m.memory ? 1 : 0) + (m.table ? 1 : 0));
    m.imports.forEach((f, i) => {
      w.name(f.module)
        .name(f.name)
        .u8(KIND_FUNC)
        .u32(importTypes[i] as number);
    });
    if (m.memory) w.name(m.memory.module).name(m.memory.name).u8(KIND_MEMORY).u8(1).u32(m.memory.min).u32(m.memory.max);
    if (m.table) w.name(m.table.module).name(m.table.name).u8(KIND_TABLE).u8(FUNCREF).u8(0).u32(m.table.min);
  });
  section(out, SECTION_FUNCTION, (w) => {
    w.u32(funcTypes.length);
    for (const t of funcTypes) w.u32(t);
  });
  const globals = m.globals ?? [];
  if (globals.length > 0)
    section(out, SECTION_GLOBAL, (w) => {
      w.u32(globals.length);
      for (const v of globals) w.u8(I32).u8(1).u8(I32_CONST).s32(v).u8(END);
    });
  const exported = m.funcs.map((f, i) => [f.export, m.imports.length + i] as const).filter(([name]) => name);
  section(out, SECTION_EXPORT, (w) => {
    w.u32(exported.length);
    for (const [name, index] of exported)
      w.name(name as string)
        .u8(KIND_FUNC)
        .u32(index);
  });
  section(out, SECTION_CODE, (w) => {
    w.u32(m.funcs.length);
    for (const f of m.funcs) {
      const body = new ByteWriter();
      body.u32(f.locals.length);
      for (const l of f.locals) body.u32(l.count).u8(l.type);
      body.raw(f.body);
      w.u32(body.length).raw(body.bytes());
    }
  });
  return out.bytes();
}

function vec(w: ByteWriter, types: string): void {
  const list = types === '' ? [] : types.split(',').map(Number);
  w.u32(list.length);
  for (const t of list) w.u8(t);
}

function section(out: ByteWriter, id: number, fill: (w: ByteWriter) => void): void {
  const w = new ByteWriter();
  fill(w);
  out.u8(id).u32(w.length).raw(w.bytes());
}
