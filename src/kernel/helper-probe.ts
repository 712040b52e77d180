/**
 * Which helpers the running kernel lets each program type call. The upstream tables (what the verifier
 * models) are not the whole story: a kernel built without some subsystem, or patched, refuses helpers
 * upstream allows — this machine's kernel refuses bpf_xdp_adjust_meta to XDP programs, for one. bpftool's
 * feature probe asks the kernel the same way: load a two-instruction program that calls the helper and
 * read the verifier's first complaint. The kernel looks the helper up for the program type before it
 * looks at any argument, so "cannot use helper" / "unknown func" / "invalid func" mean refused, and any
 * other complaint (the arguments are not set) means the call itself would pass.
 */
import { PermissionError, VerifierError } from './errors.js';
import { loadProgram } from './prog-load.js';
import { closeFd } from './bpf-syscall.js';

/**
 * An expected attach type to probe each program type with that needs one to load at all (cgroup hooks,
 * sk_lookup, sk_msg, sock_ops): without it the kernel refuses the load before its verifier looks at the
 * call, or (cgroup_sysctl) looks the helper up for attach type 0, a cgroup_skb ingress hook, and refuses
 * bpf_get_retval that the sysctl hook has. One hook stands for its type: helpers whose availability
 * differs between a type's hooks are the verifier's tables' to judge.
 */
const PROBE_ATTACH: ReadonlyMap<number, number> = new Map([
  [9, 2], // cgroup_sock: inet sock_create
  [15, 6], // cgroup_device (attach type 0 would be inet ingress, which has no bpf_get_retval)
  [13, 3], // sock_ops
  [16, 7], // sk_msg verdict
  [18, 10], // cgroup_sock_addr: inet4 connect
  [23, 18], // cgroup_sysctl
  // cgroup_sockopt: setsockopt, whose table is the getsockopt hook's and bpf_setsockopt and bpf_getsockopt
  // (probed at the getsockopt hook, the kernel would deny those to both; the verifier refuses them there).
  [25, 22],
  [30, 36], // sk_lookup
  [32, 45], // netfilter (loads with BPF_NETFILTER only)
]);

/** BPF_F_SLEEPABLE: syscall programs (31) load only with it, and the kernel says so before it looks at any call. */
const PROBE_FLAGS: ReadonlyMap<number, number> = new Map([[31, 1 << 4]]);

/** The kernel's messages for a helper a program type may not call (check_helper_call). */
const REFUSED = /cannot use helper|unknown func|invalid func/;

/**
 * A function telling whether the running kernel lets programs of `type` call helper `id`: false only when
 * the kernel says so. What the probe cannot settle (a program type that needs attach information to load,
 * a refusal for another reason) answers true: the caller's own tables decide then. Without the privilege
 * to load programs it throws the PermissionError (one line): the caller asked for the kernel's answer and
 * must not get upstream's in silence. Each (type, helper) pair is probed once, at its first question (one
 * BPF_PROG_LOAD of two instructions).
 */
export function kernelHelperProbe(): (type: number, id: number) => boolean {
  const known = new Map<number, boolean>();
  return (type, id) => {
    const key = type * 65536 + id;
    let ok = known.get(key);
    if (ok === undefined) {
      ok = probe(type, id);
      known.set(key, ok);
    }
    return ok;
  };
}

function probe(type: number, id: number): boolean {
  // call id; exit
  const insns = new Uint8Array(16);
  const v = new DataView(insns.buffer);
  insns[0] = 0x85;
  v.setInt32(4, id, true);
  insns[8] = 0x95;
  try {
    const { fd } = loadProgram({
      name: 'helper_probe',
      type,
      insns,
      license: 'GPL',
      logLevel: 1,
      logSize: 4096,
      expectedAttachType: PROBE_ATTACH.get(type),
      progFlags: PROBE_FLAGS.get(type) ?? 0,
    });
    closeFd(fd);
    return true;
  } catch (err) {
    if (err instanceof PermissionError) throw err;
    return !(err instanceof VerifierError && REFUSED.test(err.log));
  }
}
