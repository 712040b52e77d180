/* A pointer stored in global data (`int *p = &x;`): a relocation in .rel.data that libbpf skips, leaving 0. */
#include "../corpus.h"
int x = 5;
int *p = &x;
SEC("socket") int reads_pointer(void *ctx) { return *(volatile long *)&p != 0; }
SEC("socket") int plain(void *ctx) { return 0; }
LICENSE;
