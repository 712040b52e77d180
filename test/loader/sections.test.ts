/**
 * Section names as libbpf reads them (its section_defs table, first match wins, '+' and '/' patterns),
 * and `--type` names. Pure: no kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MoreAttachTypes as A,
  ProgFlag,
  programTypeByName,
  progTypeName,
  sectionType,
} from '../../src/elf/section-types.js';

const name = (s: string) => {
  const st = sectionType(s);
  return st ? progTypeName(st.type) : undefined;
};

test('every family of libbpf section names maps to its program type', () => {
  const cases: [string, string][] = [
    ['uprobe', 'kprobe'],
    ['uprobe/lib.so:fn', 'kprobe'],
    ['uretprobe.s', 'kprobe'],
    ['usdt/lib:prov:name', 'kprobe'],
    ['ksyscall/getpid', 'kprobe'],
    ['sk_lookup', 'sk_lookup'],
    ['tp_btf/sched_switch', 'tracing'],
    ['fentry/do_unlinkat', 'tracing'],
    ['fmod_ret/x', 'tracing'],
    ['iter/task', 'tracing'],
    ['struct_ops/ops', 'struct_ops'],
    ['lsm/file_open', 'lsm'],
    ['cgroup/connect_unix', 'cgroup_sock_addr'],
    ['sk_msg', 'sk_msg'],
    ['sk_skb/stream_parser', 'sk_skb'],
    ['flow_dissector', 'flow_dissector'],
    ['netfilter', 'netfilter'],
    ['tcx/ingress', 'sched_cls'],
    ['netkit/peer', 'sched_cls'],
    ['raw_tp/sched_switch', 'raw_tracepoint'],
    ['raw_tp.w/x', 'raw_tracepoint_writable'],
    ['tp/sched/sched_switch', 'tracepoint'],
    ['syscall', 'syscall'],
  ];
  for (const [section, type] of cases) assert.equal(name(section), type, section);
});

test("'+' patterns match the name or the name and '/...', never a longer word", () => {
  assert.equal(name('kprobe'), 'kprobe');
  assert.equal(name('kprobes/x'), undefined);
  assert.equal(name('uprobe.s/x'), 'kprobe');
  assert.equal(name('my_custom_section'), undefined);
});

test('attach types, sleepable and frags flags, and BTF attach targets follow the section', () => {
  assert.deepEqual(sectionType('tp_btf/sched_switch'), {
    type: 26,
    attachType: A.TRACE_RAW_TP,
    attachBtf: { target: 'sched_switch', typeName: 'btf_trace_sched_switch', kind: 'typedef' },
  });
  assert.deepEqual(sectionType('lsm.s/bprm_check')!.attachBtf, {
    target: 'bprm_check',
    typeName: 'bpf_lsm_bprm_check',
    kind: 'func',
  });
  assert.equal(sectionType('lsm.s/bprm_check')!.flags, ProgFlag.SLEEPABLE);
  assert.equal(sectionType('iter/task')!.attachBtf!.typeName, 'bpf_iter_task');
  assert.equal(sectionType('fexit/do_exit')!.attachBtf!.typeName, 'do_exit');
  assert.equal(sectionType('xdp.frags')!.flags, ProgFlag.XDP_HAS_FRAGS);
  assert.equal(sectionType('netkit/primary')!.attachType, A.NETKIT_PRIMARY);
  assert.equal(sectionType('uretprobe.s/bin:f')!.flags, ProgFlag.SLEEPABLE);
  assert.match(sectionType('freplace/f')!.unsupported!, /attach_prog_fd/);
  // The session kinds (kernel 6.10 / 6.14): kprobe programs with their own expected attach types.
  assert.deepEqual(sectionType('kprobe.session/do_unlinkat'), { type: 2, attachType: A.TRACE_KPROBE_SESSION });
  assert.deepEqual(sectionType('uprobe.session/bin:f'), { type: 2, attachType: A.TRACE_UPROBE_SESSION });
  assert.equal(sectionType('uprobe.session.s/bin:f')!.flags, ProgFlag.SLEEPABLE);
});

test('--type takes bpftool type names and libbpf section names', () => {
  assert.equal(programTypeByName('sched_cls')!.type, 3);
  assert.equal(programTypeByName('BPF_PROG_TYPE_XDP')!.type, 6);
  assert.equal(programTypeByName('tp_btf/sched_switch')!.attachBtf!.typeName, 'btf_trace_sched_switch');
  assert.equal(programTypeByName('nonsense'), undefined);
});
