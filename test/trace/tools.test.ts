/**
 * The tools against oracles, live in a network namespace the test creates: tcpretrans reports exactly the
 * retransmissions the kernel counted (the namespace's TcpRetransSegs less TCPRetransFail) and ftrace
 * recorded on the same tracepoint, for SYNs the namespace's loopback drops (a cls_bpf filter returning
 * TC_ACT_SHOT, and tcp_syn_retries=1 so each connect gives up within seconds); `bpfkit trace tcpconnect -c` prints, at
 * SIGINT, counts equal to the connections the test made and to bpftrace's count of the same transition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTcpTool, type TcpEvent } from '../../src/trace/index.js';
import { tracefsRoot, tracepointFormat } from '../../src/kernel/attach/index.js';
import { needs } from '../support/env.js';
import { waitUntil } from '../support/live-wait.js';

const dir = mkdtempSync(path.join(os.tmpdir(), `bpfkit-tools-${process.pid}-`));
process.env.BPFKIT_CACHE_DIR ??= path.join(dir, 'cache');
const NS = `bpfkit-tools-${process.pid}`;
/** Processes the tests started: any a failed assertion left running is killed, so the file still ends. */
const children = new Set<ChildProcess>();
test.after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  for (const inst of instances) removeInstance(inst);
  try {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  } catch {
    // not created
  }
});

function netns(): void {
  try {
    execFileSync('ip', ['netns', 'add', NS], { stdio: 'ignore' });
  } catch {
    // already there from an earlier test in this file
  }
  execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
}

/**
 * Ports for this run (PORT and, for the CLI test, PORT + 1), apart from another run's: the tools trace
 * every namespace, so a run whose pid is one more must not get this run's PORT + 1 as its PORT (even
 * bases), and below the ephemeral range (32768 up), so no client socket of another run has one as its
 * local port, which tcpretrans's -P matches too.
 */
const PORT = 20000 + 2 * (process.pid % 6000);

