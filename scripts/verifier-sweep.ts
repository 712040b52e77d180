/**
 * The verifier's selftest sweep (docs/verifier.md): every program of every object in a directory (the
 * kernel's selftests, built by scripts/selftests-corpus.sh) judged by the running kernel and by bpfkit, one
 * JSON line per program (scripts/verifier-sweep-judge.ts's SweepRecord), then the summary table. As root:
 * the kernel is asked with BPF_PROG_LOAD. A run takes minutes; it is not part of `npm test`.
 *
 *   node dist/scripts/verifier-sweep.js [--objects DIR] [--out FILE] [--only REGEX]
 *        judge DIR/*.o (default /tmp/selftests/obj) into FILE (default /tmp/selftests/sweep.jsonl);
 *        --only keeps the objects whose file name matches REGEX
 *   node dist/scripts/verifier-sweep.js --summary FILE     the summary of a saved run
 *   node dist/scripts/verifier-sweep.js --diff A B         the verdicts that changed from run A to run B
 *
 * Run from the repository root after `npm run build`. Exit 0 when done (whatever the verdicts), 2 on bad
 * arguments or unreadable input, 3 without root.
 */
import { readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseObject } from '../src/elf/object.js';
import { runningKernel } from '../src/loader/kernel-env.js';
import { kernelHelperProbe } from '../src/kernel/index.js';
import { judgeProgram, type JudgeEnv, type SweepRecord } from './verifier-sweep-judge.js';
import { diffRuns, formatSummary, parseRecords, summarize } from './verifier-sweep-report.js';

const USAGE = 'usage: verifier-sweep [--objects DIR] [--out FILE] [--only REGEX] | --summary FILE | --diff A B';

/** Exit with one line on stderr. */
function fail(message: string, code: number): never {
  process.stderr.write(`verifier-sweep: ${message}\n`);
  process.exit(code);
}

function readRecords(file: string): SweepRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`, 2);
  }
  try {
    return parseRecords(text, file);
  } catch (err) {
    fail((err as Error).message, 2);
  }
}

/** Judge every program of every object, writing each record as it comes. */
function sweep(dir: string, out: string, only: RegExp | undefined): SweepRecord[] {
  if (process.getuid?.() !== 0) fail('the kernel is asked with BPF_PROG_LOAD: run as root', 3);
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.o') && (!only || only.test(f)))
      .sort();
  } catch (err) {
    fail(`${dir}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`, 2);
  }
  if (files.length === 0) fail(`${dir}: no .o files${only ? ` matching ${only.source}` : ''}`, 2);
  const env = runningKernel();
  // The kernel's BTF for kfuncs and BTF arguments; this kernel's own helper tables (a kernel built without
  // a subsystem refuses helpers upstream allows).
  const j: JudgeEnv = { env, kernelBtf: env.btf(), helperAvailable: kernelHelperProbe() };
  writeFileSync(out, '');
  const records: SweepRecord[] = [];
  const t0 = performance.now();
  for (const [n, file] of files.entries()) {
    const put = (r: SweepRecord) => {
      records.push(r);
      appendFileSync(out, `${JSON.stringify(r)}\n`);
    };
    let spec;
    try {
      spec = parseObject(readFileSync(join(dir, file)), { path: file });
    } catch (err) {
      put({ object: file, parseError: (err as Error).message.split('\n')[0]! });
      continue;
    }
    for (const p of spec.programs) put(judgeProgram(spec, file, p.name, j));
    if ((n + 1) % 50 === 0)
      process.stderr.write(
        `verifier-sweep: ${n + 1} of ${files.length} objects, ${records.length} records, ${Math.round((performance.now() - t0) / 1000)} s\n`,
      );
  }
  return records;
}

function main(argv: string[]): void {
  let dir = '/tmp/selftests/obj';
  let out = '/tmp/selftests/sweep.jsonl';
  let only: RegExp | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => argv[++i] ?? fail(`${arg} needs a value\n${USAGE}`, 2);
    if (arg === '--summary') {
      if (argv.length !== 2) fail(USAGE, 2);
      console.log(formatSummary(summarize(readRecords(value()))));
      return;
    }
    if (arg === '--diff') {
      if (argv.length !== 3) fail(USAGE, 2);
      console.log(diffRuns(readRecords(argv[1]!), readRecords(argv[2]!)));
      return;
    }
    if (arg === '--objects') dir = value();
    else if (arg === '--out') out = value();
    else if (arg === '--only') {
      const source = value();
      try {
        only = new RegExp(source);
      } catch {
        fail(`--only: not a regular expression: ${source}`, 2);
      }
    } else fail(`unknown argument '${arg}'\n${USAGE}`, 2);
  }
  const records = sweep(dir, out, only);
  console.log(formatSummary(summarize(records)));
  console.log(`\n(records in ${out})`);
}

main(process.argv.slice(2));
