/**
 * tp_btf's and iterators' helper table (tracing_prog_func_proto, then raw_tp's: calls.ts,
 * hook-helpers.ts's TP_BTF_MORE), each program with the verdict the running kernel (6.18) gives: the
 * helpers of bpf_tracing_func_proto and bpf_base_func_proto whose prototype is raw_tp's, bpf_get_func_ip
 * (looked up, then refused without a trampoline), and helpers the kernel does not give these programs.
 * Programs are in kfunc-cases.ts's assembly, as helper-tables-cases.ts's.
 */
import { MapType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';
import type { Want } from './expect.js';
import type { TableCase } from './helper-tables-cases.js';

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({ pc, re: new RegExp(`^${text.replace(/[()[\]|+*?.]/g, '\\$&')}$`) });
const cannot = (pc: number, name: string, id: number) =>
  at(pc, `program of this type cannot use helper bpf_${name}#${id}`);

/** BPF_PROG_TYPE_TRACING. */
const TRACING = 26;
const tp = { type: TRACING, tp: 'sched_switch' } as const;
const iter = { type: TRACING, iter: 'task' } as const;

const map = (name: string, type: number, keySize: number, valueSize: number, maxEntries = 1): VerifierMap => ({
  name,
  type,
  keySize,
  valueSize,
  maxEntries,
  readOnly: false,
});
const CGROUP_ARRAY = map('cg', MapType.CGROUP_ARRAY, 4, 4);
const PERF_ARRAY = map('pe', MapType.PERF_EVENT_ARRAY, 4, 4);
const QUEUE = map('q', MapType.QUEUE, 0, 8, 4);
const PERCPU = map('pc', MapType.PERCPU_ARRAY, 4, 8);
const HASH = map('h', MapType.HASH, 4, 8);
const PROGS = map('pa', MapType.PROG_ARRAY, 4, 4);
/** A hash map whose value holds a bpf_spin_lock at 0 (the kernel's map gets BTF that says so). */
const LOCKED: VerifierMap = {
  ...map('l', MapType.HASH, 4, 8),
  kernelFields: [{ off: 0, size: 4, what: 'struct bpf_spin_lock' }],
};
const END = 'r0 = 0\nexit';
/** A zero u32 key at fp-8 in r2 (insns 0-3). */
const KEY = 'r1 = 0\n*(u32 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8';

/** bpf_skb_output of argument `arg` into map 0, `size` bytes of a zeroed u64 at fp-8 (the call is insn 10). */
const skbOutput = (arg: number, size = 8) =>
  `r6 = r1\nr1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = *(u64 *)(r6 + ${8 * arg})\nr2 = map 0\nr3 = 0\nr4 = r10\nr4 += -8\nr5 = ${size}\ncall 111\n${END}`;

/** A case, loaded under `license` when given (default GPL). */
export type TpHelperCase = TableCase & { license?: string };

/** The cases. */
export const TP_HELPER_CASES: TpHelperCase[] = [
  // bpf_tracing_func_proto's map helpers: the map types check_map_func_compatibility pairs them with.
  {
    name: 'current_task_under_cgroup in tp_btf',
    ...tp,
    maps: [CGROUP_ARRAY],
    text: `r1 = map 0\nr2 = 0\ncall 37\n${END}`,
    want: OK,
  },
  {
    name: 'current_task_under_cgroup in an iterator',
    ...iter,
    maps: [CGROUP_ARRAY],
    text: `r1 = map 0\nr2 = 0\ncall 37\n${END}`,
    want: OK,
  },
  {
    name: 'current_task_under_cgroup of a hash map in tp_btf',
    ...tp,
    maps: [HASH],
    text: `r1 = map 0\nr2 = 0\ncall 37\n${END}`,
    want: at(3, 'cannot pass map_type 1 into func bpf_current_task_under_cgroup#37'),
  },
  {
    name: 'perf_event_read in tp_btf',
    ...tp,
    maps: [PERF_ARRAY],
    text: `r1 = map 0\nr2 = 0\ncall 22\n${END}`,
    want: OK,
  },
  {
    name: 'perf_event_read_value into the stack in tp_btf',
    ...tp,
    maps: [PERF_ARRAY],
    text: `r1 = map 0\nr2 = 0\nr3 = r10\nr3 += -24\nr4 = 24\ncall 55\n${END}`,
    want: OK,
  },
  {
    name: 'perf_event_read_value, the buffer past the stack, in tp_btf',
    ...tp,
    maps: [PERF_ARRAY],
    text: `r1 = map 0\nr2 = 0\nr3 = r10\nr3 += -16\nr4 = 24\ncall 55\n${END}`,
    want: at(6, 'invalid write to stack R3 off=-16 size=24'),
  },
  {
    name: 'map_push_elem, map_pop_elem, map_peek_elem of a queue in tp_btf',
    ...tp,
    maps: [QUEUE],
    text: `r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = map 0\nr2 = r10\nr2 += -8\nr3 = 0\ncall 87\nr1 = map 0\nr2 = r10\nr2 += -8\ncall 88\nr1 = map 0\nr2 = r10\nr2 += -8\ncall 89\n${END}`,
    want: OK,
  },
  {
    name: 'map_push_elem of a hash map in tp_btf',
    ...tp,
    maps: [HASH],
    text: `${KEY}\nr1 = map 0\nr3 = 0\ncall 87\n${END}`,
    want: at(7, 'cannot pass map_type 1 into func bpf_map_push_elem#87'),
  },
  {
    name: 'map_lookup_percpu_elem, NULL-checked, in tp_btf',
    ...tp,
    maps: [PERCPU],
    text: `${KEY}\nr1 = map 0\nr3 = 0\ncall 195\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 0)\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'map_lookup_percpu_elem read unchecked in tp_btf',
    ...tp,
    maps: [PERCPU],
    text: `${KEY}\nr1 = map 0\nr3 = 0\ncall 195\nr1 = *(u64 *)(r0 + 0)\n${END}`,
    want: at(8, "R0 invalid mem access 'map_value_or_null'"),
  },
  {
    name: 'strtoul in tp_btf',
    ...tp,
    text: `r1 = 0x31\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 2\nr3 = 0\nr4 = r10\nr4 += -16\ncall 106\n${END}`,
    want: OK,
  },
  {
    name: 'get_ns_current_pid_tgid in tp_btf',
    ...tp,
    text: `r1 = 0\nr2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 120\n${END}`,
    want: OK,
  },
  {
    name: 'get_ns_current_pid_tgid, a 4-byte nsdata, in tp_btf',
    ...tp,
    text: `r1 = 0\nr2 = 0\nr3 = r10\nr3 += -8\nr4 = 4\ncall 120\n${END}`,
    want: OK,
  },
  { name: 'tail_call in tp_btf', ...tp, maps: [PROGS], text: `r2 = map 0\nr3 = 0\ncall 12\n${END}`, want: OK },
  {
    name: 'spin_lock and spin_unlock of a map value in tp_btf',
    ...tp,
    maps: [LOCKED],
    text: `${KEY}\nr1 = map 0\ncall 1\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\ncall 93\nr1 = r6\ncall 94\nout:\n${END}`,
    want: OK,
  },
  {
    name: 'spin_lock held at exit in tp_btf',
    ...tp,
    maps: [LOCKED],
    text: `${KEY}\nr1 = map 0\ncall 1\nif r0 == 0 goto out\nr1 = r0\ncall 93\nout:\n${END}`,
    want: at(11, 'BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region'),
  },
  // bpf_get_func_ip: tracing's table has it, check_get_func_ip refuses it without a trampoline.
  {
    name: 'get_func_ip in tp_btf',
    ...tp,
    text: `call 173\n${END}`,
    want: at(0, 'func bpf_get_func_ip#173 supported only for fentry/fexit/fmod_ret programs'),
  },
  {
    name: 'get_func_ip in an iterator',
    ...iter,
    text: `call 173\n${END}`,
    want: at(0, 'func bpf_get_func_ip#173 supported only for fentry/fexit/fmod_ret programs'),
  },
  {
    name: 'get_func_ip of a non-ctx in tp_btf',
    ...tp,
    text: `r1 = 0\ncall 173\n${END}`,
    want: at(1, 'R1 type=scalar expected=ctx'),
  },
  // tracing_prog_func_proto's perf_event_output of a BTF sk_buff (GPL only): a trusted, non-NULL skb.
  {
    name: "skb_output of kfree_skb's skb",
    type: TRACING,
    tp: 'kfree_skb',
    maps: [PERF_ARRAY],
    text: skbOutput(0),
    want: OK,
  },
  {
    name: 'skb_output of a NULL-able skb (tcp_send_reset)',
    type: TRACING,
    tp: 'tcp_send_reset',
    maps: [PERF_ARRAY],
    text: skbOutput(1),
    want: at(10, 'R1 type=trusted_ptr_or_null_ expected=ptr_, trusted_ptr_, rcu_ptr_'),
  },
  {
    name: 'skb_output of a task',
    ...tp,
    maps: [PERF_ARRAY],
    text: skbOutput(1),
    want: at(10, 'R1 is of type task_struct but sk_buff is expected'),
  },
  {
    name: 'skb_output into a hash map',
    type: TRACING,
    tp: 'kfree_skb',
    maps: [HASH],
    text: skbOutput(0),
    want: at(10, 'cannot pass map_type 1 into func bpf_skb_output#111'),
  },
  {
    name: 'skb_output of 16 bytes of an 8-byte buffer',
    type: TRACING,
    tp: 'kfree_skb',
    maps: [PERF_ARRAY],
    text: skbOutput(0, 16),
    want: at(10, 'invalid read from stack R4 off=-8 size=16'),
  },
  // The task's classid (no argument), the branch records into the stack (GPL only), an xdp_buff's length.
  { name: 'get_cgroup_classid in tp_btf', ...tp, text: `call 17\nif r0 > 7 goto out\nout:\n${END}`, want: OK },
  {
    name: 'get_branch_snapshot into the stack in tp_btf',
    ...tp,
    text: `r1 = r10\nr1 += -32\nr2 = 32\nr3 = 0\ncall 176\n${END}`,
    want: OK,
  },
  {
    name: 'get_branch_snapshot, 40 bytes of a 32-byte buffer, in tp_btf',
    ...tp,
    text: `r1 = r10\nr1 += -32\nr2 = 40\nr3 = 0\ncall 176\n${END}`,
    want: at(4, 'invalid write to stack R1 off=-32 size=40'),
  },
  {
    name: 'get_branch_snapshot in a non-GPL tp_btf program',
    ...tp,
    license: 'MIT',
    text: `r1 = r10\nr1 += -32\nr2 = 32\nr3 = 0\ncall 176\n${END}`,
    want: at(4, 'cannot call GPL-restricted function from non-GPL compatible program'),
  },
  {
    name: 'xdp_get_buff_len of a task in tp_btf',
    ...tp,
    text: `r1 = *(u64 *)(r1 + 8)\ncall 188\n${END}`,
    want: at(1, 'R1 is of type task_struct but xdp_buff is expected'),
  },
  // Helpers neither tracing_prog_func_proto nor raw_tp's table has.
  { name: 'skb_load_bytes in tp_btf', ...tp, text: `call 26\n${END}`, want: cannot(0, 'skb_load_bytes', 26) },
  { name: 'xdp_adjust_head in an iterator', ...iter, text: `call 44\n${END}`, want: cannot(0, 'xdp_adjust_head', 44) },
];
