/* A strong .kconfig extern the kernel's config does not have: refused. */
#include "corpus.h"
extern int CONFIG_BPFKIT_NOT_A_CONFIG __kconfig;
SEC("socket") int missing(void *ctx) { return CONFIG_BPFKIT_NOT_A_CONFIG; }
LICENSE;
