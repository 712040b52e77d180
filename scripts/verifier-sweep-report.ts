/**
 * The selftest sweep's figures, from its JSON lines (scripts/verifier-sweep-judge.ts's SweepRecord): the
 * summary table docs/verifier.md quotes, and the verdict changes between two runs (a baseline and a change).
 * Pure functions of the records, so a saved run can be read again without a kernel.
 */
import type { BpfkitSays, KernelSays, SweepRecord } from './verifier-sweep-judge.js';

/** The sweep's counts. `wrongOk` and `wrongRefused` name programs (`object/program`). */
export interface SweepSummary {
  programs: number;
  /** Programs whose load reached the kernel's verifier. */
  judged: number;
  accepted: { total: number; ok: number; refused: number; notModelled: number; error: number };
  refused: {
    total: number;
    refused: number;
    /** Of `refused`: at the kernel's instruction; where its log names none, in its words (`sameKind`). */
    sameInsn: number;
    /** Of `refused`: the same last line, numbers and register names blanked. */
    sameKind: number;
    notModelled: number;
    error: number;
  };
  /** bpfkit ok where the kernel refused: the worst defect. */
  wrongOk: string[];
  /** bpfkit refused (as a fault, not as unmodelled) where the kernel accepted. */
  wrongRefused: string[];
  /** Not judged by the kernel, by stage and reason (the reason's names and numbers blanked). */
  notJudged: Map<string, number>;
  notJudgedTotal: number;
  /** Objects bpfkit's ELF reader refuses, with its message. */
  unparsed: string[];
}

/** `object/program`, the key both the summary and the diff use. */
export function recordName(r: SweepRecord): string {
  return r.program === undefined ? r.object : `${r.object}/${r.program}`;
}

/** A message's last line with numbers, register names and quoted names blanked: its kind. */
export function messageKind(message: string): string {
  const last = message.trim().split('\n').pop() ?? '';
  return last
    .replace(/'[^'\s]*'/g, "'_'")
    .replace(/\b[rRw]\d+\b/g, 'R')
    .replace(/-?\b(0x[0-9a-f]+|\d+)\b/gi, 'N');
}

/** Count the records as docs/verifier.md's sweep tables do. */
export function summarize(records: readonly SweepRecord[]): SweepSummary {
  const s: SweepSummary = {
    programs: 0,
    judged: 0,
    accepted: { total: 0, ok: 0, refused: 0, notModelled: 0, error: 0 },
    refused: { total: 0, refused: 0, sameInsn: 0, sameKind: 0, notModelled: 0, error: 0 },
    wrongOk: [],
    wrongRefused: [],
    notJudged: new Map(),
    notJudgedTotal: 0,
    unparsed: [],
  };
  for (const r of records) {
    if (r.program === undefined) {
      s.unparsed.push(`${r.object}: ${r.parseError ?? '?'}`);
      continue;
    }
    s.programs++;
    const k = r.kernel;
    const b = r.bpfkit;
    if (!k || k.verdict === 'not-judged') {
      const why = k ? `${k.stage}: ${messageKind(k.reason.replace(/^[\w.-]+\.o: /, ''))}` : 'not asked';
      s.notJudged.set(why, (s.notJudged.get(why) ?? 0) + 1);
      s.notJudgedTotal++;
      continue;
    }
    s.judged++;
    const name = recordName(r);
    if (k.verdict === 'accepted') {
      s.accepted.total++;
      if (b?.verdict === 'ok') s.accepted.ok++;
      else if (b?.verdict === 'refused') {
        s.accepted.refused++;
        s.wrongRefused.push(`${name}: bpfkit refused at ${b.pc ?? '?'}: ${lastLine(b.message)}`);
      } else if (b?.verdict === 'not-modelled') s.accepted.notModelled++;
      else s.accepted.error++;
      continue;
    }
    s.refused.total++;
    if (b?.verdict === 'refused') {
      s.refused.refused++;
      const sameKind = messageKind(b.message) === messageKind(k.message);
      if (sameKind) s.refused.sameKind++;
      if (k.pc === undefined ? sameKind : b.pc === k.pc) s.refused.sameInsn++;
    } else if (b?.verdict === 'ok') s.wrongOk.push(`${name}: kernel refused at ${k.pc ?? '?'}: ${lastLine(k.message)}`);
    else if (b?.verdict === 'not-modelled') s.refused.notModelled++;
    else s.refused.error++;
  }
  return s;
}

function lastLine(message: string): string {
  return message.trim().split('\n').pop() ?? '';
}

