/**
 * The selftest sweep's figures (scripts/verifier-sweep-report.ts) on hand-made records: every bucket of the
 * summary table, the wrong "ok"s by name, and the diff between two runs. The sweep itself needs root, a
 * Debian package and minutes, so it is not a test; its arithmetic is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffRuns, formatSummary, messageKind, parseRecords, summarize } from '../../scripts/verifier-sweep-report.js';
import type { SweepRecord } from '../../scripts/verifier-sweep-judge.js';

const refused = (pc: number | undefined, message: string) =>
  pc === undefined ? { verdict: 'refused' as const, message } : { verdict: 'refused' as const, pc, message };

const base: SweepRecord[] = [
  { object: 'a.o', program: 'ok', kernel: { verdict: 'accepted' }, bpfkit: { verdict: 'ok' } },
  {
    object: 'a.o',
    program: 'nm',
    kernel: { verdict: 'accepted' },
    bpfkit: { verdict: 'not-modelled', message: 'bpfkit does not model kfunc x' },
  },
  { object: 'a.o', program: 'wr', kernel: { verdict: 'accepted' }, bpfkit: refused(3, 'R1 !read_ok') },
  {
    object: 'b.o',
    program: 'same',
    kernel: refused(7, '7: (61) r0 = *(u32 *)(r1 +0)\nR1 invalid mem access'),
    bpfkit: refused(7, 'R2 invalid mem access'),
  },
  {
    object: 'b.o',
    program: 'other',
    kernel: refused(9, 'invalid access to map value, off=8 size=8'),
    bpfkit: refused(4, 'R0 !read_ok'),
  },
  { object: 'b.o', program: 'bad', kernel: refused(2, 'R0 !read_ok'), bpfkit: { verdict: 'ok' } },
  {
    object: 'c.o',
    program: 'fentry',
    kernel: { verdict: 'not-judged', stage: 'load', reason: "loading program 'fentry' (tracing): EPERM" },
    bpfkit: { verdict: 'ok' },
  },
  {
    object: 'c.o',
    program: 'kf',
    kernel: { verdict: 'not-judged', stage: 'prepare', reason: 'c.o: pc 12: kfunc is not in the kernel BTF' },
  },
  { object: 'd.o', parseError: 'd.o@0x40: bad section header' },
];

test('the summary counts each bucket of the sweep table', () => {
  const s = summarize(base);
  assert.equal(s.programs, 8);
  assert.equal(s.judged, 6);
  assert.deepEqual(s.accepted, { total: 3, ok: 1, refused: 1, notModelled: 1, error: 0 });
  assert.deepEqual(s.refused, { total: 3, refused: 2, sameInsn: 1, sameKind: 1, notModelled: 0, error: 0 });
  assert.deepEqual(s.wrongOk, ['b.o/bad: kernel refused at 2: R0 !read_ok']);
  assert.deepEqual(s.wrongRefused, ['a.o/wr: bpfkit refused at 3: R1 !read_ok']);
  assert.equal(s.notJudgedTotal, 2);
  assert.deepEqual(s.unparsed, ['d.o: d.o@0x40: bad section header']);
  const text = formatSummary(s);
  assert.match(text, /kernel accepted 3: bpfkit ok 1 \/ refused 1 \/ not modelled 1\n/);
  assert.match(text, /kernel refused 3: bpfkit refused 2 \(at the kernel's insn 1, same kind 1\) .* WRONG OK 1/);
  assert.match(text, /objects that do not parse: 1/);
});

test("a message's kind blanks numbers, registers and quoted names", () => {
  assert.equal(messageKind("x\nR3 min value is negative, off=-8 in 'foo'"), "R min value is negative, off=N in '_'");
});

test('the diff names each program whose verdict changed, and those in one run only', () => {
  const after = base
    .filter((r) => r.program !== 'ok')
    .map((r) => (r.program === 'bad' ? { ...r, bpfkit: refused(2, 'R0 !read_ok') } : r));
  after.push({ object: 'e.o', program: 'new', kernel: { verdict: 'accepted' }, bpfkit: { verdict: 'ok' } });
  const text = diffRuns(base, after);
  assert.match(text, /^3 changes\n/);
  assert.match(text, /- a\.o\/ok: only in the first run/);
  assert.match(text, /b\.o\/bad: bpfkit ok → refused at 2: R0 !read_ok/);
  assert.match(text, /\+ e\.o\/new: only in the second run/);
  assert.match(text, /second run:\n.*\n.*\nkernel refused 3: .* WRONG OK 0/);
});

test('a line that is not JSON is named by file and line', () => {
  assert.throws(() => parseRecords('{"object":"a.o"}\n\nnot json\n', 'run.jsonl'), {
    message: 'run.jsonl:3: not a JSON line of the sweep',
  });
});
