/**
 * bpfkit's log beside the kernel's, line by line, for refused programs: the faulting instruction's line,
 * the line before it (the previous instruction with the registers it touched), the message, and the
 * `processed N insns ...` line. Map `lddw`s are the one line bpfkit cannot print the kernel's way (the
 * kernel prints the map's kernel address): those are compared with the address masked.
 */

/** Agreement counts over a set of refused programs. */
export interface LogAgreement {
  programs: number;
  faultLine: number;
  previousLine: number;
  message: number;
  processedLine: number;
  /** Same number of instructions processed (the first number of that line). */
  processedCount: number;
  /** Every line the same (addresses masked). */
  wholeLog: number;
  /** Lines equal at the same position, over all kernel lines. */
  linesEqual: number;
  linesTotal: number;
}

/** A new, empty tally. */
export const newAgreement = (): LogAgreement => ({
  programs: 0,
  faultLine: 0,
  previousLine: 0,
  message: 0,
  processedLine: 0,
  processedCount: 0,
  wholeLog: 0,
  linesEqual: 0,
  linesTotal: 0,
});

const mask = (line: string) => line.replace(/= 0xffff[0-9a-f]{12}/, '= map[]').replace(/= map\[[^\]]*\]/, '= map[]');

/** The lines of a log, without the kernel's verification-time and stack-depth trailers. */
function lines(log: string): string[] {
  return log
    .split('\n')
    .filter((l) => l !== '' && !/^(verification time|stack depth)/.test(l))
    .map(mask);
}

/** Compare one refused program's two logs (both at log level 1). */
export function compareLogs(a: LogAgreement, kernelLog: string, bpfkitLog: string): void {
  const k = lines(kernelLog);
  const b = lines(bpfkitLog);
  a.programs++;
  const insnAt = (ls: string[]) => {
    for (let i = ls.length - 1; i >= 0; i--) if (/^\d+: \([0-9a-f]{2}\)/.test(ls[i]!)) return i;
    return -1;
  };
  const ki = insnAt(k);
  const bi = insnAt(b);
  if (ki < 0 && bi < 0) {
    // Refused before the walk (stage 1): no instruction line on either side.
    a.faultLine++;
    a.previousLine++;
    if (k.slice(0, -1).join('\n') === b.slice(0, -1).join('\n')) a.message++;
  } else if (ki >= 0 && bi >= 0) {
    if (k[ki] === b[bi]) a.faultLine++;
    if (ki > 0 && bi > 0 && k[ki - 1] === b[bi - 1]) a.previousLine++;
    const km = k.slice(ki + 1, -1).join('\n');
    const bm = b.slice(bi + 1, -1).join('\n');
    if (km === bm) a.message++;
  }
  const kp = k[k.length - 1] ?? '';
  const bp = b[b.length - 1] ?? '';
  if (kp === bp) a.processedLine++;
  if (/^processed (\d+)/.exec(kp)?.[1] === /^processed (\d+)/.exec(bp)?.[1]) a.processedCount++;
  if (k.length === b.length && k.every((l, i) => l === b[i])) a.wholeLog++;
  a.linesTotal += k.length;
  for (let i = 0; i < k.length; i++) if (k[i] === b[i]) a.linesEqual++;
}

/** One line of figures. */
export function agreementText(label: string, a: LogAgreement): string {
  const pct = (n: number, d: number) => `${n}/${d} (${d ? ((100 * n) / d).toFixed(1) : '-'}%)`;
  return (
    `${label}: fault line ${pct(a.faultLine, a.programs)}, line before it ${pct(a.previousLine, a.programs)}, ` +
    `message ${pct(a.message, a.programs)}, processed line ${pct(a.processedLine, a.programs)} ` +
    `(insn count ${pct(a.processedCount, a.programs)}), whole log ${pct(a.wholeLog, a.programs)}, ` +
    `lines equal at their place ${pct(a.linesEqual, a.linesTotal)}`
  );
}
