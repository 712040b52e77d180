/**
 * What BCC programs take from the running kernel's headers and vmlinux.h cannot say as C.
 *
 * - Constants the headers define as macros: BTF keeps only the arrays they size, so each is read back
 *   from its array's length (`DNAME_INLINE_LEN` from `struct dentry`'s inline name), which is the running
 *   kernel's value, as BCC's compile against that kernel's headers would give.
 * - The struct and union tags vmlinux.h defines. A BCC tool copies the part it needs of a struct private
 *   to a kernel source file (`struct nameidata` from fs/namei.c), which no installed header has; vmlinux.h
 *   has every struct, so the copy would be a redefinition. The rewriter renames such copies (rewrite.ts).
 */
import { BtfKind, type Btf } from '../../btf/btf.js';

/** A macro read from the length of an array member: the first path that exists in this kernel's BTF wins. */
interface ArrayMacro {
  name: string;
  record: string;
  /** Member paths from `record` to the array, newest kernel layout first. */
  paths: string[][];
}

const ARRAY_MACROS: readonly ArrayMacro[] = [
  // include/linux/dcache.h; the inline name moved into `union shortname_store` in 6.14.
  { name: 'DNAME_INLINE_LEN', record: 'dentry', paths: [['d_shortname', 'string'], ['d_iname']] },
  // include/linux/blkdev.h
  { name: 'DISK_NAME_LEN', record: 'gendisk', paths: [['disk_name']] },
];

/** The element count of the array at `path` below struct `record`, or undefined when BTF has no such member. */
function arrayLength(btf: Btf, record: string, path: readonly string[]): number | undefined {
  let type = btf.byName(record, BtfKind.STRUCT);
  for (let i = 0; type && i < path.length; i++) {
    const member = type.members.find((m) => m.name === path[i]);
    if (!member) return undefined;
    type = btf.resolve(member.type);
    if (i === path.length - 1) return type.kind === BtfKind.ARRAY ? type.array?.nelems : undefined;
    if (type.kind !== BtfKind.STRUCT && type.kind !== BtfKind.UNION) return undefined;
  }
  return undefined;
}

/**
 * The C header of the macros above for this BTF (each `#ifndef`-guarded, so a program's own definition
 * wins). A macro whose array this kernel lacks is left out: clang then names it where it is used.
 */
export function kernelMacroHeader(btf: Btf): string {
  const lines = ['/* Kernel header macros, read from the lengths of the arrays they size in BTF (bpfkit). */'];
  for (const macro of ARRAY_MACROS) {
    const length = macro.paths.map((p) => arrayLength(btf, macro.record, p)).find((n) => n !== undefined);
    if (length !== undefined) lines.push(`#ifndef ${macro.name}`, `#define ${macro.name} ${length}`, '#endif');
  }
  return `${lines.join('\n')}\n`;
}

/** The tags of every struct and union BTF defines (not those it only declares), sorted. */
export function kernelRecordNames(btf: Btf): string[] {
  const names = new Set<string>();
  for (const t of btf.types) if (t.name && (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION)) names.add(t.name);
  return [...names].sort();
}
