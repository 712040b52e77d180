import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inCI, needs, repoPath } from '../support/env.js';

const SOURCE = `
#define SEC(n) __attribute__((section(n), used))
SEC("fentry/bpfkit_no_such_function") int enter(void *ctx) { return 0; }
SEC("fexit/bpfkit_no_such_function") int leave(void *ctx) { return 0; }
SEC("socket") int sock(void *ctx) { return 0; }
char LICENSE[] SEC("license") = "GPL";
`;

const bpfkit = (...args: string[]) =>
  spawnSync(process.execPath, [repoPath('bin/bpfkit.js'), ...args], { encoding: 'utf8' });

test("bpfkit verify: an fentry/fexit target missing from the kernel's BTF is named in one line, exit 2, as a load fails", (t) => {
  if (!needs(t, { tools: ['clang'] })) return;
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    assert.ok(!inCI, 'CI needs the kernel BTF');
    t.skip('no kernel BTF (/sys/kernel/btf/vmlinux) to look the target up in');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), `bpfkit-verify-target-${process.pid}-`));
  try {
    writeFileSync(join(dir, 't.c'), SOURCE);
    const obj = join(dir, 't.o');
    const cc = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-c', join(dir, 't.c'), '-o', obj], {
      encoding: 'utf8',
    });
    assert.equal(cc.status, 0, cc.stderr);

    const one = bpfkit('verify', obj, '--program', 'enter');
    assert.equal(one.status, 2, one.stderr);
    assert.equal(one.stdout, '');
    assert.equal(
      one.stderr,
      `bpfkit verify: ${obj}: program 'enter' in section 'fentry/bpfkit_no_such_function': the kernel's BTF has no func 'bpfkit_no_such_function' to attach to\n`,
    );

    // The whole object: each missing target on a line of its own, the other program still judged.
    const all = bpfkit('verify', obj);
    assert.equal(all.status, 2, all.stderr);
    assert.equal(all.stdout, 'sock: accepted\n');
    const lines = all.stderr.trim().split('\n');
    assert.equal(lines.length, 2, all.stderr);
    assert.match(lines[0]!, /program 'enter' .* no func 'bpfkit_no_such_function' to attach to$/);
    assert.match(lines[1]!, /program 'leave' in section 'fexit\/bpfkit_no_such_function': .* no func/);
    assert.doesNotMatch(all.stderr + all.stdout, /not modelled/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
