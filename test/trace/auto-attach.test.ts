/**
 * attachAll's reading of section names (auto-attach.ts), and its refusal of a section it has no link
 * for before anything is attached: a program left unattached without a word would never run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoAttachOf } from '../../src/trace/auto-attach.js';
import { BPF } from '../../src/trace/index.js';
import { exitCodeOf } from '../../src/util/errors.js';
import { needs } from '../support/env.js';

test('section names: each tracing kind, with its target', () => {
  assert.deepEqual(autoAttachOf('tracepoint/syscalls/sys_enter_openat'), {
    kind: 'tracepoint',
    category: 'syscalls',
    name: 'sys_enter_openat',
  });
  assert.deepEqual(autoAttachOf('tp/sched/sched_switch'), {
    kind: 'tracepoint',
    category: 'sched',
    name: 'sched_switch',
  });
  assert.deepEqual(autoAttachOf('raw_tp/sys_enter'), { kind: 'raw_tracepoint', name: 'sys_enter' });
  assert.deepEqual(autoAttachOf('raw_tracepoint.w/bpf_test_finish'), {
    kind: 'raw_tracepoint',
    name: 'bpf_test_finish',
  });
  for (const s of [
    'tp_btf/sched_switch',
    'fentry/do_exit',
    'fexit.s/f',
    'fmod_ret/f',
    'lsm/bprm_check',
    'lsm.s/file_open',
  ])
    assert.deepEqual(autoAttachOf(s), { kind: 'btf' }, s);
  assert.deepEqual(autoAttachOf('uprobe//usr/bin/bash:readline'), {
    kind: 'uprobe',
    binary: '/usr/bin/bash',
    symbol: 'readline',
    retprobe: false,
  });
  assert.deepEqual(autoAttachOf('uretprobe.s/libc.so.6:malloc'), {
    kind: 'uprobe',
    binary: 'libc.so.6',
    symbol: 'malloc',
    retprobe: true,
  });
  assert.deepEqual(autoAttachOf('usdt.s/app:prov:probe'), {
    kind: 'usdt',
    binary: 'app',
    provider: 'prov',
    name: 'probe',
  });
  assert.deepEqual(autoAttachOf('kretprobe/tcp_v4_connect'), { kind: 'kprobe', fn: 'tcp_v4_connect', retprobe: true });
  assert.deepEqual(autoAttachOf('ksyscall/execve'), { kind: 'ksyscall', syscall: 'execve', retprobe: false });
  assert.deepEqual(autoAttachOf('kretsyscall/openat'), { kind: 'ksyscall', syscall: 'openat', retprobe: true });
});

test('sections that name no target are left to the calls that name one; those bpfkit cannot attach say why', () => {
  for (const s of [
    'socket',
    'xdp',
    'tc',
    'tcx/ingress',
    'cgroup/connect4',
    'perf_event',
    'tp',
    'uprobe',
    'raw_tp',
    'sk_msg',
  ])
    assert.deepEqual(autoAttachOf(s), { kind: 'none' }, s);
  const why = (s: string) => {
    const a = autoAttachOf(s);
    assert.equal(a.kind, 'unsupported', s);
    return a.kind === 'unsupported' ? a.why : '';
  };
  assert.match(why('kprobe.multi/tcp_*'), /kprobe\.multi links .*attachKprobe per function/);
  assert.match(why('kretprobe.multi/f'), /kprobe\.multi links/);
  assert.match(why('kprobe.session/f'), /kprobe\.session links/);
  assert.match(why('uprobe.multi/bin:f*'), /uprobe\.multi links .*attachUprobe per symbol/);
  assert.match(why('uprobe.session.s/bin:f'), /uprobe\.session links/);
  assert.match(why('iter/task'), /iterator links/);
  assert.match(why('tp/sys_enter'), /tp\/CATEGORY\/NAME/);
  assert.match(why('uprobe/bin'), /uprobe\/BINARY:SYMBOL/);
  assert.match(why('usdt/bin:probe'), /usdt\/BINARY:PROVIDER:NAME/);
});

const MIXED = `#include <bpf/bpf_helpers.h>
SEC("tracepoint/syscalls/sys_enter_getppid") int on_tp(void *ctx) { return 0; }
SEC("uprobe.multi/c:getppid") int on_multi(void *ctx) { return 0; }
char LICENSE[] SEC("license") = "GPL";
`;

test('attachAll refuses an object with a section it has no link for, naming program and section, and attaches nothing', async (t) => {
  if (!needs(t, { root: true, tools: ['clang'] })) return;
  const bpf = await BPF.fromC(MIXED, { filename: 'mixed.c' });
  try {
    let err: unknown;
    try {
      bpf.attachAll();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof Error, 'attachAll must refuse');
    assert.match(
      err.message,
      /program 'on_multi': section 'uprobe\.multi\/c:getppid' bpfkit does not create uprobe\.multi links/,
    );
    assert.equal(exitCodeOf(err), 2);
    // The tracepoint program before it was not attached: the whole object is refused first.
    assert.equal((bpf as unknown as { attachments: unknown[] }).attachments.length, 0);
  } finally {
    bpf.close();
  }
});
