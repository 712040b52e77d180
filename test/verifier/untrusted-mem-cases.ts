/**
 * Linux 6.18's untrusted memory (PTR_TO_MEM | MEM_RDONLY | PTR_UNTRUSTED, `rdonly_untrusted_mem`): what a
 * BTF pointer field to a non-struct (`sk_buff->data`, an `unsigned char *`) and `bpf_rdonly_cast(p, 0)`
 * give. Read at any offset, constant or not; never written; any 64-bit arithmetic with a scalar keeps it
 * (32-bit is refused, as for every pointer); not memory a helper may take. Each case was judged by the
 * running kernel, and untrusted-mem.test.ts asks it again as root.
 */
import type { Want } from './expect.js';
import type { KfuncCase } from './kfunc-cases.js';

const OK: Want = { ok: true };
const at = (pc: number, text: string): Want => ({
  pc,
  re: new RegExp(`^${text.replace(/[()[\]|+*?.{}']/g, '\\$&')}$`),
});

/** A tp_btf program on kfree_skb: R2 = skb->data (untrusted memory), R0 = 0; the body starts at insn 3. */
const data = (body: string) => `r1 = *(u64 *)(r1 + 0)\nr2 = *(u64 *)(r1 + off(sk_buff.data))\nr0 = 0\n${body}\nexit`;
const skb = { type: 26, tp: 'kfree_skb' } as const;
/** R0 = bpf_rdonly_cast(task, 0) in a tp_btf program on task_newtask; the body starts at insn 3. */
const cast = (body: string) => `r1 = *(u64 *)(r1 + 0)\nr2 = 0\ncall kfunc bpf_rdonly_cast\n${body}\nexit`;
const task = { type: 26, tp: 'task_newtask' } as const;

/** The cases. */
export const UNTRUSTED_MEM_CASES: readonly KfuncCase[] = [
  {
    name: 'skb->data read at 0, 100 and -8',
    ...skb,
    text: data('r3 = *(u8 *)(r2 + 100)\nr3 = *(u64 *)(r2 - 8)'),
    want: OK,
  },
  { name: 'skb->data read sign-extended', ...skb, text: data('r3 = *(s16 *)(r2 + 0)'), want: OK },
  {
    name: 'skb->data read at a variable offset',
    ...skb,
    text: data('r3 = *(u8 *)(r2 + 0)\nr2 += r3\nr3 = *(u32 *)(r2 + 0)'),
    want: OK,
  },
  { name: 'skb->data moved far', ...skb, text: data('r2 += 0x7fffffff\nr3 = *(u8 *)(r2 + 0)'), want: OK },
  { name: 'skb->data masked, then read', ...skb, text: data('r2 &= 7\nr3 = *(u8 *)(r2 + 0)'), want: OK },
  { name: 'skb->data multiplied, then read', ...skb, text: data('r2 *= 3\nr3 = *(u8 *)(r2 + 0)'), want: OK },
  {
    name: 'a scalar minus skb->data, then read',
    ...skb,
    text: data('r3 = 0\nr3 -= r2\nr3 = *(u8 *)(r3 + 0)'),
    want: OK,
  },
  {
    name: 'skb->data spilled and filled',
    ...skb,
    text: data('*(u64 *)(r10 - 8) = r2\nr3 = *(u64 *)(r10 - 8)\nr3 = *(u8 *)(r3 + 0)'),
    want: OK,
  },
  {
    name: 'skb->data stored to',
    ...skb,
    text: data('*(u8 *)(r2 + 0) = 1'),
    want: at(3, 'R2 cannot write into rdonly_untrusted_mem'),
  },
  {
    name: 'skb->data stored to from a register',
    ...skb,
    text: data('*(u64 *)(r2 + 8) = r0'),
    want: at(3, 'R2 cannot write into rdonly_untrusted_mem'),
  },
  {
    name: 'skb->data added to atomically',
    ...skb,
    text: data('lock *(u64 *)(r2 + 0) += r0'),
    want: at(3, 'R2 cannot write into rdonly_untrusted_mem'),
  },
  {
    name: 'skb->data moved in 32 bits',
    ...skb,
    text: data('w2 += 1'),
    want: at(3, 'R2 32-bit pointer arithmetic prohibited'),
  },
  {
    name: 'skb->data negated',
    ...skb,
    text: data('r2 = -r2\nr3 = *(u8 *)(r2 + 0)'),
    want: at(4, "R2 invalid mem access 'scalar'"),
  },
  { name: 'skb->data plus the skb', ...skb, text: data('r2 += r1'), want: at(3, 'R2 pointer += pointer prohibited') },
  {
    name: 'skb->data minus itself is a scalar',
    ...skb,
    text: data('r3 = r2\nr3 -= r2\nr3 = *(u8 *)(r3 + 0)'),
    want: at(5, "R3 invalid mem access 'scalar'"),
  },
  {
    name: 'a load through skb->data is a scalar',
    ...skb,
    text: data('r3 = *(u64 *)(r2 + 0)\nr3 = *(u8 *)(r3 + 0)'),
    want: at(4, "R3 invalid mem access 'scalar'"),
  },
  {
    name: 'skb->data may be NULL: both branches are walked',
    ...skb,
    text: data('if r2 != 0 goto +1\nr0 = r9'),
    want: at(4, 'R9 !read_ok'),
  },
  {
    name: 'skb->data as bpf_probe_read_kernel source',
    ...skb,
    text: data('*(u64 *)(r10 - 8) = r0\nr1 = r10\nr1 += -8\nr3 = r2\nr2 = 8\ncall 113\nr0 = 0'),
    want: OK,
  },
  {
    name: 'skb->data as bpf_strncmp memory',
    ...skb,
    text: data('*(u64 *)(r10 - 8) = r0\nr1 = r2\nr2 = 4\nr3 = r10\nr3 += -8\ncall 182'),
    want: at(
      8,
      'R1 type=rdonly_untrusted_mem expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_',
    ),
  },
  { name: 'bpf_rdonly_cast to void, read', ...task, text: cast('r0 = *(u8 *)(r0 + 5)\nr0 = 0'), want: OK },
  {
    name: 'bpf_rdonly_cast to void, stored to',
    ...task,
    text: cast('*(u8 *)(r0 + 5) = 1\nr0 = 0'),
    want: at(3, 'R0 cannot write into rdonly_untrusted_mem'),
  },
  {
    name: 'bpf_rdonly_cast of a scalar to void, read',
    ...task,
    text: 'r1 = 7\nr2 = 0\ncall kfunc bpf_rdonly_cast\nr0 = *(u64 *)(r0 - 5)\nr0 = 0\nexit',
    want: OK,
  },
];
