/* Global data: .rodata (frozen), .data, .bss, a custom .data.* section, and clang's string literals (.rodata.str1.1). */
#include "corpus.h"
const volatile int limit = 7;
int counter = 1;
int zeroed;
int custom SEC(".data.custom") = 3;
static long (*trace_printk)(const char *fmt, __u32 size, ...) = (void *)6;
SEC("socket") int globals(void *ctx) {
  const char *msg = ctx ? "seen a packet %d\n" : "no packet %d\n";
  trace_printk(msg, 14, counter);
  zeroed++;
  return limit + counter + zeroed + custom;
}
LICENSE;
