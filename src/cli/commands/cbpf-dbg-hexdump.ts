/**
 * The debugger's packet view: a hex dump, 16 bytes a line, with the bytes the next instruction loads
 * marked — in reverse video on a terminal, and by a line of carets under them otherwise (a log or a
 * test reads the same dump without escape codes).
 */

/** Bytes [offset, offset + size) to mark; a load reaching past the packet marks what exists of it. */
export interface Highlight {
  readonly offset: number;
  readonly size: number;
}

/** The dump of `bytes` with `mark` highlighted: ANSI reverse video when `ansi`, else carets below. */
export function hexDump(bytes: Uint8Array, mark: Highlight | undefined, ansi: boolean): string {
  const marked = (i: number) => mark !== undefined && i >= mark.offset && i < mark.offset + mark.size;
  const lines: string[] = [];
  for (let row = 0; row < bytes.length; row += 16) {
    const cells: string[] = [];
    let carets = '';
    for (let i = row; i < Math.min(row + 16, bytes.length); i++) {
      const hex = bytes[i]!.toString(16).padStart(2, '0');
      cells.push(ansi && marked(i) ? `\x1b[7m${hex}\x1b[0m` : hex);
      carets += marked(i) ? '^^ ' : '   ';
    }
    lines.push(`${row.toString(16).padStart(4, '0')}: ${cells.join(' ')}`);
    if (!ansi && carets.trim()) lines.push(`      ${carets.trimEnd()}`); // under the row's hex, past "0010: "
  }
  if (mark && mark.offset + mark.size > bytes.length)
    lines.push(`(the load reads [${mark.offset}, ${mark.offset + mark.size}): past the ${bytes.length}-byte packet)`);
  return `${lines.join('\n')}\n`;
}
