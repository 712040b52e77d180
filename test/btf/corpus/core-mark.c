/*
 * The case from issue 13: a tc program reads skb->mark through a CO-RE flavour of struct __sk_buff. The
 * local layout puts mark at offset 0; CO-RE moves the load to offsetof(struct __sk_buff, mark) in the
 * target BTF (8), which the verifier then rewrites into the real sk_buff access.
 */
typedef unsigned int __u32;
struct __sk_buff___mini { __u32 mark; } __attribute__((preserve_access_index));

__attribute__((section("tc"), used)) int read_mark(struct __sk_buff___mini *skb) { return skb->mark; }

char _license[] __attribute__((section("license"), used)) = "GPL";
