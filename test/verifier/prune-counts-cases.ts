/**
 * Programs whose "processed N insns" and total_states bpfkit must give as the running kernel (6.18) does:
 * each isolates one of the kernel's state-pruning rules (where states are remembered, which are compared,
 * which registers count). Recorded from the kernel's log level 4 stats line; as root the test asks the
 * kernel again (prune-counts.test.ts).
 */
import { MapType, ProgType } from '../../src/uapi/types.js';
import type { VerifierMap } from '../../src/verifier/index.js';

/** One program and the kernel's counts for it. */
export interface PruneCountCase {
  name: string;
  text: string;
  type: number;
  /** The kernel's "processed N insns" and total_states. */
  processed: number;
  states: number;
  /** The maps its `map N` lddws name (none unless said). */
  maps?: VerifierMap[];
}

/** A socket map of four sockets. */
const SOCKMAP: VerifierMap = {
  name: 'sm',
  type: MapType.SOCKMAP,
  keySize: 4,
  valueSize: 8,
  maxEntries: 4,
  readOnly: false,
};

/** The cases (each loads as a tc classifier, with BTF func_info for its subprograms). */
export const PRUNE_COUNT_CASES: PruneCountCase[] = [
  /*
   * The callee's entry is a prune point (push_insn marks a BRANCH edge's target), and its states are kept per
   * call site (explored_state hashes the call site in): the second and third calls' entries remember new
   * states without the loop heuristic's 20 jumps / 100 insns. After the last call returns nothing is
   * remembered (one jump since the callee's entry), so the path that skipped the third call is pruned
   * only at `done`. (bpfkit before: 127 insns, 7 states.)
   */
  {
    name: 'callee entries: three checks of a packet, each calling one subprogram from its own call site',
    type: ProgType.SCHED_CLS,
    text: `
    r6 = r1
    w9 = 0
    r8 = *(u32 *)(r6 + 80)
    r7 = *(u32 *)(r6 + 76)
    r1 = r7
    r1 += 16
    if r1 > r8 goto second
    r2 = *(u32 *)(r6 + 0)
    r1 = r7
    call sum
    w9 = 4
    second:
    r1 = r7
    r1 += r9
    r2 = r1
    r2 += 16
    if r2 > r8 goto third
    r2 = *(u32 *)(r6 + 0)
    w2 ^= w9
    call sum
    w9 += 4
    third:
    r7 += r9
    r1 = r7
    r1 += 16
    if r1 > r8 goto done
    r2 = *(u32 *)(r6 + 4)
    w2 ^= w9
    r1 = r7
    call sum
    *(u32 *)(r6 + 48) = r0
    done:
    w0 = 0
    exit
    sum:
    r0 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 8)
    w0 += w2
    w0 ^= w3
    w0 += w2
    w0 ^= w3
    w0 += w2
    w0 -= w3
    w0 += w2
    exit
    `,
    processed: 132,
    states: 10,
  },
  /*
   * Linux 6.18 cleans each caller frame of a fully explored state by the live registers before its call:
   * r7 (a stack pointer on one path, 0 on the other) is read before the call, never after it, and the second
   * path is pruned at the callee's jump target. (bpfkit before: 35 insns.)
   */
  {
    name: "a caller's register dead at its call does not keep a path from being pruned inside the callee",
    type: ProgType.SCHED_CLS,
    text: `
    r6 = r1
    call 7
    r7 = 0
    r8 = 0
    r8 = 0
    r8 = 0
    r8 = 0
    if r0 > 5 goto l
    r7 = r10
    l:
    r1 = r7
    r1 = 0
    call fn
    r0 = 0
    exit
    fn:
    r0 = 1
    r0 += 1
    r0 += 1
    if r1 > 3 goto m
    r0 += 1
    m:
    r0 += 1
    r0 = 0
    exit
    `,
    processed: 31,
    states: 3,
  },
  /*
   * visit_insn treats `r2 = func cb` as a call: the lddw, the insn after it and the callback's entry are prune
   * points. The second path, pruned nowhere before, is pruned at the lddw. (bpfkit before: 26 insns, 1 state.)
   */
  {
    name: "a callback's address (ld_imm64 of a function) is a prune point",
    type: ProgType.SCHED_CLS,
    text: `
    r6 = r1
    call 7
    r7 = r0
    if r7 > 5 goto m
    r8 = 1
    m:
    r8 = 2
    r7 = 0
    r9 = 0
    r1 = 4
    r2 = func cb
    r3 = 0
    r4 = 0
    call 181
    r0 = 0
    exit
    cb:
    r0 = 0
    exit
    `,
    processed: 23,
    states: 2,
  },
  /*
   * The loop heuristic (20 jumps or 100 insns before a new state inside a loop), and misses counted as the kernel
   * walks its list: newest state first. (bpfkit before: 9887 insns.)
   */
  {
    name: 'a bounded loop with a branch in its body: states newest first',
    type: ProgType.SCHED_CLS,
    text: `
    call 7
    r6 = r0
    r1 = 0
    l:
    r1 += 1
    r2 = r6
    r2 &= 3
    if r2 == 1 goto +1
    r1 += 0
    if r1 < 700 goto l
    r0 = 0
    exit
    `,
    processed: 10078,
    states: 766,
  },
  /*
   * The kernel's figures, unchanged.
   */
  {
    name: 'the same subprogram from three call sites, each after a branch',
    type: ProgType.SCHED_CLS,
    text: `
    call 7
    r6 = r0
    r7 = 0
    if r6 > 9 goto +1
    r7 = 1
    r1 = r6
    call fn
    r8 = r0
    if r6 > 19 goto +1
    r7 = 2
    r1 = r7
    call fn
    r0 += r8
    if r6 > 29 goto +1
    r7 = 3
    r1 = r7
    call fn
    r0 = 0
    exit
    fn:
    r0 = r1
    r0 += 1
    if r0 > 5 goto +2
    r0 += 2
    r0 += 3
    r0 *= 7
    r0 += 1
    r0 += 1
    r0 += 1
    exit
    `,
    processed: 171,
    states: 17,
  },
  /*
   * A socket found in a socket map keeps the map in its register (map_ptr, never cleared), and the kernel
   * compares a socket's register bytewise: at `join` the socket from bpf_sk_lookup_tcp is not covered by
   * the one from the map. (bpfkit before: 36 insns, 3 states.)
   */
  {
    name: 'a socket from a socket map is not one from bpf_sk_lookup_tcp',
    type: ProgType.SCHED_CLS,
    maps: [SOCKMAP],
    text: `
    r6 = r1
    *(u32 *)(r10 - 4) = 0
    *(u64 *)(r10 - 24) = 0
    *(u32 *)(r10 - 16) = 0
    call 7
    if r0 > 5 goto other
    r1 = map 0
    r2 = r10
    r2 += -4
    call 1
    r7 = 0
    r7 = 0
    r7 = 0
    r7 = 0
    r7 = 0
    r7 = 0
    r7 = 0
    r7 = 0
    if r6 == 0 goto join
    goto join
    other:
    r1 = r6
    r2 = r10
    r2 += -24
    r3 = 12
    r4 = -1
    r5 = 0
    call 84
    join:
    if r0 == 0 goto out
    r1 = r0
    call 86
    out:
    r0 = 0
    exit
    `,
    processed: 41,
    states: 4,
  },
  /*
   * An old stack slot of unknown bytes covers a spilled pointer (stacksafe with allow_uninit_stack): the
   * path that spilled the context is pruned at `l2`, and its narrow read of the pointer, which the kernel
   * would refuse, is never walked. (bpfkit before: refused, invalid size of register fill.)
   */
  {
    name: 'an old slot of unknown bytes covers a spilled pointer',
    type: ProgType.SCHED_CLS,
    text: `
    r9 = r1
    call 5
    if r0 == 0 goto l1
    call 5
    *(u64 *)(r10 - 8) = r0
    *(u32 *)(r10 - 4) = r0
    goto l2
    l1:
    *(u64 *)(r10 - 8) = r9
    l2:
    r1 = *(u32 *)(r10 - 8)
    r0 = 0
    exit
    `,
    processed: 12,
    states: 1,
  },
  /*
   * No cap on the states kept at an instruction for a privileged loader (BPF_COMPLEXITY_LIMIT_STATES binds
   * only one without CAP_BPF). The callback's counter is precise (the decided jump after the loop), so each
   * of the 70 calls leaves its own checkpoint at the call; those that miss more than 64 times are dropped,
   * and the other exits of the first calls walk the loop's rest again. (bpfkit before, keeping 64: 18231
   * insns, 1567 states.)
   */
  {
    name: 'a loop of 70 callback calls keeps a checkpoint at its call for each',
    type: ProgType.SCHED_CLS,
    text: `
    r1 = 0
    *(u64 *)(r10 - 8) = r1
    r1 = 70
    r2 = func cb
    r3 = r10
    r3 += -8
    r4 = 0
    call 181
    r1 = *(u64 *)(r10 - 8)
    if r1 > 8 goto out
    r0 = 0
    out:
    r0 = 0
    exit
    cb:
    r0 = *(u64 *)(r2 + 0)
    r0 += 1
    *(u64 *)(r2 + 0) = r0
    if r1 == 1 goto zero
    r0 = 1
    exit
    zero:
    r0 = 0
    exit
    `,
    processed: 29849,
    states: 2848,
  },
  /*
   * Loops tracked as the kernel tracks them (bpf_scc_visit): with no path pruned against the nested
   * may_goto loops' unfinished states yet, their finished states are compared by their marks, not by
   * ranges, and the outer loop's later passes end at its may_goto. (bpfkit before, by ranges: refused at
   * insn 20 after 121 insns.)
   */
  {
    name: 'nested may_goto loops: finished states compared by their marks',
    type: ProgType.SOCKET_FILTER,
    maps: [{ name: 'm', type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 1, readOnly: false }],
    text: `
    r1 = 0
    *(u64 *)(r10 - 8) = r1
    r2 = r10
    r2 += -8
    r1 = map 0
    call 1
    r9 = r0
    r8 = 0
    if r9 == 0 goto out
    r6 = 0
    outer:
    may_goto out
    if r6 == 2 goto out
    r7 = 0
    inner:
    may_goto next
    if r7 == 2 goto next
    r2 = r6
    r2 <<= 2
    r2 += r7
    r1 = r9
    r1 += r2
    *(u8 *)(r1 + 0) = r8
    r8 = r2
    r7 += 1
    goto inner
    next:
    r6 += 1
    goto outer
    out:
    r0 = 0
    exit
    `,
    processed: 98,
    states: 11,
  },
  /*
   * check_ids: a pointer's id 0 links nothing and pairs with nothing, so it cannot clash with a scalar's id
   * (both share one id space). The loop's second pass is within the first's ranges at the may_goto; bpfkit
   * paired the map value pointers' ids 0 as if they were 1, which clashed with the index's id 1 -> 2.
   * (bpfkit before: 32 insns, 3 states.)
   */
  {
    name: "a pointer's id 0 does not clash with a scalar's id when states are compared",
    type: ProgType.SCHED_CLS,
    maps: [{ name: 'd', type: MapType.ARRAY, keySize: 4, valueSize: 10, maxEntries: 1, readOnly: false }],
    text: `
    r6 = map_value 0+0
    call 5
    if r0 > 9 goto out
    loop:
    r1 = r6
    r2 = r0
    r1 += r2
    r3 = *(u8 *)(r1 + 0)
    may_goto out
    r0 = r2
    r0 += 1
    if r2 < 9 goto loop
    exit
    out:
    r0 = 0
    exit
    `,
    processed: 21,
    states: 2,
  },
];

/**
 * A loop that never ends, walked to the 1,000,000-instruction limit: the refusal names the instruction
 * the kernel's log shows last — the one processed before the limit struck (the kernel checks the limit
 * before it prints an instruction). Its loop is three instructions long, so the count before it decides
 * which one that is: the kernel's count to the instruction.
 */
export const TOO_LARGE_CASE = {
  name: 'a loop walked to the instruction limit',
  type: ProgType.SCHED_CLS,
  text: `
    call 7
    r6 = r0
    r7 = 0
    if r6 > 9 goto l
    r7 = 1
    l:
    r7 += 1
    r6 += 1
    if r7 != 0 goto l
    r0 = 0
    exit
  `,
  pc: 6,
  message: 'BPF program is too large. Processed 1000001 insn',
};
