/* A section name no loader knows: refused (bpfkit names it and offers --type). */
#include "corpus.h"
SEC("my_custom_section") int custom(void *ctx) { return 0; }
LICENSE;
