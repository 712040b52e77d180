#!/usr/bin/env node
// Which tp_btf arguments the running kernel marks NULL-able or error-carrying (btf.c's raw_tp_null_args
// table and `__nullable` names), asked of the kernel itself: the table changes between releases and is not
// exported, so every pointer-to-struct argument of every `btf_trace_*` typedef in /sys/kernel/btf/vmlinux
// gets a four-instruction tp_btf program that loads the argument and reads through it unchecked:
//   r1 = *(u64 *)(r1 + 8*arg); r2 = *(uN *)(r1 + off); r0 = 0; exit
// Accepted: a trusted, never-NULL pointer. "invalid mem access '...or_null...'": maybe NULL. "invalid mem
// access 'scalar'": the argument may carry an error code (the kernel scrubs it to a scalar). Anything else:
// unknown (bpfkit leaves it not modelled). Needs root and a build (`npm run build`).
//   sudo node tools/tp-btf-probe.js [OUT.ts]
// Without OUT it prints the counts and the exceptions; with OUT it writes the table module bpfkit carries
// (src/verifier/tp-null-table.ts), stamped with the release (`uname -r`) it was probed on.
import os from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';

const { parseBtf, BtfKind } = await import('../dist/src/btf/index.js');
const { loadProgram, VerifierError } = await import('../dist/src/kernel/index.js');
const { closeFd } = await import('../dist/src/kernel/bpf-syscall.js');

const PROG_TRACING = 26;
const TRACE_RAW_TP = 23;
const MODS = new Set([BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG]);

const btf = parseBtf(readFileSync('/sys/kernel/btf/vmlinux'), 'vmlinux');
const skip = (id) => {
  let t = btf.types[id];
  for (let n = 0; t && MODS.has(t.kind) && n < 32; n++) t = btf.types[(id = t.sizeOrType)];
  return t;
};
const isStruct = (t) => !!t && (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION);

/**
 * A read the kernel lets through a trusted pointer to `t`, as { off, size }: the first member (in order,
 * nested structs and arrays entered, empty arrays skipped) that is a scalar (one byte of it) or a pointer
 * (all 8 bytes, as btf_struct_walk asks of pointer members); undefined when there is none.
 */
function firstRead(t, base = 0, depth = 0) {
  if (!t || depth > 16) return undefined;
  if (t.kind === BtfKind.PTR) return { off: base, size: 8 };
  if (t.kind === BtfKind.INT || t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64)
    return t.sizeOrType ? { off: base, size: 1 } : undefined;
  if (t.kind === BtfKind.ARRAY)
    return t.array.nelems === 0 ? undefined : firstRead(skip(t.array.type), base, depth + 1);
  if (!isStruct(t)) return undefined;
  for (const m of t.members) {
    if (t.kindFlag && m.size) continue; // a bitfield
    if (m.offset % 8) continue;
    const r = firstRead(skip(m.type), base + m.offset / 8, depth + 1);
    if (r) return r;
  }
  return undefined;
}

/** One tp_btf program: load argument `arg`, read `size` bytes at `off` through it. */
function program(arg, { off, size }) {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  b[0] = 0x79; // r1 = *(u64 *)(r1 + 8*arg)
  b[1] = 0x11;
  v.setInt16(2, 8 * arg, true);
  b[8] = size === 8 ? 0x79 : 0x71; // r2 = *(u64 or u8 *)(r1 + off)
  b[9] = 0x12;
  v.setInt16(10, off, true);
  b[16] = 0xb7; // r0 = 0
  b[24] = 0x95; // exit
  return b;
}

