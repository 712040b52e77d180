/*
 * A load of a field no kernel has, reached unconditionally: CO-RE poisons it (a call to helper
 * 0xbad2310). libbpf's loader and the kernel engine are refused by the verifier; the VM loads it and
 * fails when the poisoned instruction runs.
 */
typedef unsigned int __u32;
struct __sk_buff___gone { __u32 no_such_field_in_any_kernel; } __attribute__((preserve_access_index));

__attribute__((section("tc"), used)) int read_gone(struct __sk_buff___gone *skb) {
  return skb->no_such_field_in_any_kernel;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
