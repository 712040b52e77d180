/* lirc_mode2: a program type this kernel was built without (CONFIG_BPF_LIRC_MODE2): refused by both. */
#include "corpus.h"
SEC("lirc_mode2") int p_lirc(void *ctx) { return 0; }
LICENSE;
