// `bpfkit cbpf dbg` driven through stdin (and --eval) on the bundled capture: stepping ends with
// runClassic's verdict, breakpoints stop where they are set, bad commands give one line and the shell goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, repoPath } from '../support/env.js';
import { openCapture } from '../../src/packet/index.js';
import { ClassicDebugger, parseClassicBpf, prepareClassic, runClassic } from '../../src/cbpf/index.js';

const pcap = repoPath('examples/captures/http-demo.pcap');
const dir = mkdtempSync(join(tmpdir(), 'bpfkit-dbg-'));
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

test('at a real terminal (tmux): a prompt, the commands answer, an error is one line, quit ends it with 0', async (t) => {
  if (!needs(t, { tools: ['tmux'] })) return;
  const session = `bpfkit-dbg-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', args, { encoding: 'utf8' });
  const shell = `'${process.execPath}' bin/bpfkit.js cbpf dbg; echo "exit=$?"; exec cat`;
  const started = tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '40', '-c', repoPath('.'), shell);
  assert.equal(started.status, 0, started.stderr);
  t.after(() => tmux('kill-session', '-t', session));
  const screen = () => tmux('capture-pane', '-p', '-t', session).stdout;
  // Wait for what the pane must show (polling the pane is the only event tmux offers), up to 20 s.
  const waitFor = async (re: RegExp) => {
    const deadline = Date.now() + 20_000;
    while (!re.test(screen())) {
      if (Date.now() > deadline) assert.fail(`the pane never showed ${re}:\n${screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const type = (line: string) => tmux('send-keys', '-t', session, '-l', `${line}\n`);
  await waitFor(/^>$/m); // capture-pane drops the prompt's trailing space
  type(`load bpf ${FOOBAR}`);
  await waitFor(/^loaded 6 instructions$/m);
  type(`load pcap ${pcap}`);
  await waitFor(/^loaded 245 packets$/m);
  type('select 1');
  type('step 2');
  await waitFor(/^curr: +\(002\) ldb +\[23\]$/m);
  type('frobnicate');
  await waitFor(/^bpfkit cbpf dbg: line 5: unknown command 'frobnicate' \(try help\)$/m);
  type('quit');
  await waitFor(/^exit=0$/m);
});