/** The kernel's verdict: 'ok', 'null', 'err' or 'unknown: <last log line>'. */
function probe(typedefId, arg, read) {
  try {
    const { fd } = loadProgram({
      name: 'tp_null_probe',
      type: PROG_TRACING,
      expectedAttachType: TRACE_RAW_TP,
      attachBtfId: typedefId,
      insns: program(arg, read),
      license: 'GPL',
      logLevel: 1,
      logSize: 1 << 16,
    });
    closeFd(fd);
    return 'ok';
  } catch (err) {
    if (!(err instanceof VerifierError)) return `unknown: ${String(err.message).split('\n')[0]}`;
    const lines = err.log.split('\n').filter((l) => l.trim() && !/^processed \d+ insns/.test(l));
    const last = lines[lines.length - 1] ?? err.errno;
    if (/^R1 invalid mem access '[a-z_]*or_null[a-z_]*'$/.test(last)) return 'null';
    if (last === "R1 invalid mem access 'scalar'") return 'err';
    return `unknown: ${last}`;
  }
}

const rows = []; // [tracepoint, arg, verdict]
const names = [];
let args = 0;
let skipped = 0;
for (const id of btf.idsNamedFrom('btf_trace_')) {
  const td = btf.types[id];
  if (td.kind !== BtfKind.TYPEDEF) continue;
  const ptr = btf.types[td.sizeOrType];
  const proto = ptr?.kind === BtfKind.PTR ? btf.types[ptr.sizeOrType] : undefined;
  if (proto?.kind !== BtfKind.FUNC_PROTO || proto.members.length < 1) continue;
  const name = td.name.slice('btf_trace_'.length);
  const params = proto.members.slice(1);
  // An argument wider than 8 bytes shifts the others' slots (btf_ctx_arg_idx): bpfkit does not model those.
  if (
    params.some((p) => {
      const t = skip(p.type);
      return t && t.kind !== BtfKind.PTR && (t.sizeOrType ?? 0) > 8;
    })
  ) {
    skipped++;
    continue;
  }
  names.push(name);
  params.forEach((p, arg) => {
    const t = skip(p.type);
    if (t?.kind !== BtfKind.PTR) return;
    const target = skip(t.sizeOrType);
    if (!isStruct(target)) return;
    const read = firstRead(target);
    args++;
    const verdict = read === undefined ? 'unknown: a struct with no field to read' : probe(id, arg, read);
    if (verdict !== 'ok') rows.push([name, arg, verdict]);
  });
}

const count = (v) => rows.filter((r) => r[2] === v).length;
const summary = `${names.length} tracepoints (${skipped} with an argument wider than 8 bytes left out), ${args} pointer-to-struct arguments: ${count('null')} maybe NULL, ${count('err')} error-carrying, ${rows.length - count('null') - count('err')} unknown`;
const out = process.argv[2];
if (!out) {
  console.log(summary);
  for (const r of rows) console.log(r.join(' '));
  process.exit(0);
}
names.sort();
// One line per tracepoint: its name, then its exceptions, `3?` (maybe NULL), `1!` (error code), `2~` (unknown).
const mark = { null: '?', err: '!' };
const exc = new Map();
for (const [n, a, v] of rows) exc.set(n, [...(exc.get(n) ?? []), `${a}${mark[v] ?? '~'}`]);
const lines = names.map((n) => (exc.has(n) ? `${n} ${exc.get(n).join(' ')}` : n));
const release = os.release();
const text = `/**
 * tp_btf arguments as Linux ${release} treats them (btf.c's raw_tp_null_args), probed on that kernel by
 * tools/tp-btf-probe.js (do not edit: run it again).
 * ${summary}.
 */

/** The release the table was probed on (\`uname -r\`). */
export const TP_NULL_RELEASE = '${release}';

/**
 * Every vmlinux tracepoint probed, one a line: its name, then the arguments (0-based) that are not trusted,
 * never-NULL pointers: \`N?\` maybe NULL (PTR_MAYBE_NULL), \`N!\` may carry an error code (a scalar once
 * loaded), \`N~\` the probe could not tell. A pointer-to-struct argument not listed is trusted and never NULL.
 */
export const TP_NULL_TABLE = \`
${lines.join('\n')}
\`;
`;
writeFileSync(out, text);
console.log(`${summary}\nwrote ${out}`);
