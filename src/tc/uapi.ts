/**
 * rtnetlink's traffic-control numbers (linux/rtnetlink.h, linux/pkt_sched.h, linux/pkt_cls.h,
 * linux/tc_act/tc_bpf.h), by name, so no message is built from a bare constant.
 */

/** rtnetlink message types for qdiscs, classes and filters. */
export const RTM = {
  NEWQDISC: 36,
  DELQDISC: 37,
  GETQDISC: 38,
  NEWTCLASS: 40,
  DELTCLASS: 41,
  GETTCLASS: 42,
  NEWTFILTER: 44,
  DELTFILTER: 45,
  GETTFILTER: 46,
  NEWACTION: 48,
  DELACTION: 49,
  GETACTION: 50,
} as const;

/** Top-level attributes of a tcmsg (enum TCA_*). */
export const TCA = {
  KIND: 1,
  OPTIONS: 2,
  STATS: 3,
  XSTATS: 4,
  RATE: 5,
  FCNT: 6,
  STATS2: 7,
  STAB: 8,
  PAD: 9,
  DUMP_INVISIBLE: 10,
  CHAIN: 11,
  HW_OFFLOAD: 12,
} as const;

/** cls_bpf options (enum TCA_BPF_*), inside TCA_OPTIONS. */
export const TCA_BPF = {
  ACT: 1,
  POLICE: 2,
  CLASSID: 3,
  OPS_LEN: 4,
  OPS: 5,
  FD: 6,
  NAME: 7,
  FLAGS: 8,
  FLAGS_GEN: 9,
  TAG: 10,
  ID: 11,
} as const;

/** TCA_BPF_FLAGS: run the program's return code as the action (direct-action). */
export const TCA_BPF_FLAG_ACT_DIRECT = 1;

/** TCA_BPF_FLAGS_GEN / TCA_CLS_FLAGS_*: hardware offload control and state. */
export const TCA_CLS_FLAGS = { SKIP_HW: 1, SKIP_SW: 2, IN_HW: 4, NOT_IN_HW: 8 } as const;

/** Generic action attributes (enum TCA_ACT_*), one nest per action inside TCA_BPF_ACT. */
export const TCA_ACT = { KIND: 1, OPTIONS: 2, INDEX: 3, STATS: 4 } as const;

/** act_bpf options (enum TCA_ACT_BPF_*). */
export const TCA_ACT_BPF = { TM: 1, PARMS: 2, OPS_LEN: 3, OPS: 4, FD: 5, NAME: 6, TAG: 7, ID: 8 } as const;

/** Action verdicts (TC_ACT_*), the codes a direct-action classifier or an action returns. */
export const TC_ACT = {
  UNSPEC: -1,
  OK: 0,
  RECLASSIFY: 1,
  SHOT: 2,
  PIPE: 3,
  STOLEN: 4,
  QUEUED: 5,
  REPEAT: 6,
  REDIRECT: 7,
  TRAP: 8,
} as const;

/** HTB attributes (enum TCA_HTB_*). */
export const TCA_HTB = { PARMS: 1, INIT: 2, CTAB: 3, RTAB: 4, DIRECT_QLEN: 5, RATE64: 6, CEIL64: 7 } as const;

/** Special handles (linux/pkt_sched.h). */
export const TC_H = {
  UNSPEC: 0,
  ROOT: 0xffffffff,
  INGRESS: 0xfffffff1,
  CLSACT: 0xfffffff1,
  MIN_INGRESS: 0xfff2,
  MIN_EGRESS: 0xfff3,
} as const;

/** ETH_P_ALL, the protocol a filter matches when none is given. */
export const ETH_P_ALL = 0x0003;