/** n with thousands separators, as the docs write figures. */
function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/** The summary as text: the table docs/verifier.md quotes, then the lists. */
export function formatSummary(s: SweepSummary): string {
  const a = s.accepted;
  const r = s.refused;
  const lines = [
    `programs: ${fmt(s.programs)} in parsed objects; the kernel judged ${fmt(s.judged)}, did not judge ${fmt(s.notJudgedTotal)}`,
    `kernel accepted ${fmt(a.total)}: bpfkit ok ${fmt(a.ok)} / refused ${fmt(a.refused)} / not modelled ${fmt(a.notModelled)}${a.error ? ` / threw ${a.error}` : ''}`,
    `kernel refused ${fmt(r.total)}: bpfkit refused ${fmt(r.refused)} (at the kernel's insn ${fmt(r.sameInsn)}, same kind ${fmt(r.sameKind)}) / not modelled ${fmt(r.notModelled)} / WRONG OK ${s.wrongOk.length}${r.error ? ` / threw ${r.error}` : ''}`,
    `objects that do not parse: ${s.unparsed.length}`,
  ];
  const list = (title: string, items: readonly string[]) => {
    if (items.length) lines.push('', `${title}:`, ...items.map((i) => `  ${i}`));
  };
  list('WRONG OK (bpfkit ok, kernel refused)', s.wrongOk);
  list('wrong refusals (kernel accepted)', s.wrongRefused);
  list('objects that do not parse', s.unparsed);
  list(
    'not judged by the kernel (stage: reason)',
    [...s.notJudged].sort((x, y) => y[1] - x[1]).map(([why, n]) => `${String(n).padStart(5)}  ${why}`),
  );
  return lines.join('\n');
}

/** A verdict in a few words, for the diff. */
function kernelText(k: KernelSays | undefined): string {
  if (!k) return 'not asked';
  if (k.verdict === 'accepted') return 'accepted';
  if (k.verdict === 'refused') return `refused at ${k.pc ?? '?'}: ${lastLine(k.message)}`;
  return `not judged (${k.stage}: ${k.reason})`;
}

function bpfkitText(b: BpfkitSays | undefined): string {
  if (!b) return 'not run';
  if (b.verdict === 'ok') return 'ok';
  if (b.verdict === 'refused') return `refused at ${b.pc ?? '?'}: ${lastLine(b.message)}`;
  if (b.verdict === 'not-modelled') return `not modelled: ${lastLine(b.message)}`;
  return `threw: ${b.message}`;
}

/**
 * The programs whose verdict changed from run `a` to run `b` (the kernel's or bpfkit's: verdict, instruction
 * or last line), those in one run only, and both runs' summaries side by side.
 */
export function diffRuns(a: readonly SweepRecord[], b: readonly SweepRecord[]): string {
  const byName = (rs: readonly SweepRecord[]) => new Map(rs.map((r) => [recordName(r), r]));
  const A = byName(a);
  const B = byName(b);
  const out: string[] = [];
  for (const [name, ra] of A) {
    const rb = B.get(name);
    if (!rb) {
      out.push(`- ${name}: only in the first run`);
      continue;
    }
    if (ra.parseError !== rb.parseError)
      out.push(`  ${name}: parse ${ra.parseError ?? 'ok'} → ${rb.parseError ?? 'ok'}`);
    const [ka, kb] = [kernelText(ra.kernel), kernelText(rb.kernel)];
    if (ka !== kb) out.push(`  ${name}: kernel ${ka} → ${kb}`);
    const [ba, bb] = [bpfkitText(ra.bpfkit), bpfkitText(rb.bpfkit)];
    if (ba !== bb) out.push(`  ${name}: bpfkit ${ba} → ${bb}`);
  }
  for (const name of B.keys()) if (!A.has(name)) out.push(`+ ${name}: only in the second run`);
  const sa = formatSummary(summarize(a)).split('\n\n')[0]!;
  const sb = formatSummary(summarize(b)).split('\n\n')[0]!;
  return [
    `${out.length} change${out.length === 1 ? '' : 's'}`,
    ...out,
    '',
    'first run:',
    sa,
    '',
    'second run:',
    sb,
  ].join('\n');
}

/** Records from the sweep's output (one JSON object a line). */
export function parseRecords(text: string, file: string): SweepRecord[] {
  const records: SweepRecord[] = [];
  text.split('\n').forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      records.push(JSON.parse(l) as SweepRecord);
    } catch {
      throw new Error(`${file}:${i + 1}: not a JSON line of the sweep`);
    }
  });
  return records;
}
