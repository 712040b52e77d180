/* An lddw with src 1 (BPF_PSEUDO_MAP_FD) and imm 5 but no relocation: libbpf hands the kernel fd 5 as is. */
#include "../corpus.h"
SEC("socket") int raw_fd(void *ctx) {
  asm volatile(".byte 0x18, 0x11, 0, 0, 5, 0, 0, 0\n .byte 0, 0, 0, 0, 0, 0, 0, 0" ::: "r1");
  return 0;
}
SEC("socket") int plain(void *ctx) { return 0; }
LICENSE;
