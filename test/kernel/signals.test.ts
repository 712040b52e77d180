/**
 * `bpfkit run --engine kernel` pins maps in a private bpffs directory for the run; SIGINT or SIGTERM at any
 * moment — before the load, while it is loaded, in the middle of a long BPF_PROG_TEST_RUN — must leave
 * nothing of it in bpffs, and the process must still end by that signal (exit status 128+n in a shell).
 * The moments are random but seeded, so a failure names the seed and the delay that reproduce it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCapture } from '../http/hostile/make-captures.js';
import { needs, repoPath } from '../support/env.js';

const cli = repoPath('bin', 'bpfkit.js');
// A map with PIN_GLOBAL_NS: the run pins it under /sys/fs/bpf/bpfkit-run-<pid>.
const object = repoPath('examples', 'mark-stats', 'mark-stats.o');
const capture = repoPath('examples', 'captures', 'http-demo.pcap');
const SEED = Number(process.env.BPFKIT_SIGNAL_SEED ?? 0x51617);

/** xorshift32, so every run of the suite interrupts at the same moments. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Resolve once `check()` holds, looking again on every timer tick (bpffs offers no change events). */
function until(check: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const look = () => {
      if (check()) return resolve();
      if (Date.now() - started > limitMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(look, 5);
    };
    look();
  });
}

interface Outcome {
  pinDir: string;
  sawPinDir: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Start a long kernel run and send `signal`: `delayMs` after spawning (anywhere in start-up and load), or,
 * with `afterPin`, `delayMs` after the pin directory appears (the maps are live, test runs under way).
 */
function interrupt(signal: NodeJS.Signals, delayMs: number, afterPin: boolean): Promise<Outcome> {
  const p = spawn(process.execPath, [
    cli,
    'run',
    object,
    '--engine',
    'kernel',
    '--pcap',
    capture,
    '--repeat',
    '1000000',
    '--quiet',
  ]);
  const pinDir = `/sys/fs/bpf/bpfkit-run-${p.pid}`;
  let stderr = '';
  let sawPinDir = false;
  let exited = false;
  p.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<Outcome>((resolve) =>
    p.on('close', (code, sig) => {
      exited = true;
      resolve({ pinDir, sawPinDir, code, signal: sig, stderr });
    }),
  );
  const send = () => {
    if (!exited) p.kill(signal);
  };
  if (afterPin) {
    until(() => (sawPinDir = existsSync(pinDir)) || exited, `${pinDir}`).then(() => setTimeout(send, delayMs), send);
  } else {
    setTimeout(() => {
      sawPinDir = existsSync(pinDir);
      send();
    }, delayMs);
  }
  return done;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} at random moments: bpfkit run --engine kernel leaves nothing in bpffs`, async (t) => {
    if (!needs(t, { root: true })) return;
    const next = rng(SEED ^ (signal === 'SIGINT' ? 2 : 15));
    let live = 0;
    for (let i = 0; i < 6; i++) {
      const afterPin = i % 3 !== 0;
      const delayMs = Math.floor(next() * (afterPin ? 300 : 600));
      const r = await interrupt(signal, delayMs, afterPin);
      const repro = `seed ${SEED}, run ${i}: ${signal} ${delayMs} ms after ${afterPin ? 'the pin directory appeared' : 'spawn'}`;
      if (r.sawPinDir) live++;
      assert.equal(existsSync(r.pinDir), false, `${repro}: ${r.pinDir} is left behind`);
      // The handler closes everything and re-raises, so the process ends by the signal itself.
      assert.equal(r.signal, signal, `${repro}: ended with code ${r.code} / signal ${r.signal}: ${r.stderr}`);
      if (afterPin) assert.ok(r.sawPinDir, `${repro}: the pin directory never appeared: ${r.stderr}`);
    }
    assert.ok(live >= 4, 'most interruptions hit a run with live, pinned maps');
  });
}

/** Does process `pid` hold a BPF program fd (its fdinfo names a prog_type)? The kernel state exists. */
function holdsBpfProgram(pid: number): boolean {
  try {
    for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
      if (readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1').includes('prog_type:')) return true;
    }
  } catch {
    // (the process is gone, or between two reads: not yet)
  }
  return false;
}

/** The ids of the BPF programs process `pid` holds (fdinfo's prog_id lines); none once it is gone. */
function heldProgramIds(pid: number): number[] {
  const ids: number[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
      const m = /prog_id:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1'));
      if (m) ids.push(Number(m[1]));
    }
  } catch {
    // (the process is gone, or an fd closed between two reads)
  }
  return ids;
}

/** Does the kernel still know program `id`? (A socket's filter is released after an RCU grace period.) */
function programExists(id: number): boolean {
  return spawnSync('bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'ignore' }).status === 0;
}

/** Everything under bpffs, as paths (the machine's own pins included: compared before and after). */
function bpffs(dir = '/sys/fs/bpf'): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    out.push(path);
    if (e.isDirectory()) out.push(...bpffs(path));
  }
  return out.sort();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} at random moments after its filter is loaded: bpfkit urls --engine kernel leaves nothing in bpffs and its programs are released`, async (t) => {
    if (!needs(t, { root: true, tools: ['bpftool'] })) return;
    const next = rng(SEED ^ (signal === 'SIGINT' ? 0x20 : 0x21));
    const dir = join(tmpdir(), `bpfkit-signals-${process.pid}`);
    const long = makeCapture(dir, 'flows', 20_000);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (let i = 0; i < 3; i++) {
      // bpffs is machine-wide and other suites (a second clone, tc's global pins) change it meanwhile:
      // what this child could leave is a path naming its pid; what it must release is its programs.
      const before = new Set(bpffs());
      // a capture long enough to outlast the signal (the kernel filter runs once per packet)
      // (stdout ignored: a pipe nobody reads would block the child's writes, and its signal handlers with them)
      const p = spawn(process.execPath, [cli, 'urls', '--engine', 'kernel', '--quiet', long.path], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      let exited = false;
      p.stderr.on('data', (d) => (stderr += d));
      const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        p.on('close', (code, sig) => {
          exited = true;
          resolve({ code, signal: sig });
        }),
      );
      let loaded = false;
      await until(() => (loaded = holdsBpfProgram(p.pid!)) || exited, `a BPF program in process ${p.pid}`, 20_000);
      const programs = heldProgramIds(p.pid!);
      const delayMs = Math.floor(next() * 20);
      await new Promise<void>((resolve) => setTimeout(resolve, delayMs));
      if (!exited) p.kill(signal);
      const r = await done;
      const repro = `seed ${SEED}, run ${i}: ${signal} ${delayMs} ms after the filter was loaded`;
      assert.ok(loaded || r.code === 0, `${repro}: never loaded a program: ${stderr}`);
      const left = bpffs().filter((path) => !before.has(path) && path.includes(String(p.pid)));
      assert.deepEqual(left, [], `${repro}: left in bpffs (code ${r.code}, signal ${r.signal})`);
      await until(() => !programs.some(programExists), `the kernel to release programs ${programs.join(', ')}`);
      assert.ok(!/at .*\.js:\d+/.test(stderr), `${repro}: a stack trace: ${stderr}`);
    }
  });
}