/** bpftrace running `script`, resolved once it has attached; stop() interrupts it and returns its output. */
async function bpftrace(script: string): Promise<{ stop: () => Promise<string> }> {
  const child: ChildProcess = spawn('bpftrace', ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', () => undefined); // its RLIMIT_MEMLOCK warning on kernels that need none
  let gone = false;
  child.once('exit', () => (gone = true));
  await waitUntil('bpftrace to attach', () => /Attaching \d+ probes?/.test(out));
  return {
    // (bpftrace has been seen to miss a SIGINT on a loaded machine and run on: the signal is sent again
    // every 2 s until it exits, so a lost one costs seconds, never a hung test file)
    stop: async () => {
      let sent = 0;
      await waitUntil('bpftrace to exit on SIGINT', () => {
        if (!gone && Date.now() >= sent + 2000) {
          child.kill('SIGINT');
          sent = Date.now();
        }
        return gone;
      });
      return out;
    },
  };
}

function bpftraceCount(out: string): number {
  const m = /@n: (\d+)/.exec(out);
  return m ? Number(m[1]) : 0; // bpftrace prints nothing for a map never written
}

function retransSegs(): number {
  return counter('/proc/net/snmp', 'Tcp:', 'RetransSegs');
}

/**
 * Retransmits counted in RetransSegs whose transmit then failed (the namespace's TcpExt TCPRetransFail).
 * Before Linux 6.17 tcp_retransmit_skb fired only for a transmit that went out; since, it fires for
 * every attempt with its err, and tcpretrans drops err != 0: either way the tool reports RetransSegs less
 * TCPRetransFail (one SYN is one segment).
 */
function retransFails(): number {
  return counter('/proc/net/netstat', 'TcpExt:', 'TCPRetransFail');
}

/**
 * How many times the kernel skipped program `fd` because it was already running on that CPU (its
 * recursion_misses, from fdinfo): the one way a raw tracepoint program can miss a hit.
 */
function recursionMisses(fd: number): number {
  const m = /^recursion_misses:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/**
 * The kernel's own record of the tcp:tcp_retransmit_skb hits for `port` (that went out): the event
 * enabled in a tracefs instance of this test, with a filter. ftrace is the oracle rather than a BPF
 * tracer because a perf-tracepoint BPF program (bpftrace's) is skipped whenever another such program
 * runs on the CPU the retransmit timer interrupted — the loss tcpretrans itself had.
 */
function ftraceRetransmits(port: number): { count: () => number; close: () => void } {
  const inst = path.join(tracefsRoot(), 'instances', `bpfkit-tools-${process.pid}`);
  instances.add(inst);
  mkdirSync(inst);
  const ev = path.join(inst, 'events', 'tcp', 'tcp_retransmit_skb');
  const hasErr = tracepointFormat('tcp', 'tcp_retransmit_skb').some((f) => f.name === 'err');
  writeFileSync(path.join(ev, 'filter'), `dport == ${port}${hasErr ? ' && err == 0' : ''}`);
  writeFileSync(path.join(ev, 'enable'), '1');
  return {
    count: () =>
      readFileSync(path.join(inst, 'trace'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('tcp_retransmit_skb:')).length,
    close: () => removeInstance(inst),
  };
}

/** tracefs instances the tests made; removed after the file whatever happened. */
const instances = new Set<string>();

function removeInstance(inst: string): void {
  if (!instances.delete(inst)) return;
  try {
    writeFileSync(path.join(inst, 'events', 'tcp', 'tcp_retransmit_skb', 'enable'), '0');
  } catch {
    // not enabled
  }
  rmdirSync(inst);
}

/** A counter of the namespace's /proc/net/snmp or netstat: the `prefix` line pair, the column `name`. */
function counter(file: string, prefix: string, name: string): number {
  const text = execFileSync('ip', ['netns', 'exec', NS, 'cat', file], { encoding: 'utf8' });
  const [names, values] = text.split('\n').filter((l) => l.startsWith(prefix));
  const i = names!.split(/\s+/).indexOf(name);
  return Number(values!.split(/\s+/)[i]);
}

/** Drop everything arriving on the namespace's loopback, and give up a connect after one SYN retry. */
function dropLoopback(): void {
  const src = path.join(dir, 'drop.c');
  const obj = path.join(dir, 'drop.o');
  writeFileSync(
    src,
    'int drop(void *skb) __attribute__((section("tc"), used));\nint drop(void *skb) { return 2; /* TC_ACT_SHOT */ }\n' +
      'char _license[] __attribute__((section("license"), used)) = "GPL";\n',
  );
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-c', src, '-o', obj]);
  execFileSync('ip', ['netns', 'exec', NS, 'tc', 'qdisc', 'add', 'dev', 'lo', 'clsact']);
  execFileSync('ip', [
    'netns',
    'exec',
    NS,
    'tc',
    'filter',
    'add',
    'dev',
    'lo',
    'ingress',
    'bpf',
    'da',
    'obj',
    obj,
    'sec',
    'tc',
  ]);
  execFileSync('ip', ['netns', 'exec', NS, 'sysctl', '-q', 'net.ipv4.tcp_syn_retries=1']);
}

/** Connects to PORT over IPv4 and IPv6, `n` of each at once; every one times out (its SYNs are dropped). */
const UNANSWERED = `
import socket, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
def go(fam, host):
    s = socket.socket(fam)
    try: s.connect((host, port))
    except OSError: pass
    s.close()
ts = [threading.Thread(target=go, args=a) for a in [(socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')] * n]
for t in ts: t.start()
for t in ts: t.join()
`;

test('tcpretrans reports exactly the retransmits the kernel counted and ftrace saw', async (t) => {
  if (!needs(t, { root: true, tools: ['clang', 'ip', 'tc', 'python3'] })) return;
  netns();
  dropLoopback();
  const tool = await openTcpTool('retrans', { ports: [PORT] });
  const progFd = tool.bpf.collection.program('tcp_retransmit').fd;
  const events: TcpEvent[] = [];
  const ac = new AbortController();
  const reading = (async () => {
    for await (const ev of tool.events(ac.signal)) events.push(ev);
  })();
  const oracle = ftraceRetransmits(PORT);
  try {
    const before = retransSegs();
    const failedBefore = retransFails();
    const missedBefore = recursionMisses(progFd);
    const script = path.join(dir, 'unanswered.py');
    writeFileSync(script, UNANSWERED);
    execFileSync('ip', ['netns', 'exec', NS, 'python3', script, String(PORT), '2']);
    // Every retransmit ran before its connect gave up, so each event is in the ring buffer by now.
    const kernel = retransSegs() - before - (retransFails() - failedBefore);
    const missed = () => recursionMisses(progFd) - missedBefore;
    const state = () =>
      `${events.length} events, kernel ${kernel} (RetransSegs less TCPRetransFail), ftrace ${oracle.count()}, ` +
      `program skipped ${missed()} times (recursion_misses)`;
    try {
      // (a skipped hit never comes: stop waiting for it at once, the bounds below say what then holds)
      await waitUntil(
        `${kernel} retransmit events`,
        () => events.length >= kernel || events.length + missed() >= kernel,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${state()}`);
    }
    ac.abort();
    await reading;
    const seen = oracle.count();
    assert.ok(kernel >= 4, `each of 4 connects retransmitted its SYN: ${state()}`);
    assert.equal(seen, kernel, `ftrace's count of the same tracepoint = the kernel's counters: ${state()}`);
    if (missed() === 0) assert.equal(events.length, kernel, `tcpretrans = the kernel's count: ${state()}`);
    else {
      // The kernel skips a raw tracepoint program only when a retransmit interrupts that same program on
      // its CPU, and counts it: then (the misses may include other ports') this is all that holds.
      t.diagnostic(`the kernel skipped tcpretrans's program: ${state()}`);
      assert.ok(events.length <= kernel && events.length + missed() >= kernel, state());
    }
    for (const e of events) {
      assert.equal(e.remotePort, PORT);
      assert.equal(e.state, 'SYN_SENT');
      assert.equal(e.remoteAddress, e.family === 4 ? '127.0.0.1' : '::1');
      assert.equal(e.localAddress, e.remoteAddress);
    }
    // Each connect retransmitted (its own local port); how often depends on the kernel's SYN timers
    // (tcp_syn_linear_timeouts), so the families are not compared by count.
    const sockets = new Set(events.map((e) => `${e.family} ${e.localPort}`));
    if (missed() === 0) assert.equal(sockets.size, 4, `4 connects, 2 per family: ${[...sockets].join(', ')}`);
  } finally {
    oracle.close();
    ac.abort();
    tool.close();
  }
});

/** A listener on PORT+1 over both families that accepts `n` connections of each, made by the same script. */
const CONNECTS = `
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
for fam, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
    srv = socket.socket(fam); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind((host, port)); srv.listen(64)
    for i in range(n):
        c = socket.socket(fam); c.connect((host, port)); a, _ = srv.accept(); a.close(); c.close()
    srv.close()
`;

test('bpfkit trace tcpconnect -c: counts per destination at SIGINT equal the connects made and bpftrace', async (t) => {
  if (!needs(t, { root: true, tools: ['clang', 'ip', 'python3', 'bpftrace'] })) return;
  const ns = `${NS}-c`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const port = PORT + 1;
    const cli = spawn('node', [path.resolve('bin/bpfkit.js'), 'trace', 'tcpconnect', '-c', '-P', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(cli);
    let out = '';
    let err = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => cli.once('exit', r));
    await waitUntil('tcpconnect -c to start', () => out.includes('Tracing...') || cli.exitCode !== null);
    assert.equal(err, '');
    const oracle = await bpftrace(
      `tracepoint:sock:inet_sock_set_state /args->protocol == 6 && args->oldstate == 7 && args->newstate == 2 && args->dport == ${port}/ { @n = count(); }`,
    );
    const script = path.join(dir, 'connects.py');
    writeFileSync(script, CONNECTS);
    const n = 7;
    execFileSync('ip', ['netns', 'exec', ns, 'python3', script, String(port), String(n)]);
    const seen = bpftraceCount(await oracle.stop());
    // The CLI reads its ring buffer as events come; the count is printed once it has stopped reading.
    cli.kill('SIGINT');
    assert.equal(await exited, 0);
    const rows = out
      .split('\n')
      .filter((l) => new RegExp(`\\s${port}\\s+\\d+$`).test(l))
      .map((l) => l.trim().split(/\s+/));
    const byRemote = Object.fromEntries(rows.map((r) => [r[1], Number(r[3])]));
    assert.deepEqual(byRemote, { '127.0.0.1': n, '::1': n });
    assert.equal(seen, 2 * n);
    assert.match(out, /^Tracing\.\.\. Hit Ctrl-C to end\.\n\nLADDR\s+RADDR\s+RPORT\s+CONNECTS\n/);
  } finally {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
});
