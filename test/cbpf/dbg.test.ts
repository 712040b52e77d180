// `bpfkit cbpf dbg` driven through stdin (and --eval) on the bundled capture: stepping ends with
// runClassic's verdict, breakpoints stop where they are set, bad commands give one line and the shell goes on;
// eBPF programs (an ELF object, eBPF assembly) step by the same commands; and at a real terminal (tmux):
// prompt, reverse-video highlight, tab completion, saved history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { openCapture } from '../../src/packet/index.js';
import { ClassicDebugger, parseClassicBpf, prepareClassic, runClassic } from '../../src/cbpf/index.js';
import { loadObjectFile } from '../../src/elf/index.js';
import { loadVmCollection } from '../../src/vm/index.js';

const pcap = repoPath('examples/captures/http-demo.pcap');
const dir = mkdtempSync(join(tmpdir(), 'bpfkit-dbg-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const FOOBAR = '6,40 0 0 12,21 0 3 2048,48 0 0 23,21 0 1 6,6 0 0 4294967295,6 0 0 0,';

function dbg(script: string, ...args: string[]) {
  return spawnSync(process.execPath, ['bin/bpfkit.js', 'cbpf', 'dbg', ...args], { input: script, encoding: 'utf8' });
}

async function packets() {
  const reader = await openCapture(pcap);
  const out: { data: Uint8Array; len: number }[] = [];
  for await (const p of reader) out.push({ data: p.data, len: p.origLen });
  await reader.close();
  return out;
}

/** The `ret:` values of every register dump, in order. */
const rets = (stdout: string) => [...stdout.matchAll(/^ret: +\[0x[0-9a-f]+\]\[(\d+)\]/gm)].map((m) => Number(m[1]));

test('stepping every packet to its end gives runClassic verdicts, for tcpdump filters', async (t) => {
  if (!needs(t, { tools: ['tcpdump'] })) return;
  const pk = await packets();
  for (const expr of ['tcp port 80', 'udp or arp', 'tcp[tcpflags] & tcp-syn != 0', 'ip and len > 100']) {
    const ddd = spawnSync('tcpdump', ['-r', pcap, '-ddd', expr], { encoding: 'utf8' }).stdout;
    const file = join(dir, 'prog.ddd');
    writeFileSync(file, ddd);
    const prog = prepareClassic(parseClassicBpf(ddd));
    const want = pk.map((p) => runClassic(prog, p.data, { len: p.len }).retval);
    const script = [`load bpf ${file}`, `load pcap ${pcap}`];
    pk.forEach((_, i) => script.push(`select ${i + 1}`, 'step 10000'));
    script.push('run', 'quit');
    const r = dbg(script.join('\n'));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(rets(r.stdout), want, expr);
    const kept = want.flatMap((v, i) => (v !== 0 ? [i + 1] : []));
    assert.match(r.stdout, new RegExp(`^bpf passes:${kept.length} fails:${pk.length - kept.length}$`, 'm'), expr);
    if (kept.length) assert.match(r.stdout, new RegExp(`^passed: ${kept.join(' ')}$`, 'm'), expr);
  }
});

test('single steps: one dump per instruction, the current one in tcpdump -d text, until the return', async () => {
  const pk = await packets();
  const prog = prepareClassic(parseClassicBpf(FOOBAR));
  const { retval, executed } = runClassic(prog, pk[0]!.data, { len: pk[0]!.len });
  const steps = Array.from({ length: executed + 2 }, () => 'step').join('\n');
  const r = dbg(`load bpf ${FOOBAR}\nload pcap ${pcap}\nselect 1\n${steps}\n`);
  assert.equal(r.status, 0, r.stderr);
  const dumps = r.stdout.split('-- register dump --\n').slice(1);
  assert.equal(dumps.length, executed + 2);
  // First dump: ldh [12] has run, A holds the EtherType, the next instruction is the jeq.
  assert.match(dumps[0]!, /^pc: +\[1\]\n/);
  assert.match(dumps[0]!, /^curr: +\(001\) jeq +#0x800 +jt 2\tjf 5$/m);
  assert.match(dumps[0]!, /^A: +\[0x00000800\]\[2048\]$/m);
  assert.match(dumps[0]!, /^len: +74$/m);
  // Stepping past the end changes nothing: the verdict stays.
  assert.deepEqual(rets(r.stdout), [retval, retval, retval]);
  assert.match(dumps.at(-1)!, new RegExp(`^executed: ${executed}$`, 'm'));
});

test('breakpoints stop before their instruction, in continue and in run; step -N goes back', () => {
  const r = dbg(
    [
      `load bpf ${FOOBAR}`,
      `load pcap ${pcap}`,
      'breakpoint 2',
      'breakpoint 4',
      'breakpoint',
      'select 1',
      'continue',
      'continue',
      'step -1',
      'continue',
      'breakpoint reset',
      'breakpoint',
      'breakpoint 3',
      'run',
      'quit',
    ].join('\n'),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /breakpoint at pc 2\nbreakpoint at pc 4\n/);
  const stops = [...r.stdout.matchAll(/^-- breakpoint at pc \d+.*--$/gm)].map((m) => m[0]);
  assert.deepEqual(stops, [
    '-- breakpoint at pc 2 --',
    '-- breakpoint at pc 4 --',
    '-- breakpoint at pc 4 --',
    '-- breakpoint at pc 3, packet 1 --',
  ]);
  assert.match(r.stdout, /^curr: +\(004\) ret +#-1$/m);
  // step -1 from pc 4 goes back to pc 3, the jeq before it.
  assert.match(r.stdout, /^pc: +\[3\]\ncode: +\[21\] jt\[0\] jf\[1\] k\[6\]$/m);
  assert.match(r.stdout, /no breakpoints\n/);
});

test('bad commands and a truncated capture: one line each on stderr, the shell goes on, exit 2 at the end', () => {
  const cut = join(dir, 'cut.pcap');
  const bytes = readFileSync(pcap);
  writeFileSync(cut, bytes.subarray(0, bytes.length - 7));
  const r = dbg(
    [
      'step',
      'frobnicate',
      'load bpf 3,6 0 0 0,',
      'load bpf nosuchfile',
      `load bpf ${FOOBAR}`,
      'select 1',
      `load pcap ${cut}`,
      `load pcap ${pcap}`,
      'select 0',
      'select 9999',
      'step x',
      'breakpoint 6',
      'run 0',
      'disassemble',
    ].join('\n'),
  );
  assert.equal(r.status, 2);
  const errors = r.stderr.trimEnd().split('\n');
  assert.equal(errors.length, 11, r.stderr);
  errors.forEach((e, i) => assert.match(e, /^bpfkit cbpf dbg: line \d+: \S/, `${i}: ${e}`));
  assert.match(errors[0]!, /line 1: no program loaded/);
  assert.match(errors[1]!, /line 2: unknown command 'frobnicate'/);
  assert.match(errors[5]!, /line 7: .*cut\.pcap@\d+: file ends inside a record/);
  assert.match(r.stdout, /^loaded 245 packets$/m);
  assert.match(r.stdout, /^\(005\) ret +#0$/m); // the disassembly after all of it
});

test('--eval runs ;-separated commands; dump prints tcpdump -dd', () => {
  const r = spawnSync(
    process.execPath,
    ['bin/bpfkit.js', 'cbpf', 'dbg', '--eval', `load bpf ${FOOBAR}; dump; load pcap ${pcap}; run 10`],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\{ 0x28, 0, 0, 0x0000000c \},\n\{ 0x15, 0, 3, 0x00000800 \},$/m);
  assert.match(r.stdout, /^bpf passes:\d+ fails:\d+$/m);
  const bad = spawnSync(process.execPath, ['bin/bpfkit.js', 'cbpf', 'dbg', '--eval', 'step'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'bpfkit cbpf dbg: command 1: no program loaded (load bpf PROGRAM)\n');
});

test('ClassicDebugger: any mix of steps and step-backs ends where runClassic ends', async () => {
  const pk = await packets();
  const insns = parseClassicBpf(FOOBAR);
  const prog = prepareClassic(insns);
  const d = new ClassicDebugger(insns);
  for (const p of pk.slice(0, 40)) {
    const want = runClassic(prog, p.data, { len: p.len });
    d.select({ data: p.data, context: { len: p.len } });
    d.step(2);
    d.step(-1);
    assert.equal(d.machine!.executed, 1);
    assert.equal(d.continue(), 'end');
    assert.equal(d.machine!.retval, want.retval);
    assert.equal(d.machine!.executed, want.executed);
  }
});

test('packet: the hex dump marks the bytes the next instruction loads (carets when not at a terminal)', () => {
  const r = dbg(`load bpf ${FOOBAR}\nload pcap ${pcap}\nselect 1\nstep 2\npacket\nstep 10\npacket\n`);
  assert.equal(r.status, 0, r.stderr);
  // Next is ldb [23]: byte 7 of the second row.
  assert.match(r.stdout, /^0010: 00 3c 98 63 40 00 40 06 a4 56 7f 00 00 01 7f 00\n {27}\^\^\n0020: /m);
  // After the return nothing is loaded: no carets in the second dump.
  const second = r.stdout.slice(r.stdout.lastIndexOf('0000: '));
  assert.doesNotMatch(second, /\^/);
  assert.match(second, /^0040: 8d bd 00 00 00 00 01 03 03 0a$/m);
});

test('eBPF assembly steps by the same commands: registers, step -N, packet marks, run', async () => {
  const asm = join(dir, 'tcp.s');
  writeFileSync(asm, 'r2 = *(u8 *)(r1 + 23)\nr0 = 0\nif r2 != 6 goto +1\nr0 = 1\nexit\n');
  const r = dbg(
    [`load ebpf ${asm}`, `load pcap ${pcap}`, 'select 1', 'packet', 'step', 'step 10', 'step -2', 'run', 'quit'].join(
      '\n',
    ),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^loaded 5 eBPF instructions$/m);
  assert.match(r.stdout, /^0010: .*\n {27}\^\^$/m);
  const dumps = r.stdout.split('-- register dump --\n').slice(1);
  assert.equal(dumps.length, 3);
  assert.match(dumps[0]!, /^pc: +\[1\]\ncurr: +\(001\) r0 = 0\n/);
  assert.match(dumps[0]!, /^r2: +\[0x0000000000000006\]\[6\]$/m);
  assert.match(dumps[1]!, /^ret: +\[0x00000001\]\[1\] pass$/m);
  assert.match(dumps[1]!, /^executed: 5$/m);
  assert.match(dumps[2]!, /^pc: +\[3\]\n/);
  assert.match(dumps[2]!, /^executed: 3$/m);
  const pk = await packets();
  const tcp = pk.flatMap((p, i) => (p.data[23] === 6 ? [i + 1] : []));
  assert.match(r.stdout, new RegExp(`^bpf passes:${tcp.length} fails:${pk.length - tcp.length}$`, 'm'));
});

test('an ELF object steps with its program type context; maps after run equal the VM running each packet', async () => {
  const obj = repoPath('examples/proto-count/proto-count.o');
  const r = dbg([`load bpf ${obj}`, `load pcap ${pcap}`, 'run', 'maps', 'select 1', 'step 3', 'registers'].join('\n'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^loaded 17 eBPF instructions$/m);
  const coll = loadVmCollection(loadObjectFile(obj));
  const prog = [...coll.programs.values()][0]!;
  for (const p of await packets()) prog.run({ data: p.data });
  const want: string[] = [];
  for (const [k, v] of coll.map('proto_stats').entries())
    if (v.some((b) => b !== 0)) want.push(`  ${Buffer.from(k).toString('hex')}: ${Buffer.from(v).toString('hex')}`);
  coll.close();
  assert.ok(want.length > 0);
  assert.ok(r.stdout.includes(`proto_stats: ${want.length} non-zero entries\n${want.join('\n')}\n`), r.stdout);
  // Three steps in: r0 holds the EtherType LD_ABS read, the next instruction reads the protocol byte.
  assert.match(r.stdout, /^curr: +\(003\) r0 = \*\(u8 \*\)skb\[23\]\nr0: +\[0x0000000000000800\]\[2048\]$/m);
});

test('at a real terminal (tmux): prompt, highlight, completion, saved history, one-line errors', async (t) => {
  if (!needs(t, { tools: ['tmux'] })) return;
  const home = mkdtempSync(join(tmpdir(), 'bpfkit-dbg-home-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const cut = join(dir, 'cut-tty.pcap');
  const whole = readFileSync(pcap);
  writeFileSync(cut, whole.subarray(0, whole.length - 7));
  const tmux = (...args: string[]) => spawnSync('tmux', args, { encoding: 'utf8' });
  let sessions = 0;
  /** A new session running the debugger; `screen` reads its pane (with escape codes when `escapes`). */
  const start = () => {
    const session = `bpfkit-dbg-${process.pid}-${sessions++}`;
    const shell = `HOME='${home}' '${process.execPath}' bin/bpfkit.js cbpf dbg; echo "exit=$?"; exec cat`;
    const started = tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '50', '-c', repoPath('.'), shell);
    assert.equal(started.status, 0, started.stderr);
    t.after(() => tmux('kill-session', '-t', session));
    const screen = (escapes = false) =>
      tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', session, '-S', '-200').stdout;
    // Wait for what the pane must show (polling the pane is the only event tmux offers), up to 20 s.
    const waitFor = async (re: RegExp, escapes = false) => {
      const deadline = Date.now() + 20_000;
      while (!re.test(screen(escapes))) {
        if (Date.now() > deadline) assert.fail(`the pane never showed ${re}:\n${screen(escapes)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const type = (line: string) => tmux('send-keys', '-t', session, '-l', `${line}\n`);
    const keys = (...k: string[]) => tmux('send-keys', '-t', session, ...k);
    return { waitFor, type, keys, screen };
  };
  const a = start();
  await a.waitFor(/^>$/m); // capture-pane drops the prompt's trailing space
  a.type(`load bpf ${FOOBAR}`);
  await a.waitFor(/^loaded 6 instructions$/m);
  // A capture cut inside a record: one line, and the debugger goes on.
  a.type(`load pcap ${cut}`);
  await a.waitFor(/^bpfkit cbpf dbg: line 2: .*cut-tty\.pcap@\d+: file ends inside a record: [^\n]*\n>/m);
  // File name completion: the Tab finishes the name.
  a.keys('-l', 'load pcap examples/captures/http-demo.p');
  a.keys('Tab');
  await a.waitFor(/^> load pcap examples\/captures\/http-demo\.pcap$/m);
  a.keys('Enter');
  await a.waitFor(/^loaded 245 packets$/m);
  a.type('select 1');
  a.type('step 2');
  await a.waitFor(/^curr: +\(002\) ldb +\[23\]$/m);
  // The byte ldb [23] reads, in reverse video.
  a.type('packet');
  const esc = String.fromCharCode(27);
  await a.waitFor(new RegExp(`^0010: 00 3c 98 63 40 00 40 ${esc}\\[7m06${esc}\\[0?m(${esc}\\[\\d+m)* a4`, 'm'), true);
  // Command completion.
  a.keys('-l', 'disas');
  a.keys('Tab');
  await a.waitFor(/^> disassemble$/m);
  a.keys('Enter');
  await a.waitFor(/^\(005\) ret +#0$/m);
  a.type('frobnicate');
  await a.waitFor(/^bpfkit cbpf dbg: line \d+: unknown command 'frobnicate' \(try help\)$/m);
  a.type('quit');
  await a.waitFor(/^exit=0$/m);
  // The history was saved, and a new session offers it with the Up key.
  const saved = readFileSync(join(home, '.cache/bpfkit/dbg_history'), 'utf8').trim().split('\n');
  assert.deepEqual(saved.slice(-3), ['disassemble ', 'frobnicate', 'quit']);
  const b = start();
  await b.waitFor(/^>$/m);
  b.keys('Up');
  b.keys('Up');
  await b.waitFor(/^> frobnicate$/m);
  b.keys('C-u');
  b.type('quit');
  await b.waitFor(/^exit=0$/m);
});
